"""Member resolution: who in the CRM each community member is (DESIGN.md section 2).

A member is linked by normalized email to contacts and to leads; a converted lead leads on to its
converted contact. A member with no contact is linked to an account by email domain, only when
exactly one account has that domain and it is not a free-mail domain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.exceptions import InvalidInput, NotFound
from app.members import repository
from app.members.emails import email_domain, normalize_email
from app.members.schemas import MemberIn, MemberLinkOut, MemberOut
from app.models import LinkMethod, Member, Workspace
from app.upsert import upsert


@dataclass(frozen=True)
class Resolution:
    members: int
    matched: int


def _links_of_member(
    member_id: int,
    emails: list[str],
    *,
    contacts: dict[str, list[int]],
    leads: dict[str, list[tuple[int, int | None]]],
    accounts: dict[str, list[int]],
    free_mail: set[str],
    workspace_id: int,
) -> list[dict[str, object]]:
    contact_methods: dict[int, LinkMethod] = {}
    lead_ids: set[int] = set()
    for email in emails:
        for contact_id in contacts.get(email, ()):
            contact_methods[contact_id] = LinkMethod.EMAIL
        for lead_id, converted_contact_id in leads.get(email, ()):
            lead_ids.add(lead_id)
            if converted_contact_id is not None:
                contact_methods.setdefault(converted_contact_id, LinkMethod.CONVERTED_LEAD)
    links: list[dict[str, object]] = [
        _link(workspace_id, member_id, method, contact_id=contact_id)
        for contact_id, method in sorted(contact_methods.items())
    ]
    links += [
        _link(workspace_id, member_id, LinkMethod.EMAIL, lead_id=lid) for lid in sorted(lead_ids)
    ]
    if not contact_methods:
        candidates = {
            account_id
            for email in emails
            if (domain := email_domain(email)) not in free_mail
            for account_id in accounts.get(domain, ())
        }
        if len(candidates) == 1:
            links.append(
                _link(workspace_id, member_id, LinkMethod.DOMAIN, account_id=candidates.pop())
            )
    return links


def _link(
    workspace_id: int,
    member_id: int,
    method: LinkMethod,
    *,
    contact_id: int | None = None,
    lead_id: int | None = None,
    account_id: int | None = None,
) -> dict[str, object]:
    return {
        "workspace_id": workspace_id,
        "member_id": member_id,
        "contact_id": contact_id,
        "lead_id": lead_id,
        "account_id": account_id,
        "method": method.value,
    }


def resolve_members(
    session: Session, *, workspace: Workspace, member_ids: Iterable[int] | None = None
) -> Resolution:
    """Recompute the automatic links and the staff flag of the given members (default: all)."""
    ids = (
        repository.all_member_ids(session, workspace.id) if member_ids is None else list(member_ids)
    )
    emails = repository.emails_of_members(session, workspace.id, ids)
    contacts = repository.contacts_by_email(session, workspace.id)
    leads = repository.leads_by_email(session, workspace.id)
    accounts = repository.accounts_by_domain(session, workspace.id)
    free_mail = set(workspace.free_mail_domains)
    staff_domains = set(workspace.staff_domains)
    links: list[dict[str, object]] = []
    matched = 0
    staff: set[int] = set()
    for member_id in ids:
        member_emails = emails.get(member_id, [])
        member_links = _links_of_member(
            member_id,
            member_emails,
            contacts=contacts,
            leads=leads,
            accounts=accounts,
            free_mail=free_mail,
            workspace_id=workspace.id,
        )
        matched += bool(member_links)
        links += member_links
        if any(email_domain(e) in staff_domains for e in member_emails):
            staff.add(member_id)
    repository.replace_automatic_links(session, workspace.id, ids, links)
    repository.set_staff(session, ids, staff)
    session.flush()
    return Resolution(members=len(ids), matched=matched)


def upsert_members(
    session: Session, *, workspace: Workspace, members: list[MemberIn], now: datetime
) -> Resolution:
    """Create or update members with their emails; an email owned by another member is a 422."""
    _check_unique_emails(session, workspace.id, members)
    upsert(
        session,
        Member,
        [
            {
                "workspace_id": workspace.id,
                "external_id": m.external_id,
                "name": m.name,
                "properties": m.properties,
                "is_staff": False,
                "created_at": now,
            }
            for m in members
        ],
        key=("workspace_id", "external_id"),
        keep=("created_at", "is_staff"),
    )
    ids = repository.member_ids_by_external_id(
        session, workspace.id, (m.external_id for m in members)
    )
    identities = [
        {
            "workspace_id": workspace.id,
            "member_id": ids[m.external_id],
            "kind": repository.EMAIL,
            "value": normalize_email(raw),
            "raw_value": raw.strip(),
        }
        for m in members
        for raw in dict.fromkeys(m.emails)
    ]
    repository.replace_identities(session, workspace.id, list(ids.values()), identities)
    return resolve_members(session, workspace=workspace, member_ids=ids.values())


def _check_unique_emails(session: Session, workspace_id: int, members: list[MemberIn]) -> None:
    given = {email for m in members for raw in m.emails if (email := normalize_email(raw))}
    owners = repository.member_external_ids_by_email(session, workspace_id, given)
    claimed: dict[str, str] = {}
    for row, member in enumerate(members):
        for position, raw in enumerate(member.emails):
            email = normalize_email(raw)
            loc = ("body", "members", row, "emails", position)
            if email is None:
                raise InvalidInput.at(loc, f"'{raw}' is not an email address")
            owner = claimed.setdefault(email, owners.get(email, member.external_id))
            if owner != member.external_id:
                raise InvalidInput.at(loc, f"{email} already belongs to member {owner}")


def ensure_members_for_emails(
    session: Session, *, workspace: Workspace, emails: set[str], now: datetime
) -> tuple[dict[str, int], int]:
    """Member ids for these normalized emails, creating a member (keyed by the email) where none
    is; answers the ids and how many members were created."""
    known = repository.member_ids_by_email(session, workspace.id, emails)
    missing = sorted(emails - known.keys())
    if missing:
        upsert_members(
            session,
            workspace=workspace,
            members=[MemberIn(external_id=email, emails=[email]) for email in missing],
            now=now,
        )
        known.update(repository.member_ids_by_email(session, workspace.id, missing))
    return {email: known[email] for email in emails}, len(missing)


def _single_account(via_contacts: list[str], by_domain: list[str]) -> tuple[str | None, str | None]:
    """The member's account: its contacts' one account, else its domain's. Contacts of two or
    more accounts give it none (ruling E), though it still reaches each through its contacts."""
    if len(via_contacts) > 1:
        return None, "several_accounts"
    if via_contacts:
        return via_contacts[0], "contact"
    if by_domain:
        return by_domain[0], "domain"
    return None, None


def describe_member(session: Session, *, workspace_id: int, external_id: str) -> MemberOut:
    member = repository.member_by_external_id(session, workspace_id, external_id)
    if member is None:
        raise NotFound(f"member '{external_id}' not found")
    emails = repository.emails_of_members(session, workspace_id, [member.id]).get(member.id, [])
    links = repository.links_of_member(session, member.id)
    via_contacts = repository.accounts_of_linked_contacts(session, member.id)
    by_domain = [target for kind, target, _ in links if kind == "account"]
    account, account_method = _single_account(via_contacts, by_domain)
    return MemberOut(
        external_id=member.external_id,
        name=member.name,
        emails=sorted(emails),
        is_staff=member.is_staff,
        links=[
            MemberLinkOut(target=kind, external_id=target, method=method)
            for kind, target, method in links
        ],
        account=account,
        account_method=account_method,
    )
