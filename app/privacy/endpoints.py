from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import AdminKey, ClockDep, SessionDep
from app.privacy import service
from app.privacy.schemas import ErasureOut, ErasurePage, ErasureRequest
from app.workspaces.service import get_workspace

router = APIRouter(prefix="/v1/privacy", tags=["privacy"])


@router.post("/erase", summary="Erase a person (GDPR Art. 17)")
def erase(
    body: ErasureRequest, session: SessionDep, clock: ClockDep, principal: AdminKey
) -> ErasureOut:
    """Removes the person's members, identities, touchpoints and CRM contacts and leads, and their
    credits from every attribution run (frozen runs too, each recording the amendment); keeps only
    salted hashes so that no later sync, import or webhook stores them again."""
    return service.erase(
        session,
        workspace=get_workspace(session, principal.workspace_id),
        request=body,
        api_key_id=principal.api_key_id,
        now=clock(),
    )


@router.get("/erasures", summary="List erasures (no personal data)")
def list_erasures(
    session: SessionDep,
    principal: AdminKey,
    cursor: Annotated[int, Query(ge=0, description="`next_cursor` of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most erasures per page.")] = 100,
) -> ErasurePage:
    return service.list_erasures(
        session,
        workspace=get_workspace(session, principal.workspace_id),
        cursor=cursor,
        limit=limit,
    )
