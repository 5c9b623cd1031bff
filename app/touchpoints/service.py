"""Touchpoint ingestion: validate every row first, then write them all, idempotently."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.catalog import repository as catalog
from app.exceptions import InvalidInput
from app.members import repository as members_repository
from app.members.emails import normalize_email
from app.members.service import ensure_members_for_emails
from app.models import Contact, Lead, Workspace
from app.privacy import service as privacy
from app.touchpoints import repository
from app.touchpoints.schemas import TouchpointBatchResult, TouchpointIn


def ingest(
    session: Session,
    *,
    workspace: Workspace,
    touchpoints: list[TouchpointIn],
    now: datetime,
    loc: tuple[str, ...] = ("body", "touchpoints"),
) -> TouchpointBatchResult:
    """Store the touchpoints; a bad row raises a 422 naming it before anything is written."""
    erased = privacy.erased_touches(session, workspace, touchpoints)  # stored never again
    types = catalog.activity_type_ids(session, workspace.id, (t.activity_type for t in touchpoints))
    programs = catalog.program_ids(
        session, workspace.id, (t.program for t in touchpoints if t.program)
    )
    members = members_repository.member_ids_by_external_id(
        session, workspace.id, (t.member_external_id for t in touchpoints if t.member_external_id)
    )
    contacts = repository.crm_person_ids(
        session, Contact, workspace.id, _person_keys(touchpoints, "contact")
    )
    leads = repository.crm_person_ids(
        session, Lead, workspace.id, _person_keys(touchpoints, "lead")
    )
    emails: dict[int, str] = {}
    for row, touch in enumerate(touchpoints):
        if row in erased:
            continue
        _check_row(touch, (*loc, row), types, programs, members, contacts, leads)
        if touch.member_email is not None:
            email = normalize_email(touch.member_email)
            if email is None:
                raise InvalidInput.at((*loc, row, "member_email"), "not an email address")
            emails[row] = email
    by_email, created = ensure_members_for_emails(
        session, workspace=workspace, emails=set(emails.values()), now=now
    )
    rows = {
        (t.source, t.external_id): {
            "workspace_id": workspace.id,
            "source": t.source,
            "external_id": t.external_id,
            "activity_type_id": types[t.activity_type],
            "program_id": programs[t.program] if t.program else None,
            "occurred_at": t.occurred_at,
            "member_id": by_email[emails[row]]
            if row in emails
            else members.get(t.member_external_id or ""),
            "contact_id": contacts.get(_person_key(t)) if _is(t, "contact") else None,
            "lead_id": leads.get(_person_key(t)) if _is(t, "lead") else None,
            "properties": t.properties,
            "received_at": now,
        }
        for row, t in enumerate(touchpoints)
        if row not in erased
    }
    repository.store(session, list(rows.values()))
    return TouchpointBatchResult(
        received=len(touchpoints), stored=len(rows), members_created=created
    )


def _is(touch: TouchpointIn, kind: str) -> bool:
    return touch.person is not None and touch.person.type == kind


def _person_key(touch: TouchpointIn) -> tuple[str, str]:
    assert touch.person is not None
    return (touch.person.source or touch.source, touch.person.external_id)


def _person_keys(touchpoints: list[TouchpointIn], kind: str) -> list[tuple[str, str]]:
    return [_person_key(t) for t in touchpoints if _is(t, kind)]


def _check_row(
    touch: TouchpointIn,
    loc: tuple[str | int, ...],
    types: dict[str, int],
    programs: dict[str, int],
    members: dict[str, int],
    contacts: dict[tuple[str, str], int],
    leads: dict[tuple[str, str], int],
) -> None:
    if touch.activity_type not in types:
        raise InvalidInput.at(
            (*loc, "activity_type"), f"unknown activity type '{touch.activity_type}'"
        )
    if touch.program and touch.program not in programs:
        raise InvalidInput.at((*loc, "program"), f"unknown program '{touch.program}'")
    if touch.member_external_id is not None and touch.member_external_id not in members:
        raise InvalidInput.at(
            (*loc, "member_external_id"), f"unknown member '{touch.member_external_id}'"
        )
    if touch.person is not None:
        known = contacts if touch.person.type == "contact" else leads
        if _person_key(touch) not in known:
            raise InvalidInput.at(
                (*loc, "person", "external_id"),
                f"unknown {touch.person.type} '{touch.person.external_id}'",
            )
