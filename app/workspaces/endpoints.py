from __future__ import annotations

from fastapi import APIRouter

from app.deps import AdminKey, ReadKey, SessionDep
from app.workspaces import service
from app.workspaces.schemas import WorkspaceOut, WorkspaceSettingsUpdate

router = APIRouter(prefix="/v1/workspace", tags=["workspace"])


@router.get("", summary="Read the workspace's settings")
def read_workspace(session: SessionDep, key: ReadKey) -> WorkspaceOut:
    return WorkspaceOut.model_validate(service.get_workspace(session, key.workspace_id))


@router.patch("", summary="Change the workspace's settings")
def update_workspace(
    body: WorkspaceSettingsUpdate, session: SessionDep, key: AdminKey
) -> WorkspaceOut:
    workspace = service.update_settings(service.get_workspace(session, key.workspace_id), body)
    session.flush()
    return WorkspaceOut.model_validate(workspace)
