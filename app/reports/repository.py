"""Report SQL: sums of minor units grouped by the key asked for and by the exchange rate they
convert at, so the service can convert exactly and round once per reported figure."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, case, func, literal, select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    ActivityType,
    Contact,
    Credit,
    Lead,
    Member,
    Opportunity,
    Program,
    Touchpoint,
)
from app.models import CreditRollup as CR
from app.models import RunOpportunity as RO
from app.reports.filters import STAGE_RATE, Stage

# key, currency, rate, sum of minor units, number of opportunities
Group = tuple[Any, str, Decimal | None, int, int]

FLAGS: dict[str, dict[Stage, Any]] = {
    "influenced": {"pipeline": RO.pipeline_influenced, "revenue": RO.revenue_influenced},
    "sourced": {"pipeline": RO.sourced, "revenue": RO.sourced},
    "accelerated": {"pipeline": RO.accelerated, "revenue": RO.accelerated},
}
ATTRIBUTED = {"pipeline": RO.pipeline_attributed, "revenue": RO.revenue_attributed}
ATTRIBUTED_ANY = {"pipeline": RO.pipeline_attributed_any, "revenue": RO.revenue_attributed_any}
DATE_OF_STAGE = {"pipeline": RO.created_date, "revenue": RO.close_date}

BREAKDOWN_KEYS: dict[str, Any] = {
    "activity_type": CR.activity_type_id,
    "category": ActivityType.category,
    "program": CR.program_id,
    "channel": CR.is_community,
}


def _groups(session: Session, query: Any) -> list[Group]:
    return [(k, c, r, int(a or 0), int(n)) for k, c, r, a, n in session.execute(query)]


def _keyed(key: Any, *columns: Any) -> tuple[Any, ...]:
    if key is None:
        return columns
    return (*key, *columns) if isinstance(key, tuple) else (key, *columns)


def _split(row: Any, key: Any) -> tuple[Any, list[Any]]:
    """(the group's key, the other columns) of a row selected with ``_keyed(key, ...)``."""
    values = list(row)
    if key is None:
        return None, values
    width = len(key) if isinstance(key, tuple) else 1
    head = tuple(values[:width]) if isinstance(key, tuple) else values[0]
    return head, values[width:]


MEASURES = ("total", "influenced", "sourced", "accelerated", "attributed")


def stage_measures(
    session: Session, where: ColumnElement[bool], stage: Stage, *, key: Any = None
) -> dict[str, list[Group]]:
    """Every summary measure of the opportunities matching ``where`` in one scan, grouped by
    ``key`` (optional: a column or a tuple of columns) and by the rate their amounts convert at."""
    rate = STAGE_RATE[stage]
    amount = func.coalesce(RO.amount, 0)

    def flagged(flag: Any) -> tuple[Any, Any]:
        return (
            func.sum(case((flag.is_(True), amount), else_=0)),
            func.sum(case((flag.is_(True), 1), else_=0)),
        )

    columns = [
        func.sum(amount),
        func.count(),
        *flagged(FLAGS["influenced"][stage]),
        *flagged(FLAGS["sourced"][stage]),
        *flagged(FLAGS["accelerated"][stage]),
        func.sum(ATTRIBUTED[stage]),
        func.sum(case((ATTRIBUTED_ANY[stage].is_(True), 1), else_=0)),
    ]
    query = (
        select(*_keyed(key, RO.currency, rate, *columns))
        .where(where)
        .group_by(*_keyed(key, RO.currency, rate))
    )
    measures: dict[str, list[Group]] = {name: [] for name in MEASURES}
    for row in session.execute(query):
        group_key, (currency, group_rate, *sums) = _split(row, key)
        for index, name in enumerate(MEASURES):
            measures[name].append(
                (
                    group_key,
                    currency,
                    group_rate,
                    int(sums[2 * index] or 0),
                    int(sums[2 * index + 1] or 0),
                )
            )
    return measures


def _rollups(where: ColumnElement[bool], stage: Stage) -> Any:
    return (
        select()
        .select_from(CR)
        .join(RO, and_(RO.run_id == CR.run_id, RO.opportunity_id == CR.opportunity_id))
        .join(ActivityType, ActivityType.id == CR.activity_type_id)
        .where(where, CR.stage == stage)
    )


def breakdown_measures(
    session: Session,
    where: ColumnElement[bool],
    stage: Stage,
    key_name: str,
    *,
    also_by: tuple[Any, ...] = (),
) -> dict[str, list[Group]]:
    """Per key, in one query: ``touched``, the opportunities with at least one touch of the key in
    the stage's window (each counts once per key, so not additive across keys), and ``credited``,
    the credit the model gives the key's touches with the opportunities where it is non-zero.
    ``also_by`` adds snapshot columns to the grouping (the key becomes a tuple)."""
    dimension = BREAKDOWN_KEYS[key_name]
    per_opportunity = (
        _rollups(where, stage)
        .add_columns(
            dimension.label("key"),
            CR.opportunity_id,
            RO.run_id,
            func.max(case((CR.touches > 0, 1), else_=0)).label("touched"),
            func.sum(CR.amount).label("credit"),
            func.max(case((CR.fraction > 0, 1), else_=0)).label("credited"),
        )
        .where(dimension.is_not(None))
        .group_by(dimension, CR.opportunity_id, RO.run_id)
        .subquery()
    )
    rate = STAGE_RATE[stage]
    amount = func.coalesce(RO.amount, 0)
    key: Any = (per_opportunity.c.key, *also_by) if also_by else per_opportunity.c.key
    query = (
        select(
            *_keyed(key, RO.currency, rate),
            func.sum(case((per_opportunity.c.touched == 1, amount), else_=0)),
            func.sum(per_opportunity.c.touched),
            func.sum(per_opportunity.c.credit),
            func.sum(per_opportunity.c.credited),
        )
        .select_from(per_opportunity)
        .join(
            RO,
            and_(
                RO.run_id == per_opportunity.c.run_id,
                RO.opportunity_id == per_opportunity.c.opportunity_id,
            ),
        )
        .group_by(*_keyed(key, RO.currency, rate))
    )
    measures: dict[str, list[Group]] = {"touched": [], "credited": []}
    for row in session.execute(query):
        group_key, (currency, group_rate, touched, touched_count, credit, credited) = _split(
            row, key
        )
        measures["touched"].append(
            (group_key, currency, group_rate, int(touched or 0), int(touched_count or 0))
        )
        measures["credited"].append(
            (group_key, currency, group_rate, int(credit or 0), int(credited or 0))
        )
    return measures


def activity_types(session: Session, workspace_id: int) -> Sequence[ActivityType]:
    return session.scalars(
        select(ActivityType).where(ActivityType.workspace_id == workspace_id)
    ).all()


_ACTIVITY_TYPE_LABELS = select(
    ActivityType.id, ActivityType.key, ActivityType.name, ActivityType.category
).where(ActivityType.workspace_id == bindparam("workspace_id"))


def activity_type_labels(session: Session, workspace_id: int) -> list[Any]:
    """(id, key, name, category) of the workspace's activity types, without loading them."""
    return list(session.execute(_ACTIVITY_TYPE_LABELS, {"workspace_id": workspace_id}))


def programs(session: Session, workspace_id: int) -> Sequence[Program]:
    return session.scalars(select(Program).where(Program.workspace_id == workspace_id)).all()


def accounts(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    rows = session.execute(
        select(Account.id, Account.external_id, Account.name).where(Account.id.in_(ids))
    )
    return {id_: (external_id, name) for id_, external_id, name in rows}


def account_ids(session: Session, workspace_id: int, external_id: str) -> tuple[int, ...]:
    return tuple(
        session.scalars(
            select(Account.id).where(
                Account.workspace_id == workspace_id, Account.external_id == external_id
            )
        )
    )


def opportunity_ids_by_external_id(
    session: Session, workspace_id: int, external_id: str, source: str | None
) -> list[tuple[int, str]]:
    """(id, source) of the live opportunities with this CRM id."""
    query = select(Opportunity.id, Opportunity.source).where(
        Opportunity.workspace_id == workspace_id,
        Opportunity.external_id == external_id,
        Opportunity.deleted_at.is_(None),
    )
    if source is not None:
        query = query.where(Opportunity.source == source)
    return [(int(i), str(s)) for i, s in session.execute(query)]


def account_external_ids(session: Session, workspace_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Account.external_id).where(
                Account.workspace_id == workspace_id, Account.deleted_at.is_(None)
            )
        )
    )


def known_values(session: Session, workspace_id: int, run_id: int | None, column: str) -> list[str]:
    """The distinct non-null values of an opportunity column (``stage_name``, ``pipeline``):
    in the run's snapshot, or, without a run, in the workspace's opportunities."""
    if run_id is not None:
        field = getattr(RO, column)
        query = select(field).where(RO.run_id == run_id, field.is_not(None)).distinct()
    else:
        field = getattr(Opportunity, column)
        query = (
            select(field)
            .where(
                Opportunity.workspace_id == workspace_id,
                Opportunity.deleted_at.is_(None),
                field.is_not(None),
            )
            .distinct()
        )
    return [str(value) for value in session.scalars(query)]


def opportunity_page(
    session: Session, where: ColumnElement[bool], *, after: int, limit: int
) -> list[tuple[RO, Opportunity, Account | None]]:
    rows = session.execute(
        select(RO, Opportunity, Account)
        .join(Opportunity, Opportunity.id == RO.opportunity_id)
        .outerjoin(Account, Account.id == RO.account_id)
        .where(where, RO.opportunity_id > after)
        .order_by(RO.opportunity_id)
        .limit(limit)
    )
    return [(ro, opportunity, account) for ro, opportunity, account in rows]


def snapshot_of(
    session: Session, run_id: int, opportunity_id: int
) -> tuple[RO, Opportunity, Account | None] | None:
    row = session.execute(
        select(RO, Opportunity, Account)
        .join(Opportunity, Opportunity.id == RO.opportunity_id)
        .outerjoin(Account, Account.id == RO.account_id)
        .where(RO.run_id == run_id, RO.opportunity_id == opportunity_id)
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def journey(session: Session, run_id: int, opportunity_id: int) -> list[Any]:
    """The run's credited touches of one opportunity with what a person reads about them."""
    person = func.coalesce(
        literal("member:") + Member.external_id,
        literal("contact:") + Contact.external_id,
        literal("lead:") + Lead.external_id,
    )
    return list(
        session.execute(
            select(
                Credit.stage,
                Touchpoint.source,
                Touchpoint.external_id,
                Touchpoint.occurred_at,
                person,
                ActivityType.key,
                ActivityType.category,
                Program.key,
                Credit.is_community,
                Credit.fraction,
                Credit.amount,
            )
            .join(Touchpoint, Touchpoint.id == Credit.touchpoint_id)
            .join(ActivityType, ActivityType.id == Touchpoint.activity_type_id)
            .outerjoin(Program, Program.id == Touchpoint.program_id)
            .outerjoin(Member, Member.id == Touchpoint.member_id)
            .outerjoin(Contact, Contact.id == Touchpoint.contact_id)
            .outerjoin(Lead, Lead.id == Touchpoint.lead_id)
            .where(Credit.run_id == run_id, Credit.opportunity_id == opportunity_id)
            .order_by(
                Credit.stage, Touchpoint.occurred_at, Touchpoint.source, Touchpoint.external_id
            )
        )
    )
