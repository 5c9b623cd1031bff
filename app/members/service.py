"""Members: storing member records with their identities, merging the records of one person, and
reading a member back with its links. Resolution to the CRM is in ``resolution.py``.

The interface other domains use:
- ``upsert_members(session, workspace=, members=, now=)``: store records (emails, platform ids,
  handles), merge the ones of one person, resolve them; answers counts, merges and the member id
  of every record.
- ``ensure_members_for_emails`` / ``ensure_platform_members``: the member of each email, or of each
  platform user id (with its handle, no email needed), created when none is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.exceptions import NotFound
from app.members import identities, repository
from app.members.emails import registrable_domain
from app.members.identities import Group, Record
from app.members.repository import Key
from app.members.resolution import (
    Resolution,
    resolve_for_crm_changes,
    resolve_members,
    resolve_new_members,
    staff_email,
)
from app.members.schemas import (
    IdentityOut,
    MemberIn,
    MemberLinkOut,
    MemberListItem,
    MemberOut,
    MemberPage,
    MergeOut,
    PlatformIdentityIn,
)
from app.models import Account, IdentityKind, Member, Workspace
from app.privacy import service as privacy

__all__ = [
    "Resolution",
    "UpsertResult",
    "describe_member",
    "ensure_members_for_emails",
    "ensure_platform_members",
    "resolve_for_crm_changes",
    "resolve_members",
    "upsert_members",
]


@dataclass(frozen=True)
class UpsertResult:
    records: int
    suppressed: int  # records of erased people, not stored
    members: int
    created: int
    matched: int
    merges: list[MergeOut]
    member_ids: dict[str, int]  # every record's external_id -> the member it now is


@dataclass
class _Plan:
    """One group of records, with the member they become."""

    group: Group
    survivor: int | None
    survivor_external_id: str
    losers: list[int]
    new_aliases: set[str]  # ids of records never stored that become this member


def upsert_members(
    session: Session, *, workspace: Workspace, members: list[MemberIn], now: datetime
) -> UpsertResult:
    """Create or update members; records sharing an email or platform user id become one member.

    A record sent again replaces the emails, user ids and handles it brought before. A bad email
    answers 422 naming every bad row, with nothing written."""
    records = identities.records_of(members)
    erased = privacy.erased_records(session, workspace, members)
    records = [r for r in records if r.row not in erased]
    by_external_id = repository.member_ids_by_external_id(
        session, workspace.id, {r.external_id for r in records}
    )
    owners = repository.owners(session, workspace.id, {k for r in records for k in r.proofs()})
    groups = identities.group(records, by_external_id, owners)
    stored = repository.members_by_id(session, {m for g in groups for m in g.member_ids})
    plans = [_plan(g, stored, by_external_id) for g in groups]
    created = _create_members(session, workspace, plans, now)
    for plan in plans:
        _update_fields(stored, plan)
    merges = _merge(session, workspace, plans, stored)
    survivors = {plan.survivor_external_id: _survivor(plan) for plan in plans}
    _replace_identities(session, workspace, plans)
    resolution = resolve_members(session, workspace=workspace, member_ids=survivors.values())
    return UpsertResult(
        records=len(members),
        suppressed=len(erased),
        members=len(plans),
        created=created,
        matched=resolution.matched,
        merges=merges,
        member_ids={r.external_id: _survivor(p) for p in plans for r in p.group.records},
    )


def _survivor(plan: _Plan) -> int:
    assert plan.survivor is not None
    return plan.survivor


def _plan(found: Group, stored: dict[int, Member], by_external_id: dict[str, int]) -> _Plan:
    survivor = found.member_ids[0] if found.member_ids else None
    survivor_external_id = (
        found.records[0].external_id if survivor is None else stored[survivor].external_id
    )
    new_aliases = {
        r.external_id
        for r in found.records
        if r.external_id != survivor_external_id and r.external_id not in by_external_id
    }
    return _Plan(found, survivor, survivor_external_id, found.member_ids[1:], new_aliases)


def _create_members(
    session: Session, workspace: Workspace, plans: list[_Plan], now: datetime
) -> int:
    new = [p for p in plans if p.survivor is None]
    if not new:
        return 0
    rows = [
        {
            "workspace_id": workspace.id,
            "external_id": p.survivor_external_id,
            "is_staff": False,
            "created_at": now,
            **_fields(p, None),
        }
        for p in new
    ]
    repository.insert_members(session, rows)
    ids = repository.member_ids_by_external_id(
        session, workspace.id, (p.survivor_external_id for p in new)
    )
    for plan in new:
        plan.survivor = ids[plan.survivor_external_id]
    return len(new)


def _fields(plan: _Plan, member: Member | None) -> dict[str, Any]:
    """Name, source and properties of the member: its own record decides; other records fill in."""
    own = [r for r in plan.group.records if r.external_id == plan.survivor_external_id]
    others = [r for r in plan.group.records if r.external_id != plan.survivor_external_id]
    properties: dict[str, Any] = {} if own or member is None else dict(member.properties)
    for record in others + own:
        properties.update(record.member.properties)
    names = [r.member.name for r in others if r.member.name]
    sources = [r.member.source for r in own + others if r.member.source]
    if own:
        name = own[-1].member.name
    else:
        name = (member.name if member else None) or (names[0] if names else None)
    source = sources[0] if sources else (member.source if member else None)
    return {"name": name, "source": source, "properties": properties}


def _update_fields(stored: dict[int, Member], plan: _Plan) -> None:
    member = stored.get(_survivor(plan))
    if member is None:
        return
    for name, value in _fields(plan, member).items():
        setattr(member, name, value)


def _merge(
    session: Session, workspace: Workspace, plans: list[_Plan], stored: dict[int, Member]
) -> list[MergeOut]:
    """Fold the losers into each survivor; keep every merged record's id as an alias."""
    merges = []
    aliases: list[dict[str, Any]] = []
    session.flush()
    for plan in plans:
        survivor = _survivor(plan)
        if plan.losers:
            repository.merge_into(session, workspace.id, survivor, plan.losers)
        merged = {stored[loser].external_id for loser in plan.losers} | plan.new_aliases
        aliases += [
            repository.alias_row(workspace.id, survivor, external_id)
            for external_id in sorted(merged)
        ]
        if merged:
            merges.append(
                MergeOut(
                    member=plan.survivor_external_id,
                    merged=sorted(merged),
                    shared=sorted(identities.describe(k) for k in plan.group.shared),
                )
            )
    repository.insert_identities(session, aliases)
    return merges


def _replace_identities(session: Session, workspace: Workspace, plans: list[_Plan]) -> None:
    """Each record's identities replace the ones it brought before; a handle someone else had
    moves to its new claimant."""
    repository.delete_claimed_identities(
        session, workspace.id, (r.external_id for p in plans for r in p.group.records)
    )
    wanted: dict[Key, tuple[int, Record]] = {}
    for plan in plans:
        for record in plan.group.records:
            for key in record.keys:
                wanted.setdefault(key, (_survivor(plan), record))
    owners = repository.owners(session, workspace.id, wanted)
    moved = [k for k, owner in owners.items() if owner != wanted[k][0]]
    repository.delete_identities(session, workspace.id, moved)
    rows = [
        {
            "workspace_id": workspace.id,
            "member_id": member_id,
            "kind": key[0],
            "platform": key[1],
            "value": key[2],
            "raw_value": record.keys[key],
            "claimed_by": record.external_id,
            "registrable_domain": registrable_domain(key[2])
            if key[0] == IdentityKind.EMAIL
            else None,
        }
        for key, (member_id, record) in wanted.items()
        if key not in owners or key in moved
    ]
    repository.insert_identities(session, rows)


def ensure_members_for_emails(
    session: Session, *, workspace: Workspace, emails: set[str], now: datetime
) -> tuple[dict[str, int], int]:
    """Member ids for these normalized emails, creating a member (keyed by the email) where none
    is (an erased person's email gets none); answers the ids and how many members were created."""
    known = repository.member_ids_by_email(session, workspace.id, emails)
    missing = emails - known.keys()
    if not missing:
        return known, 0
    created = create_email_members(session, workspace=workspace, emails=missing, now=now)
    return {**known, **created.member_ids}, created.created


@dataclass(frozen=True)
class Created:
    member_ids: dict[str, int]  # email -> its member
    created: int


def create_email_members(
    session: Session, *, workspace: Workspace, emails: Iterable[str], now: datetime
) -> Created:
    """A member for each of these normalized emails that no member has yet, keyed by the email,
    written set-based and resolved; an erased person's email gets none.

    An email that is already some member's id (its record no longer brings that email) joins
    that member, as ``upsert_members`` does."""
    wanted = set(emails) - privacy.suppressed(session, workspace, privacy.EMAIL, emails)
    taken = repository.member_ids_by_external_id(session, workspace.id, wanted)
    created = 0
    if taken:
        result = upsert_members(
            session,
            workspace=workspace,
            members=[MemberIn(external_id=email, emails=[email]) for email in sorted(taken)],
            now=now,
        )
        created += result.created
    new = sorted(wanted - taken.keys())
    ids = repository.insert_email_members(
        session, workspace.id, [(email, registrable_domain(email)) for email in new], now=now
    )
    resolve_new_members(session, workspace=workspace, ids=ids)
    found = repository.member_ids_by_email(session, workspace.id, wanted)
    return Created(member_ids=found, created=created + len(new))


def ensure_platform_members(
    session: Session,
    *,
    workspace: Workspace,
    identities_: Iterable[PlatformIdentityIn],
    now: datetime,
) -> tuple[dict[tuple[str, str], int], int]:
    """Member ids for these platform users, by (platform, user_id); a user no member has yet
    becomes a member keyed ``platform:user_id`` with its handle and no email. Answers the ids and
    how many members were created."""
    wanted = {(i.platform, i.user_id): i for i in identities_}
    keys = {(IdentityKind.USER_ID.value, p, u): (p, u) for p, u in wanted}
    known = {
        keys[key]: member_id
        for key, member_id in repository.owners(session, workspace.id, keys).items()
    }
    missing = [wanted[pair] for pair in sorted(wanted.keys() - known.keys())]
    if not missing:
        return known, 0
    result = upsert_members(
        session,
        workspace=workspace,
        members=[
            MemberIn(external_id=f"{i.platform}:{i.user_id}", source=i.platform, identities=[i])
            for i in missing
        ],
        now=now,
    )
    for identity in missing:
        member_id = result.member_ids.get(f"{identity.platform}:{identity.user_id}")
        if member_id is not None:  # else an erased person: nothing is stored
            known[(identity.platform, identity.user_id)] = member_id
    return known, result.created


def _single_account(
    via_contacts: list[str], by_domain: list[tuple[str, str]]
) -> tuple[str | None, str | None]:
    """The member's account: its contacts' one account, else its account link's (by domain or by
    hand). Contacts of two or more accounts give it none (ruling E), though it still reaches each
    through its contacts."""
    if len(via_contacts) > 1:
        return None, "several_accounts"
    if via_contacts:
        return via_contacts[0], "contact"
    if by_domain:
        return by_domain[0]
    return None, None


def describe_member(session: Session, *, workspace: Workspace, external_id: str) -> MemberOut:
    member = repository.member_by_external_id(session, workspace.id, external_id)
    if member is None:
        raise NotFound(f"member '{external_id}' not found")
    owned = repository.identities_of_members(session, workspace.id, [member.id])
    emails = sorted(i.value for i in owned if i.kind == IdentityKind.EMAIL)
    links = repository.links_of_member(session, member.id)
    via_contacts = repository.accounts_of_linked_contacts(session, member.id)
    by_domain = [(target, method) for _, kind, target, method, _ in links if kind == "account"]
    account, account_method = _single_account(via_contacts, by_domain)
    staff = staff_email(emails, frozenset(workspace.staff_domains))
    return MemberOut(
        external_id=member.external_id,
        source=member.source,
        name=member.name,
        emails=emails,
        identities=[
            IdentityOut(kind=i.kind, platform=i.platform, value=i.value)
            for i in owned
            if i.kind != IdentityKind.EMAIL
        ],
        is_staff=member.is_staff,
        staff_reason=f"{staff[0]} is on the staff domain {staff[1]}"
        if member.is_staff and staff
        else None,
        links=[_link_out(link) for link in links],
        account=account,
        account_method=account_method,
    )


def matched_state(links: list[tuple[int, str, str, str, Any]]) -> str:
    kinds = {kind for _, kind, _, _, _ in links}
    if "contact" in kinds:
        return "contact"
    if "lead" in kinds:
        return "lead_only"
    return "account_only" if kinds else "unmatched"


def list_members(
    session: Session,
    *,
    workspace: Workspace,
    cursor: int,
    limit: int,
    matched: bool | None,
    account: str | None,
    source: str | None,
    method: str | None,
) -> MemberPage:
    account_ids: list[int] = []
    if account is not None:
        account_ids = repository.crm_record_ids(session, Account, workspace.id, account, None)
        if not account_ids:
            return MemberPage(items=[], next_cursor=None)
    members = repository.member_page(
        session,
        workspace.id,
        after=cursor,
        limit=limit,
        matched=matched,
        account_ids=account_ids,
        source=source,
        method=method,
    )
    ids = [m.id for m in members]
    emails = repository.emails_of_members(session, workspace.id, ids)
    links = repository.links_of_members(session, ids)
    items = [
        MemberListItem(
            external_id=m.external_id,
            source=m.source,
            name=m.name,
            emails=sorted(emails.get(m.id, [])),
            is_staff=m.is_staff,
            matched=matched_state(links.get(m.id, [])),
            links=[_link_out(link) for link in links.get(m.id, [])],
        )
        for m in members
    ]
    return MemberPage(items=items, next_cursor=str(ids[-1]) if len(ids) == limit else None)


def _link_out(link: tuple[int, str, str, str, Any]) -> MemberLinkOut:
    id_, kind, target, method, confidence = link
    return MemberLinkOut(
        id=id_, target=kind, external_id=target, method=method, confidence=float(confidence)
    )
