from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from fastapi.concurrency import run_in_threadpool

from app.bounds import Id
from app.deps import AdminKey, ClockDep, SessionDep, SettingsDep
from app.exceptions import AppError
from app.webhooks import service
from app.webhooks.schemas import (
    RotateSecret,
    WebhookAnswer,
    WebhookSecret,
    WebhookSourceIn,
    WebhookSourceList,
    WebhookSourceOut,
    WebhookSourceUpdate,
)
from app.workspaces.service import get_workspace

WEBHOOK_MAX_BYTES = 1024 * 1024

router = APIRouter(prefix="/v1", tags=["webhooks"])


class PayloadTooLarge(AppError):
    status_code = 413


@router.post(
    "/webhooks/{key}",
    summary="Receive a signed delivery from a community platform",
    response_model_exclude_none=True,
    responses={
        401: {"description": "Unsigned, badly signed or stale: nothing is stored."},
        413: {"description": "A delivery larger than 1 MiB."},
        422: {"description": "Not JSON, or an event the source cannot store."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The platform's JSON payload, signed as the platform signs (Discourse "
            "X-Discourse-Event-Signature, Slack X-Slack-Signature with X-Slack-Request-Timestamp, "
            "GitHub X-Hub-Signature-256, generic X-Commattr-Signature: v1=HMAC-SHA256 of "
            "'{X-Commattr-Timestamp}.{body}').",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive_webhook(
    key: Annotated[str, Path(max_length=64, description="The source's key (its url_path).")],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> WebhookAnswer:
    """No API key: the signature is the authentication. A repeated delivery stores nothing."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > WEBHOOK_MAX_BYTES:
        raise PayloadTooLarge(f"body: a delivery holds at most {WEBHOOK_MAX_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > WEBHOOK_MAX_BYTES:
            raise PayloadTooLarge(f"body: a delivery holds at most {WEBHOOK_MAX_BYTES} bytes")
    return await run_in_threadpool(
        service.receive,
        session,
        key=key,
        headers=request.headers,
        body=bytes(body),
        settings=settings,
        now=clock(),
    )


@router.post(
    "/webhook-sources",
    status_code=status.HTTP_201_CREATED,
    summary="Create a webhook source (its secret is shown once)",
    responses={409: {"description": "A source of this name exists in the workspace."}},
)
def create_webhook_source(
    body: WebhookSourceIn,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: AdminKey,
) -> WebhookSecret:
    get_workspace(session, principal.workspace_id)
    return service.create_source(
        session, workspace_id=principal.workspace_id, body=body, settings=settings, now=clock()
    )


@router.get("/webhook-sources", summary="List the webhook sources (never their secrets)")
def list_webhook_sources(session: SessionDep, principal: AdminKey) -> WebhookSourceList:
    return service.list_sources(session, workspace_id=principal.workspace_id)


@router.patch("/webhook-sources/{source_id}", summary="Change a webhook source's event map")
def update_webhook_source(
    source_id: Id, body: WebhookSourceUpdate, session: SessionDep, principal: AdminKey
) -> WebhookSourceOut:
    return service.update_source(
        session, workspace_id=principal.workspace_id, source_id=source_id, body=body
    )


@router.post(
    "/webhook-sources/{source_id}/rotate",
    summary="Rotate a webhook source's secret, the old one accepted for a while",
)
def rotate_webhook_secret(
    source_id: Id,
    body: RotateSecret,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: AdminKey,
) -> WebhookSecret:
    return service.rotate_secret(
        session,
        workspace_id=principal.workspace_id,
        source_id=source_id,
        body=body,
        settings=settings,
        now=clock(),
    )


@router.delete(
    "/webhook-sources/{source_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook source (its touches stay)",
)
def delete_webhook_source(source_id: Id, session: SessionDep, principal: AdminKey) -> None:
    service.delete_source(session, workspace_id=principal.workspace_id, source_id=source_id)
