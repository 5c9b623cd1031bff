"""SQL of the insight reports: one row per opportunity for the lift, counts for the coverage."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

import polars as pl
from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from app.insights.retention import RetentionDeal
from app.models import (
    Account,
    ActivityType,
    Contact,
    Credit,
    Member,
    MemberLink,
    Opportunity,
    OpportunityContact,
    Touchpoint,
)
from app.models import RunOpportunity as RO
from app.reports.filters import STAGE_RATE, ReportFilters, Stage


class Deal(NamedTuple):
    opportunity_id: int
    influenced: bool
    is_closed: bool
    is_won: bool
    amount: int | None
    revenue_rate: Decimal | None
    created_at: datetime
    closed_at: datetime | None
    employees: int | None
    annual_revenue: int | None


def deals(session: Session, where: ColumnElement[bool]) -> list[Deal]:
    """The snapshot's opportunities matching ``where``, with their account's current size."""
    rows = session.execute(
        select(
            RO.opportunity_id,
            RO.pipeline_influenced,
            RO.is_closed,
            RO.is_won,
            RO.amount,
            RO.revenue_rate,
            RO.created_at,
            RO.closed_at,
            Account.employees,
            Account.annual_revenue,
        )
        .outerjoin(Account, Account.id == RO.account_id)
        .where(where)
        .order_by(RO.opportunity_id)
    )
    return [Deal._make(row) for row in rows]


def retention_deals(
    session: Session, run_id: int, where: ColumnElement[bool]
) -> list[RetentionDeal]:
    """The run's closed opportunities matching ``where`` (the report's filters but period and
    type), with their account's current size."""
    rows = session.execute(
        select(
            RO.account_id,
            RO.type,
            RO.is_won,
            RO.is_closed,
            RO.close_date,
            RO.amount,
            RO.currency,
            RO.revenue_rate,
            or_(RO.pipeline_influenced.is_(True), RO.revenue_influenced.is_(True)),
            Account.employees,
            Account.annual_revenue,
        )
        .outerjoin(Account, Account.id == RO.account_id)
        .where(RO.run_id == run_id, RO.is_closed.is_(True), where)
        .order_by(RO.opportunity_id)
    )
    return [RetentionDeal(*row) for row in rows]


def _live_at(deleted_at: Any, as_of: datetime) -> ColumnElement[bool]:
    return or_(deleted_at.is_(None), deleted_at > as_of)


def contact_role_counts(
    session: Session, where: ColumnElement[bool], as_of: datetime
) -> tuple[int, int]:
    """(opportunities, of which with a contact role), roles and contacts as live at ``as_of``:
    the roles the engine's contact-role scope saw."""
    has_role = (
        select(OpportunityContact.id)
        .join(Contact, Contact.id == OpportunityContact.contact_id)
        .where(
            OpportunityContact.opportunity_id == RO.opportunity_id,
            _live_at(OpportunityContact.deleted_at, as_of),
            _live_at(Contact.deleted_at, as_of),
        )
        .exists()
    )
    total, with_roles = session.execute(
        select(func.count(), func.sum(case((has_role, 1), else_=0))).where(where)
    ).one()
    return int(total), int(with_roles or 0)


def member_categories(session: Session, workspace_id: int) -> dict[str, int]:
    """Members per category: staff, contact, lead_only, account_only, unmatched."""
    per_member = (
        select(
            Member.is_staff,
            func.count(MemberLink.contact_id).label("contacts"),
            func.count(MemberLink.lead_id).label("leads"),
            func.count(MemberLink.account_id).label("accounts"),
        )
        .outerjoin(MemberLink, MemberLink.member_id == Member.id)
        .where(Member.workspace_id == workspace_id)
        .group_by(Member.id, Member.is_staff)
        .subquery()
    )
    category = case(
        (per_member.c.is_staff.is_(True), "staff"),
        (per_member.c.contacts > 0, "contact"),
        (per_member.c.leads > 0, "lead_only"),
        (per_member.c.accounts > 0, "account_only"),
        else_="unmatched",
    ).label("category")
    rows = session.execute(select(category, func.count()).group_by(category))
    return {str(name): int(count) for name, count in rows}


def touch_counts(
    session: Session, *, workspace_id: int, run_id: int, as_of: datetime
) -> dict[bool, tuple[int, int]]:
    """Per is_community: (touches received by ``as_of``, of which with a credit row in the run)."""
    credited = (
        select(Credit.id)
        .where(Credit.run_id == run_id, Credit.touchpoint_id == Touchpoint.id)
        .exists()
    )
    rows = session.execute(
        select(ActivityType.is_community, func.count(), func.sum(case((credited, 1), else_=0)))
        .select_from(Touchpoint)
        .join(ActivityType, ActivityType.id == Touchpoint.activity_type_id)
        .where(Touchpoint.workspace_id == workspace_id, Touchpoint.received_at <= as_of)
        .group_by(ActivityType.is_community)
    )
    return {bool(community): (int(n), int(c or 0)) for community, n, c in rows}


def touches_for_duplicates(session: Session, *, workspace_id: int, as_of: datetime) -> pl.DataFrame:
    """Every stored touch received by ``as_of``: its own person, activity type and order keys."""
    rows = session.execute(
        select(
            Touchpoint.member_id,
            Touchpoint.contact_id,
            Touchpoint.lead_id,
            Touchpoint.activity_type_id,
            Touchpoint.occurred_at,
            Touchpoint.source,
            Touchpoint.external_id,
        ).where(Touchpoint.workspace_id == workspace_id, Touchpoint.received_at <= as_of)
    ).all()
    return pl.DataFrame(
        [tuple(row) for row in rows],
        schema={
            "member_id": pl.Int64,
            "contact_id": pl.Int64,
            "lead_id": pl.Int64,
            "activity_type_id": pl.Int64,
            "occurred_at": pl.Datetime("us", "UTC"),
            "source": pl.Utf8,
            "external_id": pl.Utf8,
        },
        orient="row",
    )


def in_period_any_amount(filters: ReportFilters, run_id: int) -> ColumnElement[bool]:
    """Opportunities of either stage in the period under the filters, before the amount rules
    (no negative amounts, the amount range): where amount problems are looked for. Mirrors
    ReportFilters.where, which cannot leave its amount rules out."""
    conditions: list[ColumnElement[bool]] = [
        RO.run_id == run_id,
        or_(
            RO.created_date.between(filters.period_from, filters.period_to),
            and_(
                RO.is_won.is_(True),
                RO.close_date.between(filters.period_from, filters.period_to),
            ),
        ),
    ]
    if filters.types:
        conditions.append(RO.type.in_(filters.types))
    if filters.pipelines:
        conditions.append(RO.pipeline.in_(filters.pipelines))
    if filters.stages:
        conditions.append(RO.stage_name.in_(filters.stages))
    if filters.account_ids is not None:
        conditions.append(RO.account_id.in_(filters.account_ids))
    return and_(true(), *conditions)


def amount_issue(
    session: Session, where: ColumnElement[bool], issue: ColumnElement[bool], limit: int
) -> tuple[int, list[str]]:
    """How many opportunities match ``where`` and ``issue``, and the first external ids."""
    count = session.scalar(select(func.count()).select_from(RO).where(where, issue))
    external_ids = session.scalars(
        select(Opportunity.external_id)
        .join(RO, RO.opportunity_id == Opportunity.id)
        .where(where, issue)
        .order_by(Opportunity.external_id)
        .limit(limit)
    ).all()
    return int(count or 0), list(external_ids)


def unconverted(
    session: Session, where: ColumnElement[bool], stage: Stage
) -> list[tuple[str, int, int]]:
    """(currency, opportunities, amount in minor units of it) with no rate at the stage's date."""
    rows = session.execute(
        select(RO.currency, func.count(), func.sum(RO.amount))
        .where(where, STAGE_RATE[stage].is_(None))
        .group_by(RO.currency)
        .order_by(RO.currency)
    )
    return [(currency, int(n), int(amount or 0)) for currency, n, amount in rows]
