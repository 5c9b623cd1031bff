from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from app.bounds import Cursor, Id, Text
from app.deps import ClockDep, ReadKey, SessionDep, SettingsDep, WriteKey
from app.idempotency.dependencies import IdempotencyClaim
from app.idempotency.service import Idempotency, fingerprint
from app.imports import jobs, repository, service
from app.imports.schemas import (
    FileFormat,
    ImportKind,
    ImportOut,
    ImportSourceIn,
    ImportSourceList,
    ImportSourceOut,
    Rejection,
    RejectionPage,
)
from app.imports.upload import spool_body
from app.workspaces.service import get_workspace

router = APIRouter(prefix="/v1", tags=["imports"])

_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file as the body: CSV with a header row, or NDJSON (one JSON object "
        "a line); gzip-compressed or not (Content-Encoding: gzip, or a .gz file as it is).",
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
            "application/gzip": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"description": "Queued for `commattr worker`: follow `Location` (GET /v1/imports/{id})."},
    413: {"description": "The file is larger than COMMATTR_IMPORT_MAX_BYTES."},
    422: {"description": "A bad parameter or mapping; all or nothing: every rejected row."},
}

Source = Annotated[
    Text,
    Query(
        min_length=1,
        max_length=64,
        description="Where the file comes from (zoom, bevy, discourse): the touches' source, and "
        "the name its mapping is saved under (PUT /v1/import-sources/{kind}/{source}).",
    ),
]
Format = Annotated[
    FileFormat | None,
    Query(description="csv or ndjson; default: from Content-Type, else the saved source's."),
]
Mapping = Annotated[
    str | None,
    Query(
        max_length=10_000,
        description="A column mapping as JSON (see ColumnMapping); default: the source's saved "
        "one, else columns named like the fields.",
    ),
]
Partial = Annotated[
    bool,
    Query(description="Store the valid rows and list the rejected ones (default: all or nothing)."),
]
Wait = Annotated[
    bool,
    Query(
        description="Import now and answer the result; false queues it (large files always are)."
    ),
]


async def _import(
    kind: str,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    workspace_id: int,
    idempotency: Idempotency,
    source: str,
    file_format: str | None,
    mapping: str | None,
    partial: bool,
    wait: bool,
) -> ImportOut:
    chosen = await run_in_threadpool(
        service.resolve_settings,
        session,
        workspace_id=workspace_id,
        kind=kind,
        source=source,
        file_format=file_format,
        mapping=mapping,
        content_type=request.headers.get("content-type"),
        partial=partial,
    )
    upload = await spool_body(
        request, limit=settings.import_max_bytes, too_large=service.file_too_large(settings)
    )
    try:
        await run_in_threadpool(idempotency.begin, fingerprint(request, upload.sha256))
    except BaseException:
        upload.file.close()
        raise

    def work() -> ImportOut:
        with upload.file:
            job = service.start_import(
                session,
                workspace=get_workspace(session, workspace_id),
                request=chosen,
                file=upload.file,
                size=upload.size,
                settings=settings,
                now=clock(),
                wait=wait,
            )
            answer = service.describe(session, job)
            queued = answer.status == "queued"
            idempotency.finish(
                session,
                answer,
                status_code=status.HTTP_202_ACCEPTED if queued else status.HTTP_200_OK,
                headers={"Location": f"/v1/imports/{answer.id}"} if queued else None,
            )
            return answer

    result = await run_in_threadpool(work)
    if result.status == "queued":
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"/v1/imports/{result.id}"
    return result


@router.post(
    "/touchpoints:import",
    summary="Import touchpoints from a CSV or NDJSON file",
    responses=_RESPONSES,
    openapi_extra=_FILE_BODY,
)
async def import_touchpoints(
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: WriteKey,
    idempotency: IdempotencyClaim,
    source: Source,
    format: Format = None,
    mapping: Mapping = None,
    partial: Partial = False,
    wait: Wait = True,
) -> ImportOut:
    """Streams the file: rows are checked and staged in batches, then stored in one statement,
    idempotently by source + external_id (a repeated key keeps its earliest row). Every error
    names its line and field."""
    return await _import(
        "touchpoints",
        request,
        response,
        session,
        clock,
        settings,
        principal.workspace_id,
        idempotency,
        source,
        format,
        mapping,
        partial,
        wait,
    )


@router.post(
    "/members:import",
    summary="Import members from a CSV or NDJSON file",
    responses=_RESPONSES,
    openapi_extra=_FILE_BODY,
)
async def import_members(
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: WriteKey,
    idempotency: IdempotencyClaim,
    source: Source,
    format: Format = None,
    mapping: Mapping = None,
    partial: Partial = False,
    wait: Wait = True,
) -> ImportOut:
    """Members by external_id (default: their first email), with their emails (several in one
    column, separated by the mapping's email_separator); links to the CRM are recomputed."""
    return await _import(
        "members",
        request,
        response,
        session,
        clock,
        settings,
        principal.workspace_id,
        idempotency,
        source,
        format,
        mapping,
        partial,
        wait,
    )


@router.get("/imports/{import_id}", summary="Read an import's progress and result")
def read_import(import_id: Id, session: SessionDep, principal: ReadKey) -> ImportOut:
    job = service.get_import(session, workspace_id=principal.workspace_id, import_id=import_id)
    return service.describe(session, job)


@router.post(
    "/imports/{import_id}/cancel",
    summary="Cancel a queued or running import",
    responses={409: {"description": "The import has already finished."}},
)
def cancel_import(
    import_id: Id, session: SessionDep, clock: ClockDep, principal: WriteKey
) -> ImportOut:
    """A queued import never starts; a running one stops at its next batch and stores nothing.
    Its file is dropped."""
    job = service.get_import(session, workspace_id=principal.workspace_id, import_id=import_id)
    return service.describe(session, jobs.cancel(session, job=job, now=clock()))


@router.get("/imports/{import_id}/rejections", summary="Every rejected row of an import")
def list_rejections(
    import_id: Id,
    session: SessionDep,
    principal: ReadKey,
    after: Annotated[Cursor, Query(description="`next_after` of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="Most rejections a page.")] = 1_000,
) -> RejectionPage:
    job = service.get_import(session, workspace_id=principal.workspace_id, import_id=import_id)
    rows = repository.rejections(session, job.id, after=after, limit=limit)
    return RejectionPage(
        rejections=[Rejection(line=r.line, field=r.field, message=r.message) for r in rows],
        next_after=rows[-1].id if len(rows) == limit else None,
    )


@router.put("/import-sources/{kind}/{key}", summary="Save the column mapping of a source's files")
def save_import_source(
    kind: ImportKind,
    key: Annotated[Text, Path(min_length=1, max_length=64)],
    body: ImportSourceIn,
    session: SessionDep,
    clock: ClockDep,
    principal: WriteKey,
) -> ImportSourceOut:
    return service.save_source(
        session,
        workspace_id=principal.workspace_id,
        kind=kind,
        key=key,
        body=body,
        now=clock(),
    )


@router.get("/import-sources", summary="List the saved column mappings")
def list_import_sources(session: SessionDep, principal: ReadKey) -> ImportSourceList:
    return service.list_sources(session, workspace_id=principal.workspace_id)


@router.delete(
    "/import-sources/{kind}/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Forget a saved column mapping",
)
def delete_import_source(
    kind: ImportKind,
    key: Annotated[Text, Path(max_length=64)],
    session: SessionDep,
    principal: WriteKey,
) -> None:
    service.delete_source(session, workspace_id=principal.workspace_id, kind=kind, key=key)
