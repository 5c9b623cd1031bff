from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import ReadKey, SessionDep
from app.reports import service
from app.reports.schemas import Summary
from app.workspaces.service import get_workspace

router = APIRouter(prefix="/v1/reports", tags=["reports"])


@router.get(
    "/summary", summary="Community-influenced, -sourced and -attributed pipeline and revenue"
)
def summary(
    session: SessionDep,
    principal: ReadKey,
    period_from: Annotated[date, Query(alias="from", description="First local date, inclusive.")],
    period_to: Annotated[date, Query(alias="to", description="Last local date, inclusive.")],
    run: Annotated[
        int | None, Query(description="Attribution run id; default: latest of model.")
    ] = None,
    model: Annotated[
        str | None, Query(description="Model whose latest run to read (default linear).")
    ] = None,
) -> Summary:
    workspace = get_workspace(session, principal.workspace_id)
    chosen = service.choose_run(session, workspace_id=workspace.id, run_id=run, model=model)
    return service.summary(
        session, workspace=workspace, run=chosen, period_from=period_from, period_to=period_to
    )
