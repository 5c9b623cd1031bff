from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import ReadKey, SessionDep
from app.identity import service
from app.identity.schemas import IdentityStats, SuggestionPage
from app.workspaces.service import get_workspace

router = APIRouter(prefix="/v1/identity", tags=["members"])


@router.get("/stats", summary="How many members resolve, and how")
def identity_stats(session: SessionDep, principal: ReadKey) -> IdentityStats:
    return service.stats(session, workspace=get_workspace(session, principal.workspace_id))


@router.get("/suggestions", summary="Likely CRM matches of unmatched members")
def identity_suggestions(
    session: SessionDep,
    principal: ReadKey,
    cursor: Annotated[int, Query(ge=0, description="`next_cursor` of the previous page.")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="Unmatched members looked at per page.")
    ] = 200,
) -> SuggestionPage:
    """Each candidate carries the one call (a manual link) that confirms it."""
    return service.suggestions(
        session,
        workspace=get_workspace(session, principal.workspace_id),
        cursor=cursor,
        limit=limit,
    )
