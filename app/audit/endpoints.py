from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AuditPage
from app.deps import AdminKey, SessionDep

router = APIRouter(prefix="/v1/audit-log", tags=["api keys"])


@router.get("", summary="Read the log of admin actions, newest first")
def read_audit_log(
    session: SessionDep,
    principal: AdminKey,
    cursor: Annotated[str | None, Query(max_length=20, description="From `next_cursor`.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Events per page.")] = 100,
) -> AuditPage:
    """Append-only: every change an admin key made through the API or the command line."""
    return service.read_page(
        session, workspace_id=principal.workspace_id, cursor=cursor, limit=limit
    )
