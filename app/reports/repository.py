"""Report SQL: sums of minor units grouped by the key asked for and by the exchange rate they
convert at, so the service can convert exactly and round once per reported figure."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
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


def _groups(session: Session, query: Any, *, keyed: bool = True) -> list[Group]:
    rows = session.execute(query)
    if not keyed:
        return [(None, c, r, int(a or 0), int(n)) for c, r, a, n in rows]
    return [(k, c, r, int(a or 0), int(n)) for k, c, r, a, n in rows]


def _keyed(key: Any, *columns: Any) -> tuple[Any, ...]:
    return columns if key is None else (key, *columns)


def opportunity_sums(
    session: Session,
    where: ColumnElement[bool],
    stage: Stage,
    *,
    key: Any = None,
    flag: Any = None,
) -> list[Group]:
    """Amounts and counts of the opportunities matching ``where`` (and ``flag``), by ``key``."""
    rate = STAGE_RATE[stage]
    query = (
        select(*_keyed(key, RO.currency, rate, func.sum(RO.amount), func.count()))
        .where(where)
        .group_by(*_keyed(key, RO.currency, rate))
    )
    if flag is not None:
        query = query.where(flag.is_(True))
    return _groups(session, query, keyed=key is not None)


def attributed_sums(
    session: Session, where: ColumnElement[bool], stage: Stage, *, key: Any = None
) -> list[Group]:
    """Community credit, and the number of opportunities where community got a non-zero share."""
    rate = STAGE_RATE[stage]
    query = (
        select(
            *_keyed(
                key,
                RO.currency,
                rate,
                func.sum(ATTRIBUTED[stage]),
                func.sum(case((ATTRIBUTED_ANY[stage].is_(True), 1), else_=0)),
            )
        )
        .where(where)
        .group_by(*_keyed(key, RO.currency, rate))
    )
    return _groups(session, query, keyed=key is not None)


def _rollups(where: ColumnElement[bool], stage: Stage) -> Any:
    return (
        select()
        .select_from(CR)
        .join(RO, and_(RO.run_id == CR.run_id, RO.opportunity_id == CR.opportunity_id))
        .join(ActivityType, ActivityType.id == CR.activity_type_id)
        .where(where, CR.stage == stage)
    )


def touched_sums(
    session: Session, where: ColumnElement[bool], stage: Stage, key_name: str
) -> list[Group]:
    """Per key: the opportunities with at least one touch of it in the stage's window (an
    opportunity counts once per key, so these figures are not additive across keys)."""
    key = BREAKDOWN_KEYS[key_name]
    pairs = (
        _rollups(where, stage)
        .add_columns(key.label("key"), CR.opportunity_id)
        .where(CR.touches > 0, key.is_not(None))
        .distinct()
        .subquery()
    )
    rate = STAGE_RATE[stage]
    query = (
        select(pairs.c.key, RO.currency, rate, func.sum(RO.amount), func.count())
        .select_from(pairs)
        .join(RO, and_(RO.opportunity_id == pairs.c.opportunity_id, where))
        .group_by(pairs.c.key, RO.currency, rate)
    )
    return _groups(session, query)


def credited_sums(
    session: Session, where: ColumnElement[bool], stage: Stage, key_name: str
) -> list[Group]:
    """Per key: the credit the model gives its touches (additive), and the opportunities where it
    gets a non-zero share."""
    key = BREAKDOWN_KEYS[key_name]
    rate = STAGE_RATE[stage]
    query = (
        _rollups(where, stage)
        .add_columns(
            key,
            RO.currency,
            rate,
            func.sum(CR.amount),
            func.count(func.distinct(case((CR.fraction > 0, CR.opportunity_id)))),
        )
        .where(key.is_not(None))
        .group_by(key, RO.currency, rate)
    )
    return _groups(session, query)


def activity_types(session: Session, workspace_id: int) -> Sequence[ActivityType]:
    return session.scalars(
        select(ActivityType).where(ActivityType.workspace_id == workspace_id)
    ).all()


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
