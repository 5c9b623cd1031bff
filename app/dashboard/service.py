"""What each page shows, read from the reports' own services: the dashboard computes no figure
of its own (a page's numbers are the API's answer to the same request)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.clock import Clock
from app.models import Workspace
from app.reports import service as reports
from app.reports.context import ReportContext, report_context
from app.reports.filters import FilterParams, ReportFilters
from app.reports.periods import Interval, check_bucket_count
from app.reports.schemas import Breakdown, ModelComparisonReport, Summary, Timeseries
from app.workspaces.service import get_workspace

Dimension = Literal["activity_type", "category", "program", "channel"]


@dataclass(frozen=True)
class Overview:
    workspace: Workspace
    summary: Summary
    previous: Summary
    timeseries: Timeseries


def context(
    session: Session,
    *,
    principal: Principal,
    params: FilterParams,
    model: str | None,
    clock: Clock,
) -> ReportContext:
    """The workspace, run and filters exactly as the report endpoints choose them."""
    return report_context(
        session=session, principal=principal, clock=clock, params=params, run=None, model=model
    )


def previous_period(first: date, last: date) -> tuple[date, date]:
    """The period just before: as many whole months when the period is whole months (a quarter
    before a quarter, a fiscal year before a fiscal year), else as many days."""
    if first.day == 1 and (last + timedelta(days=1)).day == 1:
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        index = first.year * 12 + first.month - 1 - months
        return date(index // 12, index % 12 + 1, 1), first - timedelta(days=1)
    days = (last - first).days + 1
    return first - timedelta(days=days), first - timedelta(days=1)


def overview(
    session: Session,
    *,
    principal: Principal,
    params: FilterParams,
    model: str | None,
    interval: Interval,
    clock: Clock,
) -> Overview:
    current = context(session, principal=principal, params=params, model=model, clock=clock)
    filters = current.filters
    check_bucket_count(filters.period_from, filters.period_to, interval)
    first, last = previous_period(filters.period_from, filters.period_to)
    before = context(
        session,
        principal=principal,
        params=replace(params, period_from=first, period_to=last, preset=None),
        model=model,
        clock=clock,
    )
    return Overview(
        workspace=current.workspace,
        summary=reports.summary(
            session, workspace=current.workspace, run=current.run, filters=filters
        ),
        previous=reports.summary(
            session, workspace=before.workspace, run=before.run, filters=before.filters
        ),
        timeseries=reports.timeseries(
            session,
            workspace=current.workspace,
            run=current.run,
            filters=filters,
            interval=interval,
        ),
    )


@dataclass(frozen=True)
class Sources:
    workspace: Workspace
    categories: Breakdown
    activity_types: Breakdown
    programs: Breakdown
    models: ModelComparisonReport


def compare_context(
    session: Session, *, principal: Principal, params: FilterParams, clock: Clock
) -> tuple[Workspace, ReportFilters]:
    """The workspace and filters as /v1/reports/models/compare resolves them (no run chosen)."""
    period = reports.resolve_period(
        session, workspace_id=principal.workspace_id, params=params, now=clock()
    )
    workspace = get_workspace(session, principal.workspace_id)
    filters = reports.resolve_filters(session, workspace=workspace, params=params, period=period)
    return workspace, filters


def sources(
    session: Session,
    *,
    principal: Principal,
    params: FilterParams,
    model: str | None,
    clock: Clock,
) -> Sources:
    """Where the money comes from: SPACES categories, activity types, programs, and every model."""
    current = context(session, principal=principal, params=params, model=model, clock=clock)
    workspace, run, filters = current.workspace, current.run, current.filters

    def by(dimension: Dimension) -> Breakdown:
        return reports.breakdown(
            session, workspace=workspace, run=run, filters=filters, dimension=dimension
        )

    compare_workspace, compare_filters = compare_context(
        session, principal=principal, params=params, clock=clock
    )
    return Sources(
        workspace=workspace,
        categories=by("category"),
        activity_types=by("activity_type"),
        programs=by("program"),
        models=reports.compare_models(
            session, workspace=compare_workspace, filters=compare_filters
        ),
    )
