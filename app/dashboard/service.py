"""What each page shows, read from the reports' own services: the dashboard computes no figure
of its own (a page's numbers are the API's answer to the same request)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from app.apikeys.schemas import ApiKeyOut
from app.audit import service as audit
from app.auth import repository as keys_repository
from app.auth.service import Principal
from app.clock import Clock
from app.config import Settings
from app.connections import repository as connections_repository
from app.connections import service as connections_service
from app.connections.schemas import ConnectionOut
from app.dashboard import repository
from app.exceptions import NotFound
from app.insights import service as insights
from app.insights.bands import BandBy
from app.insights.schemas import CoverageReport, LiftReport, RetentionReport
from app.members import service as members_service
from app.members.schemas import MemberPage
from app.models import Workspace
from app.reports import service as reports
from app.reports.context import ReportContext, report_context
from app.reports.filters import FilterParams, ReportFilters
from app.reports.periods import Interval, check_bucket_count
from app.reports.schemas import Breakdown, Journey, ModelComparisonReport, Summary, Timeseries
from app.runs import freeze
from app.runs import repository as runs_repository
from app.runs import service as runs_service
from app.runs.schemas import FreezeRequest, RunOut
from app.sync import jobs as sync_jobs
from app.sync.schemas import SyncJobOut, SyncRunOut
from app.workspaces.service import get_workspace
from attribution import MODEL_NAMES

UNMATCHED_SHOWN = 100
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


@dataclass(frozen=True)
class Impact:
    workspace: Workspace
    lift: LiftReport
    retention: RetentionReport


def impact(
    session: Session,
    *,
    principal: Principal,
    params: FilterParams,
    model: str | None,
    band_by: BandBy,
    clock: Clock,
) -> Impact:
    """Does it work: lift (win rate, deal size, cycle time) and retention, with intervals."""
    current = context(session, principal=principal, params=params, model=model, clock=clock)
    workspace, run, filters = current.workspace, current.run, current.filters
    return Impact(
        workspace=workspace,
        lift=insights.lift(session, workspace=workspace, run=run, filters=filters, band_by=band_by),
        retention=insights.retention_report(
            session, workspace=workspace, run=run, filters=filters, band_by=band_by
        ),
    )


@dataclass(frozen=True)
class Quality:
    workspace: Workspace
    coverage: CoverageReport
    unmatched: MemberPage
    last_syncs: list[tuple[ConnectionOut, SyncRunOut | None]]
    failed_syncs: list[SyncRunOut]
    failed_runs: list[RunOut]


def quality(
    session: Session,
    *,
    principal: Principal,
    params: FilterParams,
    model: str | None,
    settings: Settings,
    clock: Clock,
) -> Quality:
    """How far to trust the figures: the coverage report, the last sync of every connection,
    and the syncs and attribution runs that failed."""
    current = context(session, principal=principal, params=params, model=model, clock=clock)
    workspace_id = principal.workspace_id
    sync_runs = [
        SyncRunOut.model_validate(run)
        for run in sync_jobs.runs_of(
            session, workspace_id=workspace_id, connection_id=None, limit=500
        )
    ]
    latest: dict[int, SyncRunOut] = {}
    for run in sync_runs:  # newest first
        latest.setdefault(run.connection_id, run)
    return Quality(
        workspace=current.workspace,
        coverage=insights.coverage(
            session, workspace=current.workspace, run=current.run, filters=current.filters
        ),
        unmatched=members_service.list_members(
            session,
            workspace=current.workspace,
            cursor=0,
            limit=UNMATCHED_SHOWN,
            matched=False,
            account=None,
            source=None,
            method=None,
        ),
        last_syncs=[
            (connections_service.describe(connection, settings), latest.get(connection.id))
            for connection in connections_repository.list_all(session, workspace_id)
        ],
        failed_syncs=[run for run in sync_runs if run.status in ("failed", "partial")],
        failed_runs=[
            RunOut.model_validate(run)
            for run in runs_repository.list_runs(session, workspace_id, 500)
            if run.status == "failed"
        ],
    )


@dataclass(frozen=True)
class Deal:
    workspace: Workspace
    query: str
    found: list[repository.Found]
    journey: Journey | None
    by_model: dict[str, Journey]


def deal(
    session: Session,
    *,
    principal: Principal,
    query: str,
    opportunity_id: int | None,
    model: str | None,
) -> Deal:
    """One deal: opportunities found by name or CRM id, and the chosen one's journey as each
    model with a run credits it (the journey report of each model)."""
    workspace = get_workspace(session, principal.workspace_id)
    found = list(repository.find_opportunities(session, workspace.id, query)) if query else []
    if opportunity_id is None and len(found) == 1:
        opportunity_id = found[0].id
    if opportunity_id is None:
        return Deal(workspace, query, found, None, {})
    run = reports.choose_run(session, workspace_id=workspace.id, run_id=None, model=model)
    journey = reports.journey(session, run=run, opportunity_id=opportunity_id)
    by_model: dict[str, Journey] = {}
    for name in MODEL_NAMES:
        try:
            other = reports.choose_run(session, workspace_id=workspace.id, run_id=None, model=name)
            by_model[name] = reports.journey(session, run=other, opportunity_id=opportunity_id)
        except NotFound:
            continue  # no run of that model, or the deal is not in it
    return Deal(workspace, query, found, journey, by_model)


@dataclass(frozen=True)
class Admin:
    workspace: Workspace
    runs: list[RunOut]
    connections: list[tuple[ConnectionOut, list[SyncJobOut]]]
    sync_runs: list[SyncRunOut]
    keys: list[ApiKeyOut]


def admin(session: Session, *, principal: Principal, settings: Settings) -> Admin:
    """What the admin API lists: runs, connections with their jobs, sync runs, API keys."""
    workspace_id = principal.workspace_id
    return Admin(
        workspace=get_workspace(session, workspace_id),
        runs=[
            RunOut.model_validate(r) for r in runs_repository.list_runs(session, workspace_id, 50)
        ],
        connections=[
            (
                connections_service.describe(connection, settings),
                [
                    SyncJobOut.model_validate(job)
                    for job in sync_jobs.jobs_of(
                        session, workspace_id=workspace_id, connection_id=connection.id
                    )
                ],
            )
            for connection in connections_repository.list_all(session, workspace_id)
        ],
        sync_runs=[
            SyncRunOut.model_validate(run)
            for run in sync_jobs.runs_of(
                session, workspace_id=workspace_id, connection_id=None, limit=50
            )
        ],
        keys=[
            ApiKeyOut.model_validate(key) for key in keys_repository.list_all(session, workspace_id)
        ],
    )


def freeze_run(
    session: Session, *, principal: Principal, run_id: int, body: FreezeRequest, now: datetime
) -> None:
    """The API's freeze, audited as an admin change is."""
    run = runs_service.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    freeze.freeze(session, run=run, body=body, now=now)
    _audit(session, principal, "freeze", run_id, body.model_dump(mode="json", by_alias=True), now)


def unfreeze_run(session: Session, *, principal: Principal, run_id: int, now: datetime) -> None:
    run = runs_service.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    freeze.unfreeze(session, run=run)
    _audit(session, principal, "unfreeze", run_id, None, now)


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    run_id: int,
    change: dict[str, Any] | None,
    now: datetime,
) -> None:
    audit.record(
        session,
        workspace_id=principal.workspace_id,
        api_key_id=principal.api_key_id,
        action=f"POST /dashboard/admin/runs/{{run_id}}/{action}",
        target={"run_id": run_id},
        change=change,
        now=now,
    )
