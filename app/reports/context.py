"""The dependency every report shares: the workspace, the run it reads, and its filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from app.bounds import Id
from app.deps import ClockDep, ReadKey, SessionDep
from app.models import AttributionRun, Workspace
from app.reports import service
from app.reports.filters import FilterParams, ReportFilters, filter_params

RunParam = Annotated[
    Id | None, Query(description="Attribution run id; default: the run of `model` (see README).")
]
ModelParam = Annotated[
    str | None,
    Query(
        max_length=32,
        description="Model to read: its frozen run covering the period, else its latest default "
        "run, else its latest run (default linear).",
    ),
]


@dataclass(frozen=True)
class ReportContext:
    workspace: Workspace
    run: AttributionRun
    filters: ReportFilters


def report_context(
    session: SessionDep,
    principal: ReadKey,
    clock: ClockDep,
    params: Annotated[FilterParams, Depends(filter_params)],
    run: RunParam = None,
    model: ModelParam = None,
) -> ReportContext:
    period = service.resolve_period(
        session, workspace_id=principal.workspace_id, params=params, now=clock()
    )
    workspace, chosen = service.workspace_and_run(
        session, workspace_id=principal.workspace_id, run_id=run, model=model, period=period
    )
    filters = service.resolve_filters(
        session, workspace=workspace, params=params, period=period, run=chosen
    )
    return ReportContext(workspace=workspace, run=chosen, filters=filters)


Report = Annotated[ReportContext, Depends(report_context)]
