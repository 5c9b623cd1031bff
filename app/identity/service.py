"""How well members resolve, and who the unmatched ones may be.

Suggestions look, for each unmatched member, at the contacts of the accounts its email domains
(or their registrable domains) name, and compare names and email local parts: the same name is
a strong hint, a close spelling (difflib's ratio of at least 0.85) a weaker one. Each comes with
the one call that confirms it (a manual link).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from difflib import SequenceMatcher

from sqlalchemy.orm import Session

from app.identity import repository
from app.identity.schemas import (
    Candidate,
    CountByMethod,
    CountBySource,
    IdentityStats,
    Suggestion,
    SuggestionPage,
)
from app.members import repository as members_repository
from app.members.emails import email_domain, is_free_mail, parent_domain
from app.models import Contact, Member, Workspace

CLOSE = 0.85
SAME_NAME = 0.9


def stats(session: Session, *, workspace: Workspace) -> IdentityStats:
    counts: dict[str, int] = defaultdict(int)
    sources: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    staff = non_staff = non_staff_matched = 0
    for source, is_staff, category, n in repository.categories(session, workspace.id):
        counts[category] += n
        sources[source][0] += n
        sources[source][1] += n if category != "unmatched" else 0
        staff += n if is_staff else 0
        if not is_staff:
            non_staff += n
            non_staff_matched += n if category != "unmatched" else 0
    return IdentityStats(
        members=sum(counts.values()),
        matched_to_contact=counts["contact"],
        matched_to_lead_only=counts["lead_only"],
        matched_to_account_only=counts["account_only"],
        unmatched=counts["unmatched"],
        staff=staff,
        match_rate=round(non_staff_matched / non_staff, 4) if non_staff else 0.0,
        by_source=[
            CountBySource(source=source, members=n, matched=m)
            for source, (n, m) in sorted(
                sources.items(), key=lambda kv: (kv[0] is None, kv[0] or "")
            )
        ],
        by_method=[
            CountByMethod(method=method, members=n)
            for method, n in repository.members_by_method(session, workspace.id)
        ],
    )


def _plain(text: str) -> str:
    """Lower-cased, accents and punctuation dropped, spaces collapsed: "Zoë O'Neil" -> "zoe oneil"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c for c in decomposed if c.isalnum() or c.isspace())
    return " ".join(kept.split())


def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def _candidate(
    member: Member, emails: list[str], contact: Contact, account: str, domain: str
) -> Candidate | None:
    reasons: list[tuple[float, str]] = []
    where = f"at account {account} ({domain})"
    if member.name and contact.name:
        ratio = _similarity(_plain(member.name), _plain(contact.name))
        if ratio == 1.0:
            reasons.append((SAME_NAME, f"same name as contact '{contact.name}' {where}"))
        elif ratio >= CLOSE:
            reasons.append(
                (
                    round(0.8 * ratio, 2),
                    f"name '{member.name}' close to contact '{contact.name}' {where}",
                )
            )
    if contact.email_normalized:
        theirs = contact.email_normalized.split("@")[0]
        for email in emails:
            ratio = _similarity(_plain(email.split("@")[0]), _plain(theirs))
            if ratio >= CLOSE:
                reasons.append(
                    (
                        round(0.75 * ratio, 2),
                        f"email {email} close to contact email {contact.email_normalized} {where}",
                    )
                )
    if not reasons:
        return None
    confidence, reason = max(reasons)
    return Candidate(
        target="contact",
        external_id=contact.external_id,
        source=contact.source,
        name=contact.name,
        account=account,
        reason=reason,
        confidence=confidence,
        confirm={
            "method": "POST",
            "path": f"/v1/members/{member.external_id}/links",
            "body": {
                "target": "contact",
                "external_id": contact.external_id,
                "source": contact.source,
            },
        },
    )


def suggestions(
    session: Session, *, workspace: Workspace, cursor: int, limit: int
) -> SuggestionPage:
    """Unmatched members (``limit`` of them per page, scanned in id order) with likely matches."""
    members = repository.unmatched_members(session, workspace.id, after=cursor, limit=limit)
    ids = [m.id for m in members]
    emails = members_repository.emails_of_members(session, workspace.id, ids)
    free_mail = frozenset(workspace.free_mail_domains)
    domains_of: dict[int, set[str]] = {}
    for member in members:
        domains = {
            d
            for e in emails.get(member.id, [])
            if not is_free_mail(d := email_domain(e), free_mail)
        }
        domains_of[member.id] = domains | {p for d in domains if (p := parent_domain(d))}
    accounts = members_repository.accounts_by_domain(
        session, workspace.id, {d for found in domains_of.values() for d in found}
    )
    contacts = repository.contacts_of_accounts(
        session, sorted({a for found in accounts.values() for a in found})
    )
    by_domain: dict[str, list[tuple[Contact, str, str]]] = defaultdict(list)
    for contact, account, domain in contacts:
        by_domain[domain].append((contact, account, domain))
    items = []
    for member in members:
        member_emails = sorted(emails.get(member.id, []))
        found = [
            candidate
            for domain in sorted(domains_of[member.id])
            for contact, account, account_domain in by_domain.get(domain, [])
            if (candidate := _candidate(member, member_emails, contact, account, account_domain))
        ]
        if found:
            found.sort(key=lambda c: (-c.confidence, c.external_id))
            items.append(
                Suggestion(
                    member=member.external_id,
                    name=member.name,
                    emails=member_emails,
                    candidates=found,
                )
            )
    return SuggestionPage(items=items, next_cursor=str(ids[-1]) if len(ids) == limit else None)
