"""Member resolution: who in the CRM each community member is (DESIGN.md section 2).

A member is linked by normalized email (every email it has) to contacts and to leads; a converted
lead leads on to its converted contact. A member with no contact is linked to an account by email
domain, only when exactly one account has that domain and it is not free mail; a subdomain with no
account of its own (``jo@eu.acme.com``) falls back to its registrable domain (``acme.com``). Each
link records its method and a confidence. A member with a link made by hand keeps only its manual
links; a link removed by hand is never made again.

Only the CRM records the members' emails and domains name are read (indexed lookups), so resolving
a handful of members costs a handful of queries whatever the size of the workspace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from app.members import repository
from app.members.emails import email_domain, is_free_mail, on_domain, parent_domain
from app.models import Contact, Lead, LinkMethod, Workspace

CONFIDENCE = {
    LinkMethod.MANUAL: Decimal("1"),
    LinkMethod.EMAIL: Decimal("1"),
    LinkMethod.CONVERTED_LEAD: Decimal("0.95"),
    LinkMethod.DOMAIN: Decimal("0.7"),
    LinkMethod.PARENT_DOMAIN: Decimal("0.6"),
}


@dataclass(frozen=True)
class Resolution:
    members: int
    matched: int


@dataclass(frozen=True)
class CrmIndex:
    """The CRM records a set of emails names: contacts and leads by email, accounts by domain."""

    contacts: dict[str, list[int]]
    leads: dict[str, list[tuple[int, int | None]]]
    accounts: dict[str, list[int]]

    @classmethod
    def of(cls, session: Session, workspace_id: int, emails: set[str]) -> CrmIndex:
        domains = {email_domain(e) for e in emails}
        domains |= {p for d in domains if (p := parent_domain(d))}
        return cls(
            contacts=repository.contacts_by_email(session, workspace_id, emails),
            leads=repository.leads_by_email(session, workspace_id, emails),
            accounts=repository.accounts_by_domain(session, workspace_id, domains),
        )


def _by_email(
    emails: list[str], crm: CrmIndex, blocked: set[tuple[str, int]]
) -> tuple[dict[int, LinkMethod], set[int]]:
    contacts: dict[int, LinkMethod] = {}
    leads: set[int] = set()
    for email in emails:
        for contact_id in crm.contacts.get(email, ()):
            contacts[contact_id] = LinkMethod.EMAIL
        for lead_id, converted_contact_id in crm.leads.get(email, ()):
            leads.add(lead_id)
            if converted_contact_id is not None:
                contacts.setdefault(converted_contact_id, LinkMethod.CONVERTED_LEAD)
    contacts = {c: m for c, m in contacts.items() if ("contact", c) not in blocked}
    return contacts, {lead for lead in leads if ("lead", lead) not in blocked}


def _by_domain(
    emails: list[str], crm: CrmIndex, free_mail: frozenset[str], blocked: set[tuple[str, int]]
) -> tuple[int, LinkMethod] | None:
    """The one account the emails' domains name; a subdomain with no account of its own falls
    back to its registrable domain."""
    exact: set[int] = set()
    above: set[int] = set()
    for domain in {email_domain(e) for e in emails}:
        if is_free_mail(domain, free_mail):
            continue
        if domain in crm.accounts:
            exact.update(crm.accounts[domain])
        elif parent := parent_domain(domain):
            above.update(crm.accounts.get(parent, ()))
    candidates, method = (exact, LinkMethod.DOMAIN) if exact else (above, LinkMethod.PARENT_DOMAIN)
    candidates = {a for a in candidates if ("account", a) not in blocked}
    return (candidates.pop(), method) if len(candidates) == 1 else None


def _links_of_member(
    workspace_id: int,
    member_id: int,
    emails: list[str],
    *,
    crm: CrmIndex,
    free_mail: frozenset[str],
    blocked: set[tuple[str, int]],
) -> list[dict[str, object]]:
    contacts, leads = _by_email(emails, crm, blocked)
    links = [
        _link(workspace_id, member_id, method, contact_id=contact_id)
        for contact_id, method in sorted(contacts.items())
    ]
    links += [
        _link(workspace_id, member_id, LinkMethod.EMAIL, lead_id=lid) for lid in sorted(leads)
    ]
    if not contacts and (account := _by_domain(emails, crm, free_mail, blocked)):
        links.append(_link(workspace_id, member_id, account[1], account_id=account[0]))
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
        "confidence": CONFIDENCE[method],
    }


def staff_email(emails: Iterable[str], staff_domains: frozenset[str]) -> tuple[str, str] | None:
    """The first email on a staff domain (or a subdomain of one), with that domain."""
    for email in sorted(emails):
        if domain := on_domain(email_domain(email), staff_domains):
            return email, domain
    return None


def resolve_members(
    session: Session, *, workspace: Workspace, member_ids: Iterable[int] | None = None
) -> Resolution:
    """Recompute the automatic links and the staff flag of the given members (default: all)."""
    ids = (
        repository.all_member_ids(session, workspace.id) if member_ids is None else list(member_ids)
    )
    matched = 0
    for chunk in repository.chunks(ids):
        matched += _resolve_chunk(session, workspace, chunk)
    session.flush()
    return Resolution(members=len(set(ids)), matched=matched)


def _resolve_chunk(session: Session, workspace: Workspace, ids: list[int]) -> int:
    emails = repository.emails_of_members(session, workspace.id, ids)
    crm = CrmIndex.of(session, workspace.id, {e for found in emails.values() for e in found})
    manual = repository.manual_links(session, workspace.id, ids)
    blocked = repository.blocked_targets(session, workspace.id, ids)
    free_mail = frozenset(workspace.free_mail_domains)
    staff_domains = frozenset(workspace.staff_domains)
    links: list[dict[str, object]] = []
    matched = 0
    staff: set[int] = set()
    for member_id in ids:
        member_emails = emails.get(member_id, [])
        member_links = (
            []
            if manual.get(member_id)
            else _links_of_member(
                workspace.id,
                member_id,
                member_emails,
                crm=crm,
                free_mail=free_mail,
                blocked=blocked.get(member_id, set()),
            )
        )
        matched += bool(member_links or manual.get(member_id))
        links += member_links
        if staff_email(member_emails, staff_domains):
            staff.add(member_id)
    repository.replace_automatic_links(session, workspace.id, ids, links)
    repository.set_staff(session, ids, staff)
    return matched


def resolve_new_members(session: Session, *, workspace: Workspace, ids: dict[str, int]) -> None:
    """Resolve members just created, each with one email (``ids``: email -> member): only those
    whose email or domain names a CRM record or a staff domain can get a link or the staff flag,
    so only they go through ``resolve_members``; the others stay as created (no link, no staff)."""
    crm = CrmIndex.of(session, workspace.id, set(ids))
    staff_domains = frozenset(workspace.staff_domains)
    candidates = [
        member_id
        for email, member_id in ids.items()
        if email in crm.contacts
        or email in crm.leads
        or _names_an_account(email, crm)
        or staff_email([email], staff_domains)
    ]
    resolve_members(session, workspace=workspace, member_ids=candidates)


def _names_an_account(email: str, crm: CrmIndex) -> bool:
    domain = email_domain(email)
    return domain in crm.accounts or parent_domain(domain) in crm.accounts


def resolve_for_crm_changes(
    session: Session,
    *,
    workspace: Workspace,
    contact_ids: Iterable[int] = (),
    lead_ids: Iterable[int] = (),
    account_ids: Iterable[int] = (),
) -> Resolution:
    """Resolve again only the members these CRM records concern: those linked to them, those
    owning their emails, and those with an email under their accounts' domains."""
    contact_ids, lead_ids, account_ids = list(contact_ids), list(lead_ids), list(account_ids)
    members = repository.members_linked_to(
        session, contact_ids=contact_ids, lead_ids=lead_ids, account_ids=account_ids
    )
    emails = repository.emails_of_people(session, Contact, contact_ids)
    emails |= repository.emails_of_people(session, Lead, lead_ids)
    domains = {parent_domain(d) or d for d in repository.domains_of_accounts(session, account_ids)}
    members |= repository.members_with_emails_or_domains(
        session, workspace.id, emails=emails, domains=domains
    )
    return resolve_members(session, workspace=workspace, member_ids=sorted(members))
