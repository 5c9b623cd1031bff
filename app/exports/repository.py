"""Export SQL: one flat SELECT per export, the same joins as the views of migration bi_views.

Amounts in the reporting currency are computed by the service from the amount and the rate, in exact
decimals: SQLite has no decimal arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Row, Select, and_, case, func, select
from sqlalchemy.orm import Session

from app.models import (
    Account,
    ActivityType,
    AttributionRun,
    Contact,
    Credit,
    Lead,
    Member,
    Opportunity,
    Program,
    Touchpoint,
    Workspace,
)
from app.models import RunOpportunity as RO

# a flat SELECT of labelled columns; the services read rows by label
Rows = Select[*tuple[Any, ...]]
AnyRow = Row[*tuple[Any, ...]]


def credits_query(workspace_id: int, run_id: int) -> Rows:
    """Credits grouped by stage and opportunity, each opportunity's touches in touch order."""
    stage_rate = case((Credit.stage == "pipeline", RO.pipeline_rate), else_=RO.revenue_rate)
    return (
        select(
            Credit.run_id.label("run_id"),
            AttributionRun.model.label("model"),
            Credit.stage.label("stage"),
            Opportunity.source.label("opportunity_source"),
            Opportunity.external_id.label("opportunity_external_id"),
            Opportunity.name.label("opportunity_name"),
            Account.external_id.label("account_external_id"),
            RO.type.label("opportunity_type"),
            RO.created_date.label("created_date"),
            RO.close_date.label("close_date"),
            RO.is_won.label("is_won"),
            RO.currency.label("currency"),
            Touchpoint.source.label("touchpoint_source"),
            Touchpoint.external_id.label("touchpoint_external_id"),
            Touchpoint.occurred_at.label("occurred_at"),
            ActivityType.key.label("activity_type"),
            ActivityType.category.label("category"),
            Program.key.label("program"),
            Credit.is_community.label("is_community"),
            Credit.fraction.label("fraction"),
            Credit.amount.label("credit_minor"),
            stage_rate.label("stage_rate"),
            Workspace.reporting_currency.label("reporting_currency"),
        )
        .select_from(Credit)
        .join(
            AttributionRun,
            and_(AttributionRun.id == Credit.run_id, AttributionRun.status == "succeeded"),
        )
        .join(Workspace, Workspace.id == Credit.workspace_id)
        .outerjoin(RO, and_(RO.run_id == Credit.run_id, RO.opportunity_id == Credit.opportunity_id))
        .outerjoin(Opportunity, Opportunity.id == Credit.opportunity_id)
        .outerjoin(Account, Account.id == RO.account_id)
        .outerjoin(Touchpoint, Touchpoint.id == Credit.touchpoint_id)
        .outerjoin(ActivityType, ActivityType.id == Credit.activity_type_id)
        .outerjoin(Program, Program.id == Credit.program_id)
        .where(Credit.workspace_id == workspace_id, Credit.run_id == run_id)
        .order_by(
            Credit.stage,
            Credit.opportunity_id,
            Touchpoint.id.is_(None),
            Touchpoint.occurred_at,
            Touchpoint.source,
            Touchpoint.external_id,
            Credit.id,
        )
    )


def opportunities_query(workspace_id: int, run_id: int) -> Rows:
    """The run's snapshot, one row per opportunity, by opportunity id."""
    return (
        select(
            RO.run_id.label("run_id"),
            AttributionRun.model.label("model"),
            Opportunity.source.label("opportunity_source"),
            Opportunity.external_id.label("opportunity_external_id"),
            Opportunity.name.label("opportunity_name"),
            Account.external_id.label("account_external_id"),
            Account.name.label("account_name"),
            RO.type.label("opportunity_type"),
            RO.stage_name.label("stage_name"),
            RO.pipeline.label("pipeline"),
            RO.is_closed.label("is_closed"),
            RO.is_won.label("is_won"),
            RO.currency.label("currency"),
            RO.amount.label("amount_minor"),
            RO.created_at.label("created_at"),
            RO.closed_at.label("closed_at"),
            RO.created_date.label("created_date"),
            RO.close_date.label("close_date"),
            RO.pipeline_rate.label("pipeline_rate"),
            RO.revenue_rate.label("revenue_rate"),
            RO.pipeline_influenced.label("pipeline_influenced"),
            RO.revenue_influenced.label("revenue_influenced"),
            RO.sourced.label("sourced"),
            RO.accelerated.label("accelerated"),
            RO.pipeline_attributed.label("pipeline_attributed_minor"),
            RO.revenue_attributed.label("revenue_attributed_minor"),
            RO.pipeline_attributed_any.label("pipeline_attributed_any"),
            RO.revenue_attributed_any.label("revenue_attributed_any"),
            Workspace.reporting_currency.label("reporting_currency"),
        )
        .select_from(RO)
        .join(
            AttributionRun,
            and_(AttributionRun.id == RO.run_id, AttributionRun.status == "succeeded"),
        )
        .join(Workspace, Workspace.id == RO.workspace_id)
        .outerjoin(Opportunity, Opportunity.id == RO.opportunity_id)
        .outerjoin(Account, Account.id == RO.account_id)
        .where(RO.workspace_id == workspace_id, RO.run_id == run_id)
        .order_by(RO.opportunity_id)
    )


def touchpoints_query(workspace_id: int) -> Rows:
    """Every stored touch, in touch order (occurred_at, source, external_id)."""
    return (
        select(
            Touchpoint.source.label("touchpoint_source"),
            Touchpoint.external_id.label("touchpoint_external_id"),
            Touchpoint.occurred_at.label("occurred_at"),
            Touchpoint.received_at.label("received_at"),
            ActivityType.key.label("activity_type"),
            ActivityType.category.label("category"),
            ActivityType.is_community.label("is_community"),
            Program.key.label("program"),
            case(
                (Touchpoint.member_id.is_not(None), "member"),
                (Touchpoint.contact_id.is_not(None), "contact"),
                else_="lead",
            ).label("person_kind"),
            func.coalesce(Contact.source, Lead.source).label("person_source"),
            func.coalesce(Member.external_id, Contact.external_id, Lead.external_id).label(
                "person_external_id"
            ),
            Member.is_staff.label("member_is_staff"),
        )
        .select_from(Touchpoint)
        .outerjoin(ActivityType, ActivityType.id == Touchpoint.activity_type_id)
        .outerjoin(Program, Program.id == Touchpoint.program_id)
        .outerjoin(Member, Member.id == Touchpoint.member_id)
        .outerjoin(Contact, Contact.id == Touchpoint.contact_id)
        .outerjoin(Lead, Lead.id == Touchpoint.lead_id)
        .where(Touchpoint.workspace_id == workspace_id)
        .order_by(Touchpoint.occurred_at, Touchpoint.source, Touchpoint.external_id)
    )


def batches(session: Session, query: Rows, batch_size: int) -> Iterator[Sequence[AnyRow]]:
    """The query's rows, ``batch_size`` at a time, from a server-side cursor on PostgreSQL (SQLite
    steps its cursor lazily): memory holds one batch whatever the row count."""
    result = session.execute(query, execution_options={"yield_per": batch_size})
    try:
        yield from result.partitions()
    finally:
        result.close()
