from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.deps import ClockDep, ReadKey, SessionDep, SettingsDep, WriteKey
from app.runs import repository, service
from app.runs.schemas import CreditPage, RunCreate, RunOpportunityPage, RunOut
from app.workspaces.service import get_workspace

router = APIRouter(prefix="/v1/attribution-runs", tags=["attribution runs"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Run an attribution model",
    responses={202: {"description": "Queued for `commattr worker` (with `wait=false`)."}},
)
def create_run(
    body: RunCreate,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: WriteKey,
    wait: Annotated[
        bool, Query(description="Compute now and answer the finished run (false: queue it).")
    ] = True,
) -> RunOut:
    """Computes both stages (pipeline and revenue) and stores the credits and a snapshot."""
    workspace = get_workspace(session, principal.workspace_id)
    if wait:
        run = service.run_attribution(
            session, workspace=workspace, request=body, now=clock(), settings=settings
        )
    else:
        run = service.queue_run(session, workspace=workspace, request=body, now=clock())
        response.status_code = status.HTTP_202_ACCEPTED
    return RunOut.model_validate(run)


@router.get("", summary="List attribution runs, newest first")
def list_runs(
    session: SessionDep,
    principal: ReadKey,
    limit: Annotated[int, Query(ge=1, le=500, description="Most runs returned.")] = 50,
) -> list[RunOut]:
    return [
        RunOut.model_validate(r)
        for r in repository.list_runs(session, principal.workspace_id, limit)
    ]


@router.get("/{run_id}", summary="Read one attribution run")
def read_run(run_id: int, session: SessionDep, principal: ReadKey) -> RunOut:
    return RunOut.model_validate(
        service.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    )


Cursor = Annotated[int, Query(ge=0, description="`next_cursor` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=10_000, description="Most items per page.")]


@router.get("/{run_id}/credits", summary="List a run's credits, page by page")
def list_credits(
    run_id: int, session: SessionDep, principal: ReadKey, cursor: Cursor = 0, limit: Limit = 1000
) -> CreditPage:
    run = service.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    return service.credits(session, run=run, cursor=cursor, limit=limit)


@router.get("/{run_id}/opportunities", summary="List the opportunities a run saw, with its flags")
def list_run_opportunities(
    run_id: int, session: SessionDep, principal: ReadKey, cursor: Cursor = 0, limit: Limit = 1000
) -> RunOpportunityPage:
    run = service.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    return service.snapshot(session, run=run, cursor=cursor, limit=limit)
