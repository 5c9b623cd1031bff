"""All SQL of attribution runs: the people and touches of every opportunity, and bulk writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import CTE, Select, delete, exists, func, insert, literal, select, union, union_all
from sqlalchemy.orm import Session

from app.models import (
    ActivityType,
    AttributionRun,
    Contact,
    Credit,
    CreditRollup,
    ExchangeRate,
    Lead,
    Member,
    MemberLink,
    Opportunity,
    OpportunityContact,
    Program,
    ReportRollup,
    RunOpportunity,
    Touchpoint,
)


def _people(workspace_id: int, scope: str) -> tuple[CTE, CTE]:
    """(opportunity_id, contact_id) of each opportunity's people, and the opportunities using the
    account scope (opportunity_id, account_id)."""
    roles = (
        select(OpportunityContact.opportunity_id, OpportunityContact.contact_id)
        .join(Contact, Contact.id == OpportunityContact.contact_id)
        .where(
            OpportunityContact.workspace_id == workspace_id,
            OpportunityContact.deleted_at.is_(None),
            Contact.deleted_at.is_(None),
        )
        .cte("roles")
    )
    by_account = select(Opportunity.id.label("opportunity_id"), Opportunity.account_id).where(
        Opportunity.workspace_id == workspace_id,
        Opportunity.deleted_at.is_(None),
        Opportunity.account_id.is_not(None),
    )
    if scope == "contact_roles":
        by_account = by_account.where(literal(False))
    elif scope == "contact_roles_then_account":
        by_account = by_account.where(~exists().where(roles.c.opportunity_id == Opportunity.id))
    account_opportunities = by_account.cte("account_opportunities")
    selects: list[Select[Any]] = [
        select(account_opportunities.c.opportunity_id, Contact.id.label("contact_id"))
        .join(Contact, Contact.account_id == account_opportunities.c.account_id)
        .where(Contact.deleted_at.is_(None))
    ]
    if scope != "account":
        selects.append(select(roles.c.opportunity_id, roles.c.contact_id))
    people = union(*selects).cte("people")
    return people, account_opportunities


def reached_touches(session: Session, *, workspace_id: int, scope: str) -> pl.DataFrame:
    """One row per (opportunity, touch) for every touch of every opportunity's people."""
    people, account_opportunities = _people(workspace_id, scope)
    live_leads = (
        select(Lead.id, Lead.converted_contact_id)
        .where(Lead.workspace_id == workspace_id, Lead.deleted_at.is_(None))
        .subquery()
    )
    pairs = union(
        select(people.c.opportunity_id, Touchpoint.id.label("touch_id")).join(
            Touchpoint, Touchpoint.contact_id == people.c.contact_id
        ),
        select(people.c.opportunity_id, Touchpoint.id)
        .join(live_leads, live_leads.c.converted_contact_id == people.c.contact_id)
        .join(Touchpoint, Touchpoint.lead_id == live_leads.c.id),
        select(people.c.opportunity_id, Touchpoint.id)
        .join(MemberLink, MemberLink.contact_id == people.c.contact_id)
        .join(Touchpoint, Touchpoint.member_id == MemberLink.member_id),
        select(account_opportunities.c.opportunity_id, Touchpoint.id)
        .join(MemberLink, MemberLink.account_id == account_opportunities.c.account_id)
        .join(Touchpoint, Touchpoint.member_id == MemberLink.member_id),
    ).subquery()
    query = (
        select(
            pairs.c.opportunity_id,
            Touchpoint.id.label("touch_id"),
            Touchpoint.occurred_at,
            Touchpoint.source,
            Touchpoint.external_id,
            ActivityType.id.label("activity_type_id"),
            ActivityType.key.label("activity_type"),
            ActivityType.category,
            ActivityType.weight,
            ActivityType.is_community,
            Touchpoint.program_id,
            Program.key.label("program"),
            Touchpoint.member_id,
            Touchpoint.contact_id,
            Touchpoint.lead_id,
            func.coalesce(Member.is_staff, False).label("is_staff"),
        )
        .select_from(pairs)
        .join(Touchpoint, Touchpoint.id == pairs.c.touch_id)
        .join(ActivityType, ActivityType.id == Touchpoint.activity_type_id)
        .outerjoin(Program, Program.id == Touchpoint.program_id)
        .outerjoin(Member, Member.id == Touchpoint.member_id)
    )
    rows = session.execute(query).all()
    return pl.DataFrame(
        [tuple(row) for row in rows],
        schema={
            "opportunity_id": pl.Int64,
            "touch_id": pl.Int64,
            "occurred_at": pl.Datetime("us", "UTC"),
            "source": pl.Utf8,
            "external_id": pl.Utf8,
            "activity_type_id": pl.Int64,
            "activity_type": pl.Utf8,
            "category": pl.Utf8,
            "weight": pl.Float64,
            "is_community": pl.Boolean,
            "program_id": pl.Int64,
            "program": pl.Utf8,
            "member_id": pl.Int64,
            "contact_id": pl.Int64,
            "lead_id": pl.Int64,
            "is_staff": pl.Boolean,
        },
        orient="row",
    )


def lead_creation_times(session: Session, *, workspace_id: int, scope: str) -> dict[int, Any]:
    """The earliest creation time among each opportunity's people, converted leads included."""
    people, _ = _people(workspace_id, scope)
    created = union_all(
        select(Contact.id.label("contact_id"), Contact.created_at).where(
            Contact.workspace_id == workspace_id
        ),
        select(Lead.converted_contact_id, Lead.created_at).where(
            Lead.workspace_id == workspace_id,
            Lead.deleted_at.is_(None),
            Lead.converted_contact_id.is_not(None),
        ),
    ).subquery()
    query = (
        select(people.c.opportunity_id, func.min(created.c.created_at))
        .join(created, created.c.contact_id == people.c.contact_id)
        .group_by(people.c.opportunity_id)
    )
    return {opportunity_id: first for opportunity_id, first in session.execute(query)}


def live_opportunities(session: Session, workspace_id: int) -> Sequence[Opportunity]:
    return session.scalars(
        select(Opportunity).where(
            Opportunity.workspace_id == workspace_id, Opportunity.deleted_at.is_(None)
        )
    ).all()


def exchange_rates(session: Session, workspace_id: int) -> Sequence[ExchangeRate]:
    return session.scalars(
        select(ExchangeRate)
        .where(ExchangeRate.workspace_id == workspace_id)
        .order_by(ExchangeRate.currency, ExchangeRate.valid_from)
    ).all()


def write_snapshot(session: Session, rows: list[dict[str, Any]], batch: int) -> None:
    for start in range(0, len(rows), batch):
        session.execute(insert(RunOpportunity), rows[start : start + batch])


def write_credits(session: Session, rows: list[dict[str, Any]], batch: int) -> None:
    for start in range(0, len(rows), batch):
        session.execute(insert(Credit), rows[start : start + batch])


def write_rollups(session: Session, rows: list[dict[str, Any]], batch: int) -> None:
    for start in range(0, len(rows), batch):
        session.execute(insert(CreditRollup), rows[start : start + batch])


def delete_results(session: Session, run_id: int) -> None:
    """Every row a run writes, before it is written again from scratch."""
    for model in (Credit, CreditRollup, ReportRollup, RunOpportunity):
        session.execute(delete(model).where(model.run_id == run_id))


def get_run(session: Session, workspace_id: int, run_id: int) -> AttributionRun | None:
    return session.scalar(
        select(AttributionRun).where(
            AttributionRun.workspace_id == workspace_id, AttributionRun.id == run_id
        )
    )


def latest_run(
    session: Session, workspace_id: int, model: str, *, default_only: bool = False
) -> AttributionRun | None:
    query = select(AttributionRun).where(
        AttributionRun.workspace_id == workspace_id,
        AttributionRun.model == model,
        AttributionRun.status == "succeeded",
    )
    if default_only:
        query = query.where(AttributionRun.is_default.is_(True))
    return session.scalar(query.order_by(AttributionRun.id.desc()).limit(1))


def list_runs(session: Session, workspace_id: int, limit: int) -> Sequence[AttributionRun]:
    return session.scalars(
        select(AttributionRun)
        .where(AttributionRun.workspace_id == workspace_id)
        .order_by(AttributionRun.id.desc())
        .limit(limit)
    ).all()


def credit_page(
    session: Session, *, run_id: int, after: int, limit: int
) -> list[tuple[Credit, Opportunity, Touchpoint]]:
    rows = session.execute(
        select(Credit, Opportunity, Touchpoint)
        .join(Opportunity, Opportunity.id == Credit.opportunity_id)
        .join(Touchpoint, Touchpoint.id == Credit.touchpoint_id)
        .where(Credit.run_id == run_id, Credit.id > after)
        .order_by(Credit.id)
        .limit(limit)
    )
    return [(c, o, t) for c, o, t in rows]


def snapshot_page(
    session: Session, *, run_id: int, after: int, limit: int
) -> list[tuple[RunOpportunity, Opportunity]]:
    rows = session.execute(
        select(RunOpportunity, Opportunity)
        .join(Opportunity, Opportunity.id == RunOpportunity.opportunity_id)
        .where(RunOpportunity.run_id == run_id, RunOpportunity.opportunity_id > after)
        .order_by(RunOpportunity.opportunity_id)
        .limit(limit)
    )
    return [(r, o) for r, o in rows]
