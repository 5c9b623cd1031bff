from __future__ import annotations

from fastapi import APIRouter

from app.deps import ClockDep, SessionDep, SettingsDep, WriteKey
from app.exceptions import InvalidInput
from app.idempotency.dependencies import IdempotencyDep
from app.touchpoints import service
from app.touchpoints.schemas import TouchpointBatch, TouchpointBatchResult
from app.workspaces.service import get_workspace

router = APIRouter(prefix="/v1", tags=["touchpoints"])


@router.post("/touchpoints:batch", summary="Store up to 10,000 touchpoints")
def ingest_touchpoints(
    body: TouchpointBatch,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    principal: WriteKey,
    idempotency: IdempotencyDep,
) -> TouchpointBatchResult:
    """Idempotent by source + external_id: a repeated touchpoint replaces the stored one."""
    if len(body.touchpoints) > settings.touchpoint_batch_limit:
        raise InvalidInput.at(
            ("body", "touchpoints"), f"at most {settings.touchpoint_batch_limit} per call"
        )
    workspace = get_workspace(session, principal.workspace_id)
    result = service.ingest(session, workspace=workspace, touchpoints=body.touchpoints, now=clock())
    idempotency.finish(session, result)
    return result
