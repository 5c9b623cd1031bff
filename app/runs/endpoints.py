from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.bounds import Cursor, Id
from app.deps import AdminKey, ClockDep, ReadKey, SessionDep, SettingsDep, WriteKey
from app.runs import defaults, diff, freeze, repository, service
from app.runs.limits import check_run_request
from app.runs.schemas import (
    CreditPage,
    DefaultRuns,
    FreezeRequest,
    RunCreate,
    RunDiff,
    RunOpportunityPage,
    RunOut,
)
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
    check_run_request(body, settings, ("body",))
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
def read_run(run_id: Id, session: SessionDep, principal: ReadKey) -> RunOut:
    return RunOut.model_validate(
        service.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    )


CursorParam = Annotated[Cursor, Query(description="`next_cursor` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=10_000, description="Most items per page.")]


@router.get("/{run_id}/credits", summary="List a run's credits, page by page")
def list_credits(
    run_id: Id,
    session: SessionDep,
    principal: ReadKey,
    cursor: CursorParam = 0,
    limit: Limit = 1000,
) -> CreditPage:
    run = service.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    return service.credits(session, run=run, cursor=cursor, limit=limit)


@router.get("/{run_id}/opportunities", summary="List the opportunities a run saw, with its flags")
def list_run_opportunities(
    run_id: Id,
    session: SessionDep,
    principal: ReadKey,
    cursor: CursorParam = 0,
    limit: Limit = 1000,
) -> RunOpportunityPage:
    run = service.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    return service.snapshot(session, run=run, cursor=cursor, limit=limit)


@router.post(
    "/{run_id}/cancel",
    summary="Cancel a queued or running run",
    responses={409: {"description": "The run has already finished."}},
)
def cancel_run(run_id: Id, session: SessionDep, clock: ClockDep, principal: WriteKey) -> RunOut:
    """A queued run never starts; a running one stops at its next stage and stores nothing."""
    run = service.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    return RunOut.model_validate(service.cancel_run(session, run=run, now=clock()))


@router.post("/{run_id}/freeze", summary="Make a run the figure of record for a period")
def freeze_run(
    run_id: Id, body: FreezeRequest, session: SessionDep, clock: ClockDep, principal: AdminKey
) -> RunOut:
    """Reports asked for its model over a period inside this one read this run from now on."""
    run = service.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    return RunOut.model_validate(freeze.freeze(session, run=run, body=body, now=clock()))


@router.delete("/{run_id}/freeze", summary="Stop a run being the figure of record")
def unfreeze_run(run_id: Id, session: SessionDep, principal: AdminKey) -> RunOut:
    run = service.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    return RunOut.model_validate(freeze.unfreeze(session, run=run))


@router.get(
    "/{run_a}/diff/{run_b}", summary="Opportunities whose credit changed between two runs, and why"
)
def diff_runs(run_a: Id, run_b: Id, session: SessionDep, principal: ReadKey) -> RunDiff:
    earlier = service.get_run(session, workspace_id=principal.workspace_id, run_id=run_a)
    later = service.get_run(session, workspace_id=principal.workspace_id, run_id=run_b)
    return diff.diff(session, earlier=earlier, later=later)


defaults_router = APIRouter(prefix="/v1/workspace/default-runs", tags=["attribution runs"])


@defaults_router.get("", summary="The runs refreshed after every sync")
def read_default_runs(session: SessionDep, principal: ReadKey) -> DefaultRuns:
    return DefaultRuns(runs=defaults.defaults_of(session, principal.workspace_id))


@defaults_router.put("", summary="Set the runs refreshed after every sync")
def set_default_runs(
    body: DefaultRuns,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: AdminKey,
) -> DefaultRuns:
    """Each is queued for the worker after a sync that changed records, and supersedes the older
    run of the same request (kept while frozen, pruned after the retention otherwise)."""
    for index, run in enumerate(body.runs):
        check_run_request(run, settings, ("body", "runs", index))
    return DefaultRuns(
        runs=defaults.set_defaults(
            session, workspace_id=principal.workspace_id, runs=body.runs, now=clock()
        )
    )
