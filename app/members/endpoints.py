from __future__ import annotations

from fastapi import APIRouter

from app.deps import ClockDep, ReadKey, SessionDep, WriteKey
from app.idempotency.dependencies import IdempotencyDep
from app.members import service
from app.members.schemas import MemberBatch, MemberBatchResult, MemberOut
from app.workspaces.service import get_workspace

router = APIRouter(prefix="/v1", tags=["members"])


@router.post("/members:batch", summary="Create or update up to 10,000 members")
def upsert_members(
    body: MemberBatch,
    session: SessionDep,
    clock: ClockDep,
    principal: WriteKey,
    idempotency: IdempotencyDep,
) -> MemberBatchResult:
    """Each member's emails are replaced by the ones given; links to the CRM are recomputed."""
    workspace = get_workspace(session, principal.workspace_id)
    resolution = service.upsert_members(
        session, workspace=workspace, members=body.members, now=clock()
    )
    result = MemberBatchResult(members=resolution.members, matched=resolution.matched)
    idempotency.finish(session, result)
    return result


@router.get("/members/{external_id}", summary="Read a member with its links to the CRM")
def read_member(external_id: str, session: SessionDep, principal: ReadKey) -> MemberOut:
    return service.describe_member(
        session, workspace_id=principal.workspace_id, external_id=external_id
    )
