"""One sync run: every stream from its cursor, each page and its cursor committed together.

The rules (DESIGN.md section 4): read from ``cursor - overlap`` with ``>=``; the stored cursor only
moves forward and never past the run's start; deletes are soft; merges move links to the survivor;
junction rows are reconciled by a full id comparison; the run stops, resumable, past the API budget.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.catalog import repository as catalog
from app.clock import Clock
from app.config import Settings
from app.crypto import decrypt_json, encrypt_json
from app.db import transaction
from app.members.emails import normalize_email
from app.members.service import resolve_members
from app.models import (
    ActivityType,
    Category,
    Contact,
    CrmConnection,
    Lead,
    SyncRun,
    Touchpoint,
    Workspace,
)
from app.privacy import service as privacy
from app.queue import JobControl, JobStopped, progress
from app.sync import repository
from app.sync.counts import StreamCounts
from app.sync.records import REFERENCE_MODELS, SPECS, stored_row
from connectors.base import (
    AccountLinkRecord,
    CampaignTouchRecord,
    Connector,
    ContactRecord,
    Cursor,
    FieldMapping,
    LinkStream,
    Record,
    RecordKind,
    Stream,
)
from connectors.errors import BudgetExhaustedError, ConnectorError

log = logging.getLogger(__name__)

STREAM_ORDER = (
    RecordKind.ACCOUNT,
    RecordKind.CONTACT,
    RecordKind.LEAD,
    RecordKind.OPPORTUNITY,
    RecordKind.OPPORTUNITY_CONTACT,
    RecordKind.ACCOUNT_LINK,
    RecordKind.CAMPAIGN_TOUCH,
)
JUNCTIONS = (RecordKind.OPPORTUNITY_CONTACT, RecordKind.ACCOUNT_LINK, RecordKind.CAMPAIGN_TOUCH)
# Junction rows of streams with timestamps (Salesforce) are compared id by id at least this often
# whatever the schedule; association streams without timestamps (HubSpot) on every run.
RECONCILE_EVERY = timedelta(hours=1)
# Records the CRM stamped just before its "now" may not be visible yet (a transaction still
# committing, a search index catching up): reads stop this much earlier.
CLOCK_MARGIN = timedelta(seconds=5)
LINK_BATCH = 1_000  # parents per association batch read (HubSpot's limit per request)
MERGEABLE = {RecordKind.ACCOUNT: "account", RecordKind.CONTACT: "contact", RecordKind.LEAD: "lead"}
BUDGET_CHECK_EVERY = 20  # pages
ANALYZE_AFTER = 1_000  # rows written to a table before its statistics are refreshed; then doubling


@dataclass
class SyncContext:
    factory: sessionmaker[Session]
    connector: Connector
    connection_id: int
    workspace_id: int
    run_id: int
    started_at: datetime
    overlap: timedelta
    budget_share: float
    mapping: FieldMapping
    full_resync: bool
    reconcile: bool
    clock: Clock
    control: JobControl | None = None
    progress: dict[str, Any] | None = None
    counts: dict[str, StreamCounts] = field(default_factory=dict)
    changed_people: dict[str, set[int]] = field(
        default_factory=lambda: {"contact": set(), "lead": set()}
    )
    unanalyzed: dict[str, int] = field(default_factory=dict)
    analyzed: dict[str, int] = field(default_factory=dict)
    until: datetime | None = None  # reads stop here: the CRM's clock at the start, less a margin
    # the stored cursors by stream, read once: only this run (holding the lease) writes them
    cursors: dict[str, Cursor] | None = None

    @property
    def source(self) -> str:
        return self.connector.source


def execute_sync(
    factory: sessionmaker[Session],
    *,
    run_id: int,
    connector: Connector,
    mapping: FieldMapping,
    now: datetime,
    lease: timedelta,
    clock: Clock | None = None,
    control: JobControl | None = None,
) -> str:
    """Run a claimed sync run to its end and answer its final status; ``clock`` stamps its end
    (without one, the end is ``now``). With the worker's ``control``, each page commits only while
    the run is still this worker's, and a run taken over from a dead worker resumes from its
    cursors with its counts so far; JobStopped leaves the run to the worker."""
    with transaction(factory) as session:
        run = session.get_one(SyncRun, run_id)
        connection = session.get_one(CrmConnection, run.connection_id)
        if not repository.acquire_lease(
            session, connection_id=connection.id, run_id=run.id, now=now, until=now + lease
        ):
            run.status = "skipped"
            run.error = {
                "type": "locked",
                "detail": "another sync run of this connection is running",
            }
            run.finished_at = now
            return run.status
        resumed = run.started_at
        run.started_at = run.started_at or now
        if run.full_resync and resumed is None:
            repository.clear_cursors(session, connection.id)
        context = SyncContext(
            factory=factory,
            connector=connector,
            connection_id=connection.id,
            workspace_id=connection.workspace_id,
            run_id=run.id,
            started_at=now,
            overlap=timedelta(seconds=connection.overlap_seconds),
            budget_share=connection.api_budget_share,
            mapping=mapping,
            full_resync=run.full_resync,
            reconcile=run.full_resync or run.reconcile,
            clock=clock or (lambda: now),
            control=control,
            counts={kind: StreamCounts(**counts) for kind, counts in run.counts.items()},
        )
        if resumed is not None:
            _seed_resumed_people(session, context, resumed)
        kinds = [k for k in STREAM_ORDER if not run.objects or k.value in run.objects]
    status, error = "succeeded", None
    try:
        context.until = _read_until(context)
        for done, kind in enumerate(kinds):
            context.progress = progress(kind.value, done, len(kinds))
            _sync_stream(context, kind)
    except JobStopped:
        with transaction(factory) as session:
            _resolve_changed_members(session, context)
        raise
    except BudgetExhaustedError as failure:
        status, error = "partial", {"type": "api_budget", "detail": failure.detail}
    except ConnectorError as failure:
        status, error = "failed", {"type": type(failure).__name__, "detail": failure.detail}
    _finish(context, status, error)
    return status


def write_back_rotated_tokens(
    connector: Connector,
    factory: sessionmaker[Session],
    *,
    connection_id: int,
    settings: Settings,
    clock: Clock,
) -> None:
    """Store a refresh token the CRM rotates, encrypted, the moment it is issued (in its own
    transaction): the old one is revoked, and a restart must find the working one."""

    def write(token: str) -> None:
        with transaction(factory) as session:
            connection = session.get_one(CrmConnection, connection_id)
            stored = decrypt_json(settings, connection.credentials_encrypted)
            stored["refresh_token"] = token
            connection.credentials_encrypted = encrypt_json(settings, stored)
            connection.updated_at = clock()
        log.info("stored the rotated refresh token of connection %s", connection_id)

    connector.on_token_rotated = write


def _finish(context: SyncContext, status: str, error: dict[str, Any] | None) -> None:
    with transaction(context.factory) as session:
        if context.control is not None:
            context.control.record(session, None)
        run = session.get_one(SyncRun, context.run_id)
        run.lease_until, run.progress = None, None
        run.status = status
        run.error = error
        run.counts = {kind: counts.as_dict() for kind, counts in context.counts.items()}
        run.finished_at = context.clock()
        repository.release_lease(session, connection_id=context.connection_id, run_id=run.id)
        _resolve_changed_members(session, context)


def _read_until(context: SyncContext) -> datetime:
    """The CRM's clock less CLOCK_MARGIN, so that neither a CRM clock ahead of ours (records it
    stamped "in our future" would wait a run) nor one behind ours (a cursor past what the CRM has
    made visible yet) loses or delays a change; our start when the CRM tells no time."""
    crm_now = context.connector.server_time()
    return (crm_now or context.started_at) - CLOCK_MARGIN


def _until(context: SyncContext) -> datetime:
    return context.until or context.started_at


def _check_budget(context: SyncContext) -> None:
    usage = context.connector.api_usage()
    if usage is not None and usage.share >= context.budget_share:
        raise BudgetExhaustedError(
            f"the CRM reports {usage.used} of {usage.limit} daily API calls used, past the "
            f"configured share of {context.budget_share:.0%}"
        )


def _since(context: SyncContext, session: Session, kind: RecordKind) -> Cursor | None:
    stored = repository.load_cursor(session, context.connection_id, kind.value)
    if stored is None or stored.cursor_at is None:
        return None
    return Cursor(stored.cursor_at - context.overlap, "")


def _sync_stream(context: SyncContext, kind: RecordKind) -> None:
    stream = context.connector.streams().get(kind)
    if stream is None:
        return
    counts = context.counts.setdefault(kind.value, StreamCounts())
    if isinstance(stream, LinkStream):
        _sync_links(context, stream, counts)
        return
    with transaction(context.factory) as session:
        since = _since(context, session, kind)
    _check_budget(context)
    fresh = kind in JUNCTIONS and _nothing_stored(context, kind)
    for number, page in enumerate(stream.pages(since, until=_until(context)), start=1):
        if context.control is not None:
            context.control.stop_if_asked()
        if number % BUDGET_CHECK_EVERY == 0:
            _check_budget(context)
        with transaction(context.factory) as session:
            _apply_page(session, context, kind, page.records, counts)
            if page.cursor is not None:
                _advance_cursor(session, context, kind, page.cursor)
            _save_progress(session, context)
    if kind in JUNCTIONS and _reconcile_due(context, kind):
        if fresh:
            _mark_reconciled(context, kind)
        else:
            _reconcile(context, kind, stream, counts)
    if kind in MERGEABLE:
        with transaction(context.factory) as session:
            _move_merged_links(session, context, kind)


def _nothing_stored(context: SyncContext, kind: RecordKind) -> bool:
    """True when the connection holds no live row of this kind yet: after the read, every
    stored row is one the CRM just listed, so the full id comparison has nothing to find."""
    model = Touchpoint if kind is RecordKind.CAMPAIGN_TOUCH else SPECS[kind].model
    with transaction(context.factory) as session:
        return not repository.has_live(
            session, model, workspace_id=context.workspace_id, source=context.source
        )


def _mark_reconciled(context: SyncContext, kind: RecordKind) -> None:
    with transaction(context.factory) as session:
        repository.mark_reconciled(
            session,
            workspace_id=context.workspace_id,
            connection_id=context.connection_id,
            stream=kind.value,
            now=context.started_at,
        )


def _sync_links(context: SyncContext, stream: LinkStream, counts: StreamCounts) -> None:
    """Every link of every stored parent, a batch of parents at a time: each batch's links and
    the removal of its parents' vanished links are committed together."""
    _check_budget(context)
    model = SPECS[stream.kind].model
    for parent in stream.parents:
        parent_model = SPECS[parent].model
        after = 0
        for number in itertools.count(1):
            if number % BUDGET_CHECK_EVERY == 0:
                _check_budget(context)
            with transaction(context.factory) as session:
                batch = repository.live_parents(
                    session,
                    parent_model,
                    workspace_id=context.workspace_id,
                    source=context.source,
                    after_id=after,
                    limit=LINK_BATCH,
                )
            if not batch:
                break
            after = batch[-1][0]
            found = stream.links(
                parent, [external for _, external in batch], now=context.started_at
            )
            with transaction(context.factory) as session:
                _apply_page(session, context, stream.kind, tuple(found), counts)
                counts.deleted += repository.soft_delete_vanished_links(
                    session,
                    model,
                    parent_column=_PARENT_COLUMNS[parent],
                    parent_ids=[id_ for id_, _ in batch],
                    live=[record.external_id for record in found],
                    now=context.started_at,
                )
                _save_progress(session, context)
    with transaction(context.factory) as session:
        counts.deleted += repository.soft_delete_orphan_links(
            session,
            model,
            workspace_id=context.workspace_id,
            source=context.source,
            now=context.started_at,
        )
        if getattr(stream, "sets_opportunity_account", False):
            moved = repository.set_opportunity_accounts(
                session, workspace_id=context.workspace_id, source=context.source
            )
            context.counts.setdefault(RecordKind.OPPORTUNITY.value, StreamCounts()).updated += moved
        _save_progress(session, context)


_PARENT_COLUMNS = {
    RecordKind.ACCOUNT: "account_id",
    RecordKind.CONTACT: "contact_id",
    RecordKind.OPPORTUNITY: "opportunity_id",
}


def _reconcile_due(context: SyncContext, kind: RecordKind) -> bool:
    if context.reconcile:
        return True
    with transaction(context.factory) as session:
        stored = repository.load_cursor(session, context.connection_id, kind.value)
    last = stored.reconciled_at if stored is not None else None
    return last is None or context.started_at - last >= RECONCILE_EVERY


def _refresh_statistics(
    session: Session, context: SyncContext, model: type[Any], written: int
) -> None:
    """A full sync fills empty tables much faster than autovacuum re-analyzes them, and on
    stale statistics PostgreSQL plans the lookups by external_id as a scan of the workspace's
    whole table per chunk of ids. Analyze (in the page's transaction, which sees its own rows)
    once ANALYZE_AFTER rows were written, then whenever the rows written since reach the rows
    analyzed: about log2(rows) times in a full sync, once in a small incremental one."""
    name = model.__tablename__
    pending = context.unanalyzed.get(name, 0) + written
    if pending < max(ANALYZE_AFTER, context.analyzed.get(name, 0)):
        context.unanalyzed[name] = pending
        return
    repository.analyze(session, model)
    context.analyzed[name] = context.analyzed.get(name, 0) + pending
    context.unanalyzed[name] = 0


def _stored_cursors(session: Session, context: SyncContext) -> dict[str, Cursor]:
    if context.cursors is None:
        context.cursors = {
            stream: Cursor(stored.cursor_at, stored.cursor_id or "")
            for stream, stored in repository.cursors_of(session, context.connection_id).items()
            if stored.cursor_at is not None
        }
    return context.cursors


def _advance_cursor(
    session: Session, context: SyncContext, kind: RecordKind, cursor: Cursor
) -> None:
    """Only forward, and never past the read's end (records changed later are read next time)."""
    new = min(cursor, Cursor(_until(context), ""))
    stored = _stored_cursors(session, context)
    if kind.value in stored and stored[kind.value] >= new:
        return
    repository.save_cursor(
        session,
        workspace_id=context.workspace_id,
        connection_id=context.connection_id,
        stream=kind.value,
        cursor_at=new.modified_at,
        cursor_id=new.external_id,
        now=context.started_at,
    )
    stored[kind.value] = new  # a page whose transaction fails ends the run: no stale cache


def _save_progress(session: Session, context: SyncContext) -> None:
    if context.control is not None:
        context.control.record(session, context.progress)
    cursors = _stored_cursors(session, context)
    repository.save_progress(
        session,
        context.run_id,
        counts={kind: counts.as_dict() for kind, counts in context.counts.items()},
        cursors={
            kind.value: {"at": cursor.modified_at.isoformat(), "id": cursor.external_id}
            for kind in STREAM_ORDER
            if (cursor := cursors.get(kind.value)) is not None
        },
    )


def _latest(records: Iterable[Record]) -> list[Record]:
    """A record read twice in one page (the overlap) counts once, as its last version."""
    return list({record.external_id: record for record in records}.values())


def _apply_page(
    session: Session,
    context: SyncContext,
    kind: RecordKind,
    page_records: tuple[Record, ...],
    counts: StreamCounts,
) -> None:
    counts.read += len(page_records)
    records = _latest(page_records)
    if kind is RecordKind.CAMPAIGN_TOUCH:
        _apply_campaign_touches(session, context, records, counts)
        return
    spec = SPECS[kind]
    refs = {name: _references(session, context, records, name) for name in spec.references}
    erased = _erased(session, context, records)
    rows = []
    for record in records:
        content = spec.to_row(record, refs)
        if content is None or content.get("email_normalized") in erased:
            counts.skipped += 1
            continue
        rows.append(
            stored_row(
                record,
                content,
                workspace_id=context.workspace_id,
                source=context.source,
                now=context.started_at,
            )
        )
    merged = repository.merge_rows(session, spec.model, rows, compared=_compared(rows))
    counts.add(merged)
    _refresh_statistics(session, context, spec.model, len(merged.written))
    if kind is RecordKind.CONTACT:
        context.changed_people["contact"].update(_apply_contact_emails(session, context, records))
    if kind.value in context.changed_people:
        context.changed_people[kind.value].update(merged.written)


def _erased(session: Session, context: SyncContext, records: list[Record]) -> set[str]:
    """The records' emails that were erased (none to hash and look up in most workspaces)."""
    if not repository.has_erasures(session, context.workspace_id):
        return set()
    return privacy.erased_emails(
        session, context.workspace_id, (getattr(r, "email", None) for r in records)
    )


_NOT_COMPARED = {"workspace_id", "source", "external_id", "synced_at", "deleted_at"}


def _compared(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    """The columns whose change makes a stored record updated: its content, properties and
    merge pointer (not when it was synced; deletion is compared on its own)."""
    return tuple(name for name in rows[0] if name not in _NOT_COMPARED) if rows else ()


def _apply_contact_emails(
    session: Session, context: SyncContext, records: list[Record]
) -> set[int]:
    """Store each contact's additional emails (none for a deleted contact); answer the ids of
    the contacts whose additional emails changed."""
    contacts = {r.external_id: r for r in records if isinstance(r, ContactRecord)}
    stored = repository.stored_additional_emails(
        session,
        workspace_id=context.workspace_id,
        source=context.source,
        external_ids=sorted(contacts),
    )
    emails = {external_id: _additional_emails(r) for external_id, r in contacts.items()}
    changed = [e for e, found in emails.items() if set(found) != stored.get(e, set())]
    ids = repository.ids_for(
        session,
        Contact,
        workspace_id=context.workspace_id,
        source=context.source,
        external_ids=changed,
    )
    rows = [
        {
            "workspace_id": context.workspace_id,
            "contact_id": contact_id,
            "email": raw,
            "email_normalized": normalized,
        }
        for external_id, contact_id in ids.items()
        for normalized, raw in emails[external_id].items()
    ]
    repository.replace_contact_emails(session, sorted(ids.values()), rows)
    return set(ids.values())


def _additional_emails(record: ContactRecord) -> dict[str, str]:
    """Normalized -> as given, the primary email left out."""
    if record.deleted:
        return {}
    primary = normalize_email(record.email)
    found: dict[str, str] = {}
    for raw in record.additional_emails:
        normalized = normalize_email(raw)
        if normalized is not None and normalized != primary:
            found.setdefault(normalized, raw.strip())
    return found


_REFERENCE_FIELDS = {
    "account": ("account_external_id",),
    "contact": ("contact_external_id", "converted_contact_external_id"),
    "opportunity": ("opportunity_external_id",),
    "lead": ("lead_external_id",),
}


def _referenced(records: Iterable[Record], name: str) -> set[str]:
    found = {
        value
        for record in records
        for attribute in _REFERENCE_FIELDS[name]
        if (value := getattr(record, attribute, None)) is not None
    }
    found.update(
        record.object_external_id
        for record in records
        if isinstance(record, AccountLinkRecord) and record.object_kind == name
    )
    return found


def _references(
    session: Session, context: SyncContext, records: list[Record], name: str
) -> dict[str, int]:
    """Ids of the records these refer to; a reference to a merged-away record leads to its
    survivor, so re-reading a stale reference never undoes a merge."""
    model = REFERENCE_MODELS[name]
    resolve = repository.resolve_ids if name in MERGEABLE.values() else repository.ids_for
    return resolve(
        session,
        model,
        workspace_id=context.workspace_id,
        source=context.source,
        external_ids=_referenced(records, name),
    )


def _activity_type_id(
    session: Session, context: SyncContext, key: str, known: dict[str, int]
) -> int:
    """The id of the marketing activity type ``key``, created when the workspace lacks it."""
    if key in known:
        return known[key]
    existing = catalog.activity_type(session, context.workspace_id, key)
    if existing is None:
        existing = ActivityType(
            workspace_id=context.workspace_id,
            key=key,
            name="CRM campaign response"
            if key == context.mapping.campaign_activity_type
            else f"CRM {key.replace('_', ' ')}",
            category=Category.MARKETING,
            is_community=False,
        )
        session.add(existing)
        session.flush()
    known[key] = existing.id
    return existing.id


def _apply_campaign_touches(
    session: Session, context: SyncContext, records: list[Record], counts: StreamCounts
) -> None:
    activity_types: dict[str, int] = {}
    contacts = _references(session, context, records, "contact")
    leads = _references(session, context, records, "lead")
    submitted = {
        record.external_id: email
        for record in records
        if isinstance(record, CampaignTouchRecord)
        and record.contact_external_id is None
        and (email := normalize_email(record.email)) is not None
    }
    by_email = repository.contact_ids_by_email(
        session,
        workspace_id=context.workspace_id,
        source=context.source,
        emails=submitted.values(),
    )
    existing = repository.stored_rows(
        session,
        Touchpoint,
        workspace_id=context.workspace_id,
        source=context.source,
        external_ids=[r.external_id for r in records],
    )
    rows, gone = [], []
    for record in records:
        assert isinstance(record, CampaignTouchRecord)
        old = existing.get(record.external_id)
        if record.deleted:
            if old is not None:
                counts.deleted += 1
                gone.append(record.external_id)
            else:
                counts.unchanged += 1
            continue
        contact_id = contacts.get(record.contact_external_id or "") or by_email.get(
            submitted.get(record.external_id, "")
        )
        lead_id = None if contact_id else leads.get(record.lead_external_id or "")
        if contact_id is None and lead_id is None:
            counts.skipped += 1
            continue
        row = {
            "workspace_id": context.workspace_id,
            "source": context.source,
            "external_id": record.external_id,
            "activity_type_id": _activity_type_id(
                session, context, record.activity_type, activity_types
            ),
            "program_id": None,
            "occurred_at": record.occurred_at,
            "member_id": None,
            "contact_id": contact_id,
            "lead_id": lead_id,
            "properties": {
                **record.properties,
                "campaign_id": record.campaign_external_id,
                "campaign": record.campaign_name,
            },
            "received_at": context.started_at,
        }
        compared = ("occurred_at", "contact_id", "lead_id", "activity_type_id", "properties")
        if counts.classify(
            old and {**old, "deleted_at": None}, {**row, "deleted_at": None}, compared
        ):
            rows.append(row)
    repository.delete_touchpoints(
        session, workspace_id=context.workspace_id, source=context.source, external_ids=gone
    )
    repository.write_rows(session, Touchpoint, rows)
    _refresh_statistics(session, context, Touchpoint, len(rows))


def _reconcile(
    context: SyncContext, kind: RecordKind, stream: Stream, counts: StreamCounts
) -> None:
    """Junction rows can vanish in the CRM without a trace: drop the ones the CRM no longer has."""
    live = set(stream.all_ids())
    _mark_reconciled(context, kind)
    with transaction(context.factory) as session:
        if kind is RecordKind.CAMPAIGN_TOUCH:
            counts.deleted += repository.delete_unlisted_touchpoints(
                session, workspace_id=context.workspace_id, source=context.source, live=live
            )
        else:
            counts.deleted += repository.soft_delete_unlisted(
                session,
                SPECS[kind].model,
                workspace_id=context.workspace_id,
                source=context.source,
                live=live,
                now=context.started_at,
            )


def _move_merged_links(session: Session, context: SyncContext, kind: RecordKind) -> None:
    model = SPECS[kind].model
    table = repository.table_of(model)
    merged = session.execute(
        select(table.c.id, table.c.merged_into).where(
            table.c.workspace_id == context.workspace_id,
            table.c.source == context.source,
            table.c.merged_into.is_not(None),
        )
    ).all()
    survivors = repository.ids_for(
        session,
        model,
        workspace_id=context.workspace_id,
        source=context.source,
        external_ids=[survivor for _, survivor in merged],
    )
    for loser_id, survivor in merged:
        if survivor in survivors:
            repository.move_links(
                session, kind=MERGEABLE[kind], loser_id=loser_id, survivor_id=survivors[survivor]
            )


def _seed_resumed_people(session: Session, context: SyncContext, since: datetime) -> None:
    """Contacts and leads an earlier attempt of this run wrote before its worker died: their
    members are resolved at the end as if this attempt had written them."""
    for kind, model in (("contact", Contact), ("lead", Lead)):
        context.changed_people[kind].update(
            repository.synced_since(
                session,
                model,
                workspace_id=context.workspace_id,
                source=context.source,
                since=since,
            )
        )


def _resolve_changed_members(session: Session, context: SyncContext) -> None:
    """Members whose contacts or leads changed, or whose emails now match one, are resolved again."""
    contact_ids = context.changed_people["contact"]
    lead_ids = context.changed_people["lead"]
    if not contact_ids and not lead_ids:
        return
    members = repository.members_linked_to(session, contact_ids=contact_ids, lead_ids=lead_ids)
    members.update(
        repository.members_matching_emails_of(
            session,
            workspace_id=context.workspace_id,
            contact_ids=contact_ids,
            lead_ids=lead_ids,
        )
    )
    if members:
        workspace = session.get_one(Workspace, context.workspace_id)
        resolve_members(session, workspace=workspace, member_ids=sorted(members))
