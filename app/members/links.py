"""Links and merges made by hand. A member with a manual link keeps only its manual links (the
person was identified by hand); a link removed by hand is never made again by resolution; both
survive every later resolution."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from app.exceptions import InvalidInput, NotFound
from app.members import repository
from app.members.resolution import CONFIDENCE, resolve_members
from app.members.schemas import MergeOut
from app.models import (
    Account,
    Contact,
    Lead,
    LinkMethod,
    Member,
    MemberLink,
    MemberLinkBlock,
    Workspace,
)

Target = Literal["contact", "lead", "account"]
MODELS: dict[str, type[Contact] | type[Lead] | type[Account]] = {
    "contact": Contact,
    "lead": Lead,
    "account": Account,
}


def member_or_404(session: Session, workspace: Workspace, external_id: str) -> Member:
    member = repository.member_by_external_id(session, workspace.id, external_id)
    if member is None:
        raise NotFound(f"member '{external_id}' not found")
    return member


def _target_id(
    session: Session, workspace: Workspace, target: Target, external_id: str, source: str | None
) -> int:
    found = repository.crm_record_ids(session, MODELS[target], workspace.id, external_id, source)
    if not found:
        raise InvalidInput.at(("body", "external_id"), f"unknown {target} '{external_id}'")
    if len(found) > 1:
        raise InvalidInput.at(
            ("body", "source"),
            f"{target} '{external_id}' exists in several CRM sources: name its source",
        )
    return found[0]


def add_link(
    session: Session,
    *,
    workspace: Workspace,
    member: Member,
    target: Target,
    external_id: str,
    source: str | None,
) -> None:
    """Link the member by hand; its automatic links give way."""
    target_id = _target_id(session, workspace, target, external_id, source)
    column = f"{target}_id"
    repository.unblock(session, member.id, column, target_id)
    if not repository.has_manual_link(session, member.id, column, target_id):
        session.add(
            MemberLink(
                workspace_id=workspace.id,
                member_id=member.id,
                method=LinkMethod.MANUAL,
                confidence=CONFIDENCE[LinkMethod.MANUAL],
                **{column: target_id},
            )
        )
    session.flush()
    resolve_members(session, workspace=workspace, member_ids=[member.id])


def remove_link(
    session: Session, *, workspace: Workspace, member: Member, link_id: int, now: datetime
) -> None:
    """Remove a link, manual or automatic; resolution never makes it again for this member."""
    link = repository.link(session, workspace.id, member.id, link_id)
    if link is None:
        raise NotFound(f"link {link_id} of member '{member.external_id}' not found")
    session.add(
        MemberLinkBlock(
            workspace_id=workspace.id,
            member_id=member.id,
            contact_id=link.contact_id,
            lead_id=link.lead_id,
            account_id=link.account_id,
            created_at=now,
        )
    )
    session.delete(link)
    session.flush()
    resolve_members(session, workspace=workspace, member_ids=[member.id])


def merge_members(
    session: Session, *, workspace: Workspace, into: str, members: list[str]
) -> MergeOut:
    """Merge the named members into ``into``; their ids become aliases of it."""
    survivor = member_or_404(session, workspace, into)
    losers: dict[int, Member] = {}
    for position, external_id in enumerate(members):
        member = repository.member_by_external_id(session, workspace.id, external_id)
        if member is None:
            raise InvalidInput.at(("body", "members", position), f"unknown member '{external_id}'")
        if member.id != survivor.id:
            losers[member.id] = member
    merged = sorted(m.external_id for m in losers.values())
    if losers:
        session.flush()
        repository.merge_into(session, workspace.id, survivor.id, sorted(losers))
        repository.insert_identities(
            session, [repository.alias_row(workspace.id, survivor.id, e) for e in merged]
        )
        for member in losers.values():
            session.expunge(member)
        resolve_members(session, workspace=workspace, member_ids=[survivor.id])
    return MergeOut(member=survivor.external_id, merged=merged, shared=["merged by hand"])
