from __future__ import annotations

from fastapi import APIRouter

from app.crm import service
from app.crm.schemas import CrmImport, ImportCounts
from app.deps import ClockDep, SessionDep, WriteKey
from app.workspaces.service import get_workspace

router = APIRouter(prefix="/v1/crm", tags=["crm"])


@router.post("/import", summary="Import CRM records from a JSON file")
def import_crm_records(
    body: CrmImport, session: SessionDep, clock: ClockDep, principal: WriteKey
) -> ImportCounts:
    """Upserts by (source, external_id); every reference is checked before anything is written."""
    workspace = get_workspace(session, principal.workspace_id)
    return service.import_records(session, workspace=workspace, body=body, now=clock())
