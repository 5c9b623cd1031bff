from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from app.bounds import Cursor, Id, Text
from app.deps import ClockDep, ReadKey, SessionDep, WriteKey
from app.idempotency.dependencies import IdempotencyDep
from app.members import links, service
from app.members.schemas import (
    LinkIn,
    MemberBatch,
    MemberBatchResult,
    MemberOut,
    MemberPage,
    MergeIn,
    MergeOut,
)
from app.models import LinkMethod
from app.workspaces.service import get_workspace

router = APIRouter(prefix="/v1", tags=["members"])

MemberId = Annotated[Text, Path(max_length=128, description="The member's id.")]


@router.post("/members:batch", summary="Create or update up to 10,000 members")
def upsert_members(
    body: MemberBatch,
    session: SessionDep,
    clock: ClockDep,
    principal: WriteKey,
    idempotency: IdempotencyDep,
) -> MemberBatchResult:
    """Each record's emails, platform user ids and handles replace the ones it gave before;
    records sharing an email or platform user id are merged into one member (listed in
    `merges`); links to the CRM are recomputed for the members written."""
    workspace = get_workspace(session, principal.workspace_id)
    result = service.upsert_members(session, workspace=workspace, members=body.members, now=clock())
    answer = MemberBatchResult(
        records=result.records,
        suppressed=result.suppressed,
        members=result.members,
        created=result.created,
        matched=result.matched,
        merges=result.merges,
    )
    idempotency.finish(session, answer)
    return answer


@router.get("/members", summary="List members, filtered, page by page")
def list_members(
    session: SessionDep,
    principal: ReadKey,
    matched: Annotated[
        Literal["matched", "unmatched"] | None,
        Query(description="Only members linked to something (matched) or to nothing."),
    ] = None,
    account: Annotated[
        Text | None,
        Query(description="Only members of this account (CRM id): linked to it or its contacts."),
    ] = None,
    source: Annotated[
        Text | None, Query(max_length=64, description="Only members from this platform.")
    ] = None,
    method: Annotated[
        LinkMethod | None, Query(description="Only members with a link found this way.")
    ] = None,
    cursor: Annotated[Cursor, Query(description="`next_cursor` of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most members per page.")] = 100,
) -> MemberPage:
    return service.list_members(
        session,
        workspace=get_workspace(session, principal.workspace_id),
        cursor=cursor,
        limit=limit,
        matched=None if matched is None else matched == "matched",
        account=account,
        source=source,
        method=None if method is None else method.value,
    )


@router.get("/members/{external_id}", summary="Read a member with its identities and links")
def read_member(external_id: MemberId, session: SessionDep, principal: ReadKey) -> MemberOut:
    """A merged record's id reads the member it was merged into."""
    workspace = get_workspace(session, principal.workspace_id)
    return service.describe_member(session, workspace=workspace, external_id=external_id)


@router.post(
    "/members/{external_id}/links", status_code=201, summary="Link a member to a CRM record"
)
def add_link(
    external_id: MemberId, body: LinkIn, session: SessionDep, principal: WriteKey
) -> MemberOut:
    """A manual link wins over automatic ones: while a member has one, resolution makes no other
    link for it. It survives every later resolution."""
    workspace = get_workspace(session, principal.workspace_id)
    member = links.member_or_404(session, workspace, external_id)
    links.add_link(
        session,
        workspace=workspace,
        member=member,
        target=body.target,
        external_id=body.external_id,
        source=body.source,
    )
    return service.describe_member(session, workspace=workspace, external_id=external_id)


@router.delete("/members/{external_id}/links/{link_id}", summary="Remove a member's link")
def remove_link(
    external_id: MemberId, link_id: Id, session: SessionDep, clock: ClockDep, principal: WriteKey
) -> MemberOut:
    """Manual or automatic: resolution never makes that link again for this member."""
    workspace = get_workspace(session, principal.workspace_id)
    member = links.member_or_404(session, workspace, external_id)
    links.remove_link(session, workspace=workspace, member=member, link_id=link_id, now=clock())
    return service.describe_member(session, workspace=workspace, external_id=external_id)


@router.post("/members:merge", summary="Merge members into one")
def merge_members(body: MergeIn, session: SessionDep, principal: WriteKey) -> MergeOut:
    """The merged members' touches, identities and manual links move to `into`; their ids keep
    reading it."""
    workspace = get_workspace(session, principal.workspace_id)
    return links.merge_members(session, workspace=workspace, into=body.into, members=body.members)
