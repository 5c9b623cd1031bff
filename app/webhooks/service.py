"""Webhook sources (created, rotated, listed by admins) and the deliveries platforms post to them.

A delivery is checked before anything is read: an unsigned, badly signed or stale request answers
401 and stores nothing. A replayed delivery id answers ``duplicate`` and stores nothing; touches are
idempotent by source + external_id besides, so even a replay without an id stores nothing twice.
People are members known by their platform user id (and handle) until an email joins them to a
person; an email in the payload (Slack ``team_join`` with the email scope) does so at once.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app import crypto, rls
from app.catalog import repository as catalog
from app.config import Settings
from app.exceptions import Conflict, InvalidInput, NotFound
from app.members.emails import normalize_email
from app.members.schemas import MemberIn, PlatformIdentityIn
from app.members.service import ensure_members_for_emails, ensure_platform_members, upsert_members
from app.models import WebhookSource, Workspace
from app.touchpoints import repository as touchpoints
from app.webhooks import repository
from app.webhooks.platforms import DEFAULT_EVENT_MAPS, READERS, Event, PayloadError, Person
from app.webhooks.schemas import (
    EventMap,
    RotateSecret,
    WebhookAnswer,
    WebhookSecret,
    WebhookSourceIn,
    WebhookSourceList,
    WebhookSourceOut,
    WebhookSourceUpdate,
)
from app.webhooks.signatures import verify


def _encrypt(settings: Settings, secret: str) -> bytes:
    return crypto.encrypt_json(settings, {"secret": secret})


def _decrypt(settings: Settings, token: bytes) -> str:
    return str(crypto.decrypt_json(settings, token)["secret"])


def effective_map(source: WebhookSource) -> EventMap:
    return {**DEFAULT_EVENT_MAPS[source.kind], **source.event_map}


def describe(source: WebhookSource) -> WebhookSourceOut:
    return WebhookSourceOut(
        id=source.id,
        kind=source.kind,
        source=source.source,
        url_path=f"/v1/webhooks/{source.key}",
        event_map=effective_map(source),
        created_at=source.created_at,
        rotated_at=source.rotated_at,
        previous_secret_expires_at=source.previous_expires_at,
    )


def _check_event_map(session: Session, workspace_id: int, event_map: EventMap) -> None:
    wanted = {key for key in event_map.values() if key is not None}
    known = catalog.activity_type_ids(session, workspace_id, wanted)
    for event_type, key in event_map.items():
        if len(event_type) > 64:
            raise InvalidInput.at(("body", "event_map", event_type), "at most 64 characters")
        if key is not None and key not in known:
            raise InvalidInput.at(
                ("body", "event_map", event_type), f"unknown activity type '{key}'"
            )


def create_source(
    session: Session,
    *,
    workspace_id: int,
    body: WebhookSourceIn,
    settings: Settings,
    now: datetime,
) -> WebhookSecret:
    name = body.source or body.kind
    if repository.source_by_name(session, workspace_id, name) is not None:
        raise Conflict(f"a webhook source '{name}' exists: rotate its secret or delete it")
    _check_event_map(session, workspace_id, body.event_map)
    secret = body.secret or secrets.token_urlsafe(32)
    source = WebhookSource(
        workspace_id=workspace_id,
        kind=body.kind,
        key=f"{body.kind}-{secrets.token_hex(12)}",
        source=name,
        event_map=body.event_map,
        secret_encrypted=_encrypt(settings, secret),
        created_at=now,
    )
    session.add(source)
    session.flush()
    return WebhookSecret(source=describe(source), secret=secret)


def get_source(session: Session, *, workspace_id: int, source_id: int) -> WebhookSource:
    source = repository.source_by_id(session, workspace_id, source_id)
    if source is None:
        raise NotFound(f"webhook source {source_id} not found")
    return source


def list_sources(session: Session, *, workspace_id: int) -> WebhookSourceList:
    return WebhookSourceList(
        sources=[describe(s) for s in repository.sources(session, workspace_id)]
    )


def update_source(
    session: Session, *, workspace_id: int, source_id: int, body: WebhookSourceUpdate
) -> WebhookSourceOut:
    source = get_source(session, workspace_id=workspace_id, source_id=source_id)
    _check_event_map(session, workspace_id, body.event_map)
    source.event_map = body.event_map
    session.flush()
    return describe(source)


def rotate_secret(
    session: Session,
    *,
    workspace_id: int,
    source_id: int,
    body: RotateSecret,
    settings: Settings,
    now: datetime,
) -> WebhookSecret:
    """A new secret; the one it replaces is still accepted for ``overlap_hours``."""
    source = get_source(session, workspace_id=workspace_id, source_id=source_id)
    secret = body.secret or secrets.token_urlsafe(32)
    source.previous_secret_encrypted = source.secret_encrypted
    source.previous_expires_at = now + timedelta(hours=body.overlap_hours)
    source.secret_encrypted = _encrypt(settings, secret)
    source.rotated_at = now
    session.flush()
    return WebhookSecret(source=describe(source), secret=secret)


def delete_source(session: Session, *, workspace_id: int, source_id: int) -> None:
    session.delete(get_source(session, workspace_id=workspace_id, source_id=source_id))
    session.flush()


def _secrets(settings: Settings, source: WebhookSource, now: datetime) -> list[str]:
    accepted = [_decrypt(settings, source.secret_encrypted)]
    previous = source.previous_secret_encrypted
    if previous is not None and source.previous_expires_at and source.previous_expires_at > now:
        accepted.append(_decrypt(settings, previous))
    return accepted


def receive(
    session: Session,
    *,
    key: str,
    headers: Mapping[str, str],
    body: bytes,
    settings: Settings,
    now: datetime,
) -> WebhookAnswer:
    """Check, read and store one delivery."""
    rls.begin_lookup(session)
    source = repository.source_by_key(session, key)
    if source is None:
        raise NotFound("no webhook at this address")
    rls.enter_workspace(session, source.workspace_id)
    verify(
        source.kind, headers=headers, body=body, secrets=_secrets(settings, source, now), now=now
    )
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInput.at(("body",), "not JSON") from error
    if not isinstance(payload, dict):
        raise InvalidInput.at(("body",), "not a JSON object")
    try:
        delivery = READERS[source.kind](headers, payload, now)
    except (PayloadError, ValueError) as error:
        raise InvalidInput.at(("body",), str(error)) from error
    if delivery.challenge is not None:
        return WebhookAnswer(challenge=delivery.challenge)
    mapping = effective_map(source)
    chosen = [
        (event, activity_type)
        for event in delivery.events
        if (activity_type := _activity_type(source.kind, mapping, event.event_type))
    ]
    if delivery.delivery_id is not None and not repository.claim_delivery(
        session,
        {
            "workspace_id": source.workspace_id,
            "webhook_source_id": source.id,
            "delivery_id": str(delivery.delivery_id)[:128],
            "event_type": delivery.event_type[:64],
            "touchpoints": len(chosen),
            "received_at": now,
        },
    ):
        return WebhookAnswer(status="duplicate", touchpoints=0)
    if not chosen:
        return WebhookAnswer(status="ignored", touchpoints=0)
    workspace = session.get_one(Workspace, source.workspace_id)
    stored = _store(session, workspace=workspace, source=source, chosen=chosen, now=now)
    return WebhookAnswer(status="stored", touchpoints=stored)


def _activity_type(kind: str, mapping: EventMap, event_type: str) -> str | None:
    if kind == "generic":
        return mapping.get(event_type, event_type)
    return mapping.get(event_type)


def _store(
    session: Session,
    *,
    workspace: Workspace,
    source: WebhookSource,
    chosen: list[tuple[Event, str]],
    now: datetime,
) -> int:
    types = catalog.activity_type_ids(session, workspace.id, {key for _, key in chosen})
    for event, key in chosen:
        if key not in types:
            raise InvalidInput.at(
                ("body",),
                f"event '{event.event_type}' maps to activity type '{key}', which is not defined: "
                f"create it (PUT /v1/activity-types/{key}) or change the source's event_map",
            )
    rows: list[dict[str, Any]] = []
    earliest: list[dict[str, Any]] = []
    for event, key in chosen:
        member_id = member_of(
            session, workspace=workspace, platform=source.source, person=event.person, now=now
        )
        if member_id is None:
            continue
        (earliest if event.session is not None else rows).append(
            {
                "workspace_id": workspace.id,
                "source": source.source,
                "external_id": event.external_id[:128],
                "activity_type_id": types[key],
                "program_id": None,
                "occurred_at": event.occurred_at,
                "member_id": member_id,
                "contact_id": None,
                "lead_id": None,
                "properties": event.properties,
                "received_at": now,
            }
        )
    touchpoints.store(session, rows)
    touchpoints.store_earliest(session, earliest)
    return len(rows) + len(earliest)


def member_of(
    session: Session, *, workspace: Workspace, platform: str, person: Person, now: datetime
) -> int | None:
    """The member of a person: by platform user id (with the email, when the payload has one,
    which joins the platform user to the person of that email), else by email."""
    email = None
    if person.email is not None:
        email = normalize_email(person.email)
        if email is None:
            raise InvalidInput.at(
                ("body", "person", "email"), f"'{person.email}' is not an email address"
            )
    if person.user_id is None:
        if email is None:
            raise InvalidInput.at(("body", "person"), "give an email or a user_id")
        ids, _ = ensure_members_for_emails(session, workspace=workspace, emails={email}, now=now)
        return ids.get(email)
    identity = PlatformIdentityIn(platform=platform, user_id=person.user_id, handle=person.handle)
    if email is None:
        known, _ = ensure_platform_members(
            session, workspace=workspace, identities_=[identity], now=now
        )
        return known.get((platform, person.user_id))
    record = f"{platform}:{person.user_id}"
    result = upsert_members(
        session,
        workspace=workspace,
        members=[
            MemberIn(
                external_id=record,
                source=platform,
                name=person.name,
                emails=[email],
                identities=[identity],
            )
        ],
        now=now,
    )
    return result.member_ids.get(record)
