"""Erasure (GDPR Art. 17) and the suppression list that keeps erased people out.

Erasing an email (or a member) removes the members that have it, all their identities, links and
touchpoints, the CRM contacts and leads with any of their emails (with their touchpoints and
contact roles), and the credits of all those touchpoints from every attribution run, frozen runs
included; each amended run gets its per-opportunity sums and report rollups recomputed from the
credits left and a record of the amendment. The person's emails, platform user ids and member ids
are kept only as HMAC-SHA256 under a per-workspace secret salt, so that members, touchpoints, CRM
imports, syncs and webhooks can recognise them and store nothing. Answers kept for Idempotency-Key
replays, uploads of finished imports and import rejections quoting the person are dropped too. The
audit record counts what was removed and holds no personal data.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from app.crm.schemas import CrmImport
from app.exceptions import InvalidInput, NotFound
from app.members import repository as members
from app.members.emails import normalize_email
from app.members.schemas import MemberIn
from app.models import Contact, Erasure, IdentityKind, Lead, Member, Touchpoint, Workspace
from app.privacy import repository
from app.privacy.schemas import ErasureOut, ErasurePage, ErasureRequest
from app.reports import rollups as report_rollups
from app.touchpoints.schemas import TouchpointIn

EMAIL = "email"
MEMBER = "member"
USER_ID = "user_id"
CONTACT = "contact"  # a CRM contact or lead, as "source:external_id"
LEAD = "lead"


def subject_hash(workspace: Workspace, kind: str, value: str) -> str:
    message = f"{kind}:{value}".encode()
    return hmac.new(workspace.privacy_salt.encode(), message, hashlib.sha256).hexdigest()


def suppressed(
    session: Session, workspace: Workspace, kind: str, values: Iterable[str]
) -> set[str]:
    """The values (normalized emails, ``platform:user_id``, member ids) that were erased."""
    by_hash = {subject_hash(workspace, kind, v): v for v in set(values)}
    if not by_hash:
        return set()
    return {by_hash[h] for h in repository.suppressed_hashes(session, workspace.id, by_hash)}


def erased_emails(session: Session, workspace_id: int, emails: Iterable[str | None]) -> set[str]:
    """The normalized emails among these that were erased (for writers that know only the id)."""
    normalized = {e for raw in emails if (e := normalize_email(raw))}
    if not normalized:
        return set()
    return suppressed(session, session.get_one(Workspace, workspace_id), EMAIL, normalized)


def is_suppressed(session: Session, workspace: Workspace, email: str | None) -> bool:
    normalized = normalize_email(email)
    return normalized is not None and bool(suppressed(session, workspace, EMAIL, [normalized]))


def erased_records(session: Session, workspace: Workspace, records: list[MemberIn]) -> set[int]:
    """Positions of the member records that name an erased person."""
    emails = suppressed(
        session,
        workspace,
        EMAIL,
        (e for r in records for raw in r.emails if (e := normalize_email(raw))),
    )
    ids = suppressed(session, workspace, MEMBER, (r.external_id for r in records))
    users = suppressed(
        session,
        workspace,
        USER_ID,
        (f"{i.platform}:{i.user_id}" for r in records for i in r.identities),
    )
    return {
        n
        for n, r in enumerate(records)
        if r.external_id in ids
        or any(normalize_email(raw) in emails for raw in r.emails)
        or any(f"{i.platform}:{i.user_id}" in users for i in r.identities)
    }


def erased_touches(session: Session, workspace: Workspace, touches: list[TouchpointIn]) -> set[int]:
    """Positions of the touches of an erased person: by member email, member id, or CRM record."""
    keys = {n: _person_of(t) for n, t in enumerate(touches)}
    erased: set[tuple[str, str]] = set()
    for kind in (EMAIL, MEMBER, CONTACT, LEAD):
        values = {key[1] for key in keys.values() if key is not None and key[0] == kind}
        erased |= {(kind, value) for value in suppressed(session, workspace, kind, values)}
    return {n for n, key in keys.items() if key in erased}


def _person_of(touch: TouchpointIn) -> tuple[str, str] | None:
    if touch.person is not None:
        return (
            touch.person.type,
            f"{touch.person.source or touch.source}:{touch.person.external_id}",
        )
    if touch.member_external_id is not None:
        return (MEMBER, touch.member_external_id)
    email = normalize_email(touch.member_email)
    return None if email is None else (EMAIL, email)


def without_erased_people(session: Session, workspace: Workspace, body: CrmImport) -> CrmImport:
    """The import without the contacts and leads of erased people, nor what refers to them."""
    emails = suppressed(
        session,
        workspace,
        EMAIL,
        (
            e
            for email in [*(c.email for c in body.contacts), *(lead.email for lead in body.leads)]
            if (e := normalize_email(email))
        ),
    )
    contacts_out = suppressed(
        session, workspace, CONTACT, (f"{body.source}:{c.external_id}" for c in body.contacts)
    )
    leads_out = suppressed(
        session, workspace, LEAD, (f"{body.source}:{lead.external_id}" for lead in body.leads)
    )
    if not emails and not contacts_out and not leads_out:
        return body
    dropped = {
        c.external_id
        for c in body.contacts
        if normalize_email(c.email) in emails or f"{body.source}:{c.external_id}" in contacts_out
    }
    dropped_leads = {
        lead.external_id
        for lead in body.leads
        if normalize_email(lead.email) in emails or f"{body.source}:{lead.external_id}" in leads_out
    }
    return body.model_copy(
        update={
            "contacts": [c for c in body.contacts if c.external_id not in dropped],
            "leads": [
                lead.model_copy(
                    update={"converted_contact": None} if lead.converted_contact in dropped else {}
                )
                for lead in body.leads
                if lead.external_id not in dropped_leads
            ],
            "contact_roles": [r for r in body.contact_roles if r.contact not in dropped],
            "campaign_members": [
                m
                for m in body.campaign_members
                if (m.contact is None or m.contact not in dropped)
                and (m.lead is None or m.lead not in dropped_leads)
            ],
        }
    )


def _subject_members(
    session: Session, workspace: Workspace, request: ErasureRequest
) -> tuple[str, list[Member], set[str]]:
    """What the request names, the members that are that person, and the emails it names."""
    if request.email is not None:
        email = normalize_email(request.email)
        if email is None:
            raise InvalidInput.at(("body", "email"), "not an email address")
        owner = members.member_ids_by_email(session, workspace.id, [email]).get(email)
        found = [] if owner is None else [session.get_one(Member, owner)]
        return EMAIL, found, {email}
    assert request.member is not None
    member = members.member_by_external_id(session, workspace.id, request.member)
    if member is None:
        raise NotFound(f"member '{request.member}' not found")
    return MEMBER, [member], set()


def erase(
    session: Session,
    *,
    workspace: Workspace,
    request: ErasureRequest,
    api_key_id: int | None,
    now: datetime,
) -> ErasureOut:
    kind, found, emails = _subject_members(session, workspace, request)
    member_ids = [m.id for m in found]
    owned = members.identities_of_members(session, workspace.id, member_ids)
    emails |= {i.value for i in owned if i.kind == IdentityKind.EMAIL}
    subjects = {(EMAIL, e) for e in emails}
    subjects |= {
        (USER_ID, f"{i.platform}:{i.value}") for i in owned if i.kind == IdentityKind.USER_ID
    }
    subjects |= {(MEMBER, i.value) for i in owned if i.kind == IdentityKind.ALIAS}
    subjects |= {(MEMBER, m.external_id) for m in found}
    contacts = repository.crm_people_by_email(session, Contact, workspace.id, emails)
    leads = repository.crm_people_by_email(session, Lead, workspace.id, emails)
    subjects |= {(CONTACT, f"{source}:{external_id}") for _, source, external_id in contacts}
    subjects |= {(LEAD, f"{source}:{external_id}") for _, source, external_id in leads}
    contact_ids = [id_ for id_, _, _ in contacts]
    lead_ids = [id_ for id_, _, _ in leads]
    touch_ids = repository.touch_ids(
        session, workspace.id, member_ids=member_ids, contact_ids=contact_ids, lead_ids=lead_ids
    )
    erasure = Erasure(
        workspace_id=workspace.id,
        requested_at=now,
        api_key_id=api_key_id,
        subject_kind=kind,
        members=len(member_ids),
        identities=sum(i.kind != IdentityKind.ALIAS for i in owned),
        crm_records=len(contact_ids) + len(lead_ids),
        touchpoints=len(touch_ids),
        credits=0,
        runs_amended=0,
    )
    session.add(erasure)
    session.flush()
    amended = _amend_runs(session, workspace, erasure, touch_ids, now)
    for model, ids in ((Member, member_ids), (Contact, contact_ids), (Lead, lead_ids)):
        repository.delete_rows(session, model, ids)
    repository.forget_stored_answers(session, workspace.id)
    repository.forget_import_traces(session, workspace.id, sorted(emails))
    _suppress(session, workspace, subjects, now)
    session.flush()
    return _out(erasure, amended)


def _amend_runs(
    session: Session, workspace: Workspace, erasure: Erasure, touch_ids: list[int], now: datetime
) -> list[int]:
    """Remove the touches' credits from every run; recompute what the runs summed from them."""
    credited = repository.credited_opportunities(session, workspace.id, touch_ids)
    repository.delete_credits(session, workspace.id, touch_ids)
    repository.delete_rows(session, Touchpoint, touch_ids)
    for run in repository.runs(session, credited):
        opportunities = sorted(credited[run.id])
        repository.rebuild_credit_rollups(session, workspace.id, run.id, opportunities)
        repository.refresh_attributed(session, run.id, opportunities)
        repository.delete_report_rollups(session, run.id)
        session.flush()
        report_rollups.write(session, run=run)
    repository.add_amendments(
        session,
        [
            {
                "workspace_id": workspace.id,
                "run_id": run_id,
                "erasure_id": erasure.id,
                "credits_removed": sum(by_opportunity.values()),
                "amended_at": now,
            }
            for run_id, by_opportunity in sorted(credited.items())
        ],
    )
    erasure.credits = sum(
        n for by_opportunity in credited.values() for n in by_opportunity.values()
    )
    erasure.runs_amended = len(credited)
    return sorted(credited)


def _suppress(
    session: Session, workspace: Workspace, subjects: set[tuple[str, str]], now: datetime
) -> None:
    hashes = {subject_hash(workspace, kind, value) for kind, value in subjects}
    known = repository.suppressed_hashes(session, workspace.id, hashes)
    repository.suppress(
        session,
        [
            {"workspace_id": workspace.id, "subject_hash": h, "created_at": now}
            for h in sorted(hashes - known)
        ],
    )


def _out(erasure: Erasure, runs: list[int]) -> ErasureOut:
    return ErasureOut(
        id=erasure.id,
        requested_at=erasure.requested_at,
        subject_kind=erasure.subject_kind,
        members=erasure.members,
        identities=erasure.identities,
        crm_records=erasure.crm_records,
        touchpoints=erasure.touchpoints,
        credits=erasure.credits,
        runs_amended=runs,
    )


def list_erasures(
    session: Session, *, workspace: Workspace, cursor: int, limit: int
) -> ErasurePage:
    found = repository.erasures(session, workspace.id, after=cursor, limit=limit)
    runs = repository.amended_runs(session, [e.id for e in found])
    return ErasurePage(
        items=[_out(e, runs.get(e.id, [])) for e in found],
        next_cursor=str(found[-1].id) if len(found) == limit else None,
    )
