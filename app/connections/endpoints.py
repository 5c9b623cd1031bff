from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.bounds import Id
from app.connections import repository, service
from app.connections.schemas import (
    ConnectionCreate,
    ConnectionOut,
    ConnectionTestResult,
    ConnectionUpdate,
)
from app.deps import AdminKey, ClockDep, ReadKey, SessionDep, SettingsDep
from app.sync import jobs
from app.sync.factory import test_connection
from app.sync.schemas import RunNow, SyncJobCreate, SyncJobOut, SyncRunOut

router = APIRouter(prefix="/v1/connections", tags=["connections"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Connect a Salesforce or HubSpot")
def create_connection(
    body: ConnectionCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: AdminKey,
) -> ConnectionOut:
    """Credentials are encrypted at rest and never returned or logged."""
    connection = service.create_connection(
        session, workspace_id=principal.workspace_id, body=body, settings=settings, now=clock()
    )
    return service.describe(connection, settings)


@router.get("", summary="List connections")
def list_connections(
    session: SessionDep, settings: SettingsDep, principal: ReadKey
) -> list[ConnectionOut]:
    return [
        service.describe(c, settings) for c in repository.list_all(session, principal.workspace_id)
    ]


@router.get("/{connection_id}", summary="Read a connection")
def read_connection(
    connection_id: Id, session: SessionDep, settings: SettingsDep, principal: ReadKey
) -> ConnectionOut:
    connection = service.get_connection(
        session, workspace_id=principal.workspace_id, connection_id=connection_id
    )
    return service.describe(connection, settings)


@router.patch("/{connection_id}", summary="Change a connection")
def update_connection(
    connection_id: Id,
    body: ConnectionUpdate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: AdminKey,
) -> ConnectionOut:
    connection = service.get_connection(
        session, workspace_id=principal.workspace_id, connection_id=connection_id
    )
    updated = service.update_connection(
        session, connection=connection, body=body, settings=settings, now=clock()
    )
    return service.describe(updated, settings)


@router.delete(
    "/{connection_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a connection"
)
def delete_connection(connection_id: Id, session: SessionDep, principal: AdminKey) -> Response:
    """Its jobs, runs and cursors go with it; the records it synced stay."""
    connection = service.get_connection(
        session, workspace_id=principal.workspace_id, connection_id=connection_id
    )
    session.delete(connection)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{connection_id}/test", summary="Check credentials, objects, fields and API usage")
def check_connection(
    connection_id: Id, session: SessionDep, settings: SettingsDep, principal: AdminKey
) -> ConnectionTestResult:
    connection = service.get_connection(
        session, workspace_id=principal.workspace_id, connection_id=connection_id
    )
    return test_connection(connection, settings)


@router.post(
    "/{connection_id}/sync-jobs",
    status_code=status.HTTP_201_CREATED,
    summary="Schedule a sync job",
)
def create_sync_job(
    connection_id: Id,
    body: SyncJobCreate,
    session: SessionDep,
    clock: ClockDep,
    principal: AdminKey,
) -> SyncJobOut:
    connection = service.get_connection(
        session, workspace_id=principal.workspace_id, connection_id=connection_id
    )
    return SyncJobOut.model_validate(
        jobs.create_job(session, connection=connection, body=body, now=clock())
    )


@router.get("/{connection_id}/sync-jobs", summary="List a connection's sync jobs")
def list_sync_jobs(connection_id: Id, session: SessionDep, principal: ReadKey) -> list[SyncJobOut]:
    service.get_connection(
        session, workspace_id=principal.workspace_id, connection_id=connection_id
    )
    return [
        SyncJobOut.model_validate(job)
        for job in jobs.jobs_of(
            session, workspace_id=principal.workspace_id, connection_id=connection_id
        )
    ]


@router.post(
    "/{connection_id}/sync-runs",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Sync every object now",
)
def sync_now(
    connection_id: Id,
    body: RunNow,
    session: SessionDep,
    clock: ClockDep,
    principal: AdminKey,
) -> SyncRunOut:
    """Queued for `commattr worker`; watch it at /v1/sync-runs/{id}."""
    connection = service.get_connection(
        session, workspace_id=principal.workspace_id, connection_id=connection_id
    )
    run = jobs.queue_run(
        session, connection=connection, job=None, full_resync=body.full_resync, now=clock()
    )
    return SyncRunOut.model_validate(run)
