"""Unpaginated CSV exports for BI refreshes (docs/bi-tools.md lists every column)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from app.deps import ReadKey, SessionDep
from app.exports import service
from app.models import AttributionRun
from app.reports.context import ModelParam, RunParam

router = APIRouter(prefix="/v1/exports", tags=["exports"])

CSV_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "A CSV table with a header row, streamed.",
    }
}


def _csv(chunks: Iterator[str], filename: str) -> StreamingResponse:
    # The stream reads in a session of its own: the request's session (function-scoped) is
    # closed, its connection given back, before the first byte is sent.
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


def exported_run(
    session: SessionDep, principal: ReadKey, run: RunParam = None, model: ModelParam = None
) -> AttributionRun:
    return service.export_run(session, workspace_id=principal.workspace_id, run_id=run, model=model)


ExportedRun = Annotated[AttributionRun, Depends(exported_run)]


@router.get(
    "/credits.csv",
    summary="Every credit of a run, one row per stage, opportunity and touch",
    response_class=StreamingResponse,
    responses=CSV_STREAM,
)
def export_credits(request: Request, chosen: ExportedRun) -> StreamingResponse:
    chunks = service.credits_csv(
        request.app.state.sessionmaker, workspace_id=chosen.workspace_id, run_id=chosen.id
    )
    return _csv(chunks, f"credits-run-{chosen.id}.csv")


@router.get(
    "/opportunities.csv",
    summary="A run's snapshot of every opportunity with flags, credit per stage and rates",
    response_class=StreamingResponse,
    responses=CSV_STREAM,
)
def export_opportunities(request: Request, chosen: ExportedRun) -> StreamingResponse:
    chunks = service.opportunities_csv(
        request.app.state.sessionmaker, workspace_id=chosen.workspace_id, run_id=chosen.id
    )
    return _csv(chunks, f"opportunities-run-{chosen.id}.csv")


@router.get(
    "/touchpoints.csv",
    summary="Every stored touchpoint with its activity type, program and person",
    response_class=StreamingResponse,
    responses=CSV_STREAM,
)
def export_touchpoints(request: Request, principal: ReadKey) -> StreamingResponse:
    chunks = service.touchpoints_csv(
        request.app.state.sessionmaker, workspace_id=principal.workspace_id
    )
    return _csv(chunks, "touchpoints.csv")
