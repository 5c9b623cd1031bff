from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.bounds import Id
from app.deps import AdminKey, ClockDep, ReadKey, SessionDep
from app.models import CrmConnection
from app.sync import jobs
from app.sync.schemas import RunNow, SyncJobOut, SyncJobUpdate, SyncRunOut

router = APIRouter(prefix="/v1", tags=["sync"])


@router.get("/sync-jobs/{job_id}", summary="Read a sync job")
def read_sync_job(job_id: Id, session: SessionDep, principal: ReadKey) -> SyncJobOut:
    return SyncJobOut.model_validate(
        jobs.get_job(session, workspace_id=principal.workspace_id, job_id=job_id)
    )


@router.patch("/sync-jobs/{job_id}", summary="Change a sync job's objects, schedule or state")
def update_sync_job(
    job_id: Id, body: SyncJobUpdate, session: SessionDep, clock: ClockDep, principal: AdminKey
) -> SyncJobOut:
    job = jobs.get_job(session, workspace_id=principal.workspace_id, job_id=job_id)
    return SyncJobOut.model_validate(jobs.update_job(session, job=job, body=body, now=clock()))


@router.delete(
    "/sync-jobs/{job_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a sync job"
)
def delete_sync_job(job_id: Id, session: SessionDep, principal: AdminKey) -> Response:
    session.delete(jobs.get_job(session, workspace_id=principal.workspace_id, job_id=job_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/sync-jobs/{job_id}/run",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run a sync job now (optionally as a full resync)",
)
def run_sync_job(
    job_id: Id, body: RunNow, session: SessionDep, clock: ClockDep, principal: AdminKey
) -> SyncRunOut:
    job = jobs.get_job(session, workspace_id=principal.workspace_id, job_id=job_id)
    connection = session.get_one(CrmConnection, job.connection_id)
    run = jobs.queue_run(
        session, connection=connection, job=job, full_resync=body.full_resync, now=clock()
    )
    return SyncRunOut.model_validate(run)


@router.get("/sync-runs", summary="List sync runs, newest first")
def list_sync_runs(
    session: SessionDep,
    principal: ReadKey,
    connection_id: Annotated[Id | None, Query(description="Only this connection's runs.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Most runs returned.")] = 50,
) -> list[SyncRunOut]:
    return [
        SyncRunOut.model_validate(run)
        for run in jobs.runs_of(
            session, workspace_id=principal.workspace_id, connection_id=connection_id, limit=limit
        )
    ]


@router.post(
    "/sync-runs/{run_id}/cancel",
    summary="Cancel a queued or running sync run",
    responses={409: {"description": "The run has already finished."}},
)
def cancel_sync_run(
    run_id: Id, session: SessionDep, clock: ClockDep, principal: AdminKey
) -> SyncRunOut:
    """A queued run never starts; a running one stops before its next page is stored (the pages
    stored so far, and their cursors, stay) and its connection is free at once."""
    run = jobs.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    return SyncRunOut.model_validate(jobs.cancel_run(session, run=run, now=clock()))


@router.get("/sync-runs/{run_id}", summary="Read a sync run: status, timings, counts, cursors")
def read_sync_run(run_id: Id, session: SessionDep, principal: ReadKey) -> SyncRunOut:
    return SyncRunOut.model_validate(
        jobs.get_run(session, workspace_id=principal.workspace_id, run_id=run_id)
    )
