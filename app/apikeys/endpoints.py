from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response, status

from app.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from app.auth import repository
from app.auth import service as keys
from app.deps import AdminKey, ClockDep, SessionDep, SettingsDep

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an API key (shown once)")
def create_api_key(
    body: ApiKeyCreate, session: SessionDep, clock: ClockDep, principal: AdminKey
) -> ApiKeyCreated:
    key, secret = keys.create_key(
        session,
        workspace_id=principal.workspace_id,
        name=body.name,
        scopes=list(body.scopes),
        now=clock(),
        expires_at=body.expires_at,
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=secret)


@router.get("", summary="List the workspace's API keys (never their secrets)")
def list_api_keys(session: SessionDep, principal: AdminKey) -> list[ApiKeyOut]:
    return [
        ApiKeyOut.model_validate(key)
        for key in repository.list_all(session, principal.workspace_id)
    ]


@router.get("/{key_id}", summary="Read an API key")
def read_api_key(key_id: int, session: SessionDep, principal: AdminKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(
        keys.get_key(session, workspace_id=principal.workspace_id, key_id=key_id)
    )


@router.delete(
    "/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an API key at once"
)
def revoke_api_key(
    key_id: int, session: SessionDep, clock: ClockDep, principal: AdminKey
) -> Response:
    """Refused (409) for the workspace's last active admin key."""
    key = keys.get_key(session, workspace_id=principal.workspace_id, key_id=key_id)
    keys.revoke(session, key=key, now=clock())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{key_id}/rotate",
    status_code=status.HTTP_201_CREATED,
    summary="Replace an API key; the old one works for a grace period",
)
def rotate_api_key(
    key_id: int, session: SessionDep, settings: SettingsDep, clock: ClockDep, principal: AdminKey
) -> ApiKeyCreated:
    """The new key has the same name, scopes and expiry; the old one stops after
    `COMMATTR_KEY_ROTATION_GRACE_SECONDS`."""
    key = keys.get_key(session, workspace_id=principal.workspace_id, key_id=key_id)
    new, secret = keys.rotate(
        session,
        key=key,
        now=clock(),
        grace=timedelta(seconds=settings.key_rotation_grace_seconds),
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(new).model_dump(), key=secret)
