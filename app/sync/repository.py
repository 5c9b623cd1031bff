"""All SQL of the sync: reading what is stored, upserting pages, cursors, the connection lease."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from app.models import (
    Account,
    AccountLink,
    Contact,
    ContactEmail,
    CrmConnection,
    Lead,
    MemberLink,
    Opportunity,
    OpportunityContact,
    SyncCursor,
    SyncJob,
    Touchpoint,
)
from app.models.base import Base
from app.upsert import upsert

CHUNK = 1_000


def table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def stored_rows(
    session: Session,
    model: type[Base],
    *,
    workspace_id: int,
    source: str,
    external_ids: Sequence[str],
) -> dict[str, dict[str, Any]]:
    table = table_of(model)
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(external_ids), CHUNK):
        rows = session.execute(
            select(table).where(
                table.c.workspace_id == workspace_id,
                table.c.source == source,
                table.c.external_id.in_(external_ids[start : start + CHUNK]),
            )
        )
        found.update({row.external_id: dict(row._mapping) for row in rows})
    return found


def ids_for(
    session: Session,
    model: type[Base],
    *,
    workspace_id: int,
    source: str,
    external_ids: Iterable[str],
) -> dict[str, int]:
    table = table_of(model)
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(table.c.external_id, table.c.id).where(
                table.c.workspace_id == workspace_id,
                table.c.source == source,
                table.c.external_id.in_(wanted[start : start + CHUNK]),
            )
        )
        found.update({external_id: id_ for external_id, id_ in rows})
    return found


def write_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    upsert(session, model, rows, key=("workspace_id", "source", "external_id"))


def load_cursor(session: Session, connection_id: int, stream: str) -> SyncCursor | None:
    return session.scalar(
        select(SyncCursor).where(
            SyncCursor.connection_id == connection_id, SyncCursor.stream == stream
        )
    )


def save_cursor(
    session: Session,
    *,
    workspace_id: int,
    connection_id: int,
    stream: str,
    cursor_at: datetime,
    cursor_id: str,
    now: datetime,
) -> None:
    upsert(
        session,
        SyncCursor,
        [
            {
                "workspace_id": workspace_id,
                "connection_id": connection_id,
                "stream": stream,
                "cursor_at": cursor_at,
                "cursor_id": cursor_id,
                "updated_at": now,
            }
        ],
        key=("connection_id", "stream"),
    )


def clear_cursors(session: Session, connection_id: int) -> None:
    session.execute(delete(SyncCursor).where(SyncCursor.connection_id == connection_id))


def live_external_ids(
    session: Session, model: type[Base], *, workspace_id: int, source: str
) -> set[str]:
    table = table_of(model)
    return set(
        session.scalars(
            select(table.c.external_id).where(
                table.c.workspace_id == workspace_id,
                table.c.source == source,
                table.c.deleted_at.is_(None),
            )
        )
    )


def soft_delete(
    session: Session,
    model: type[Base],
    *,
    workspace_id: int,
    source: str,
    external_ids: Sequence[str],
    now: datetime,
) -> None:
    table = table_of(model)
    for start in range(0, len(external_ids), CHUNK):
        session.execute(
            update(table)
            .where(
                table.c.workspace_id == workspace_id,
                table.c.source == source,
                table.c.external_id.in_(external_ids[start : start + CHUNK]),
            )
            .values(deleted_at=now, synced_at=now)
        )


def move_links(session: Session, *, kind: str, loser_id: int, survivor_id: int) -> None:
    """Point everything that referenced a merged-away record at its survivor."""
    if kind == "contact":
        for table, column in (
            (table_of(OpportunityContact), "contact_id"),
            (table_of(Touchpoint), "contact_id"),
            (table_of(Lead), "converted_contact_id"),
            (table_of(MemberLink), "contact_id"),
        ):
            session.execute(
                update(table).where(table.c[column] == loser_id).values({column: survivor_id})
            )
    elif kind == "account":
        for table in (table_of(Contact), table_of(Opportunity)):
            session.execute(
                update(table).where(table.c.account_id == loser_id).values(account_id=survivor_id)
            )
    elif kind == "lead":
        for table in (table_of(Touchpoint), table_of(MemberLink)):
            session.execute(
                update(table).where(table.c.lead_id == loser_id).values(lead_id=survivor_id)
            )


def touchpoint_keys(session: Session, workspace_id: int, source: str) -> set[str]:
    return set(
        session.scalars(
            select(Touchpoint.external_id).where(
                Touchpoint.workspace_id == workspace_id, Touchpoint.source == source
            )
        )
    )


def delete_touchpoints(
    session: Session, *, workspace_id: int, source: str, external_ids: Sequence[str]
) -> None:
    for start in range(0, len(external_ids), CHUNK):
        session.execute(
            delete(Touchpoint).where(
                Touchpoint.workspace_id == workspace_id,
                Touchpoint.source == source,
                Touchpoint.external_id.in_(external_ids[start : start + CHUNK]),
            )
        )


def acquire_lease(
    session: Session, *, connection_id: int, run_id: int, now: datetime, until: datetime
) -> bool:
    """Take the connection's lock unless a live run holds it (a conditional UPDATE: one winner)."""
    taken = session.execute(
        update(CrmConnection)
        .where(
            CrmConnection.id == connection_id,
            or_(
                CrmConnection.locked_by_run_id.is_(None),
                CrmConnection.locked_until < now,
                CrmConnection.locked_by_run_id == run_id,
            ),
        )
        .values(locked_by_run_id=run_id, locked_until=until)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release_lease(session: Session, *, connection_id: int, run_id: int) -> None:
    session.execute(
        update(CrmConnection)
        .where(CrmConnection.id == connection_id, CrmConnection.locked_by_run_id == run_id)
        .values(locked_by_run_id=None, locked_until=None)
    )


def due_jobs(session: Session, now: datetime) -> Sequence[SyncJob]:
    return session.scalars(
        select(SyncJob).where(
            SyncJob.enabled.is_(True), SyncJob.next_run_at.is_not(None), SyncJob.next_run_at <= now
        )
    ).all()


def members_linked_to(
    session: Session, *, contact_ids: Iterable[int], lead_ids: Iterable[int]
) -> set[int]:
    found: set[int] = set()
    for column, ids in (
        (MemberLink.contact_id, list(contact_ids)),
        (MemberLink.lead_id, list(lead_ids)),
    ):
        for start in range(0, len(ids), CHUNK):
            found.update(
                session.scalars(
                    select(MemberLink.member_id).where(column.in_(ids[start : start + CHUNK]))
                )
            )
    return found


def survivors_of(
    session: Session,
    model: type[Base],
    *,
    workspace_id: int,
    source: str,
    external_ids: Iterable[str],
) -> dict[str, int]:
    """external_id of each merged-away record among these -> the id of the record it merged into."""
    table = table_of(model)
    survivor = table.alias("survivor")
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(table.c.external_id, survivor.c.id)
            .join(
                survivor,
                (survivor.c.workspace_id == table.c.workspace_id)
                & (survivor.c.source == table.c.source)
                & (survivor.c.external_id == table.c.merged_into),
            )
            .where(
                table.c.workspace_id == workspace_id,
                table.c.source == source,
                table.c.merged_into.is_not(None),
                table.c.external_id.in_(wanted[start : start + CHUNK]),
            )
        )
        found.update({external_id: id_ for external_id, id_ in rows})
    return found


def analyze(session: Session, model: type[Base]) -> None:
    """Refresh PostgreSQL's statistics of the model's table (SQLite plans without them)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {table_of(model).name}"))


def mark_reconciled(
    session: Session, *, workspace_id: int, connection_id: int, stream: str, now: datetime
) -> None:
    upsert(
        session,
        SyncCursor,
        [
            {
                "workspace_id": workspace_id,
                "connection_id": connection_id,
                "stream": stream,
                "reconciled_at": now,
                "updated_at": now,
            }
        ],
        key=("connection_id", "stream"),
    )


def live_parents(
    session: Session,
    model: type[Base],
    *,
    workspace_id: int,
    source: str,
    after_id: int,
    limit: int,
) -> list[tuple[int, str]]:
    """(id, external_id) of the next ``limit`` live records after ``after_id``, by id."""
    table = table_of(model)
    rows = session.execute(
        select(table.c.id, table.c.external_id)
        .where(
            table.c.workspace_id == workspace_id,
            table.c.source == source,
            table.c.deleted_at.is_(None),
            table.c.id > after_id,
        )
        .order_by(table.c.id)
        .limit(limit)
    )
    return [(id_, external_id) for id_, external_id in rows]


def soft_delete_vanished_links(
    session: Session,
    model: type[Base],
    *,
    parent_column: str,
    parent_ids: Sequence[int],
    live: Iterable[str],
    now: datetime,
) -> int:
    """Soft-delete the stored live links of these parents that the CRM no longer lists."""
    table = table_of(model)
    stored: list[int] = []
    kept = set(live)
    for start in range(0, len(parent_ids), CHUNK):
        rows = session.execute(
            select(table.c.id, table.c.external_id).where(
                table.c[parent_column].in_(parent_ids[start : start + CHUNK]),
                table.c.deleted_at.is_(None),
            )
        )
        stored.extend(id_ for id_, external_id in rows if external_id not in kept)
    _soft_delete_ids(session, table, stored, now)
    return len(stored)


def soft_delete_orphan_links(
    session: Session, model: type[Base], *, workspace_id: int, source: str, now: datetime
) -> int:
    """Soft-delete live links to a deleted record: an archived HubSpot deal or company keeps no
    associations (a restore brings them back, and the next read with them)."""
    table = table_of(model)
    orphaned: list[int] = []
    for column, parent in (
        ("account_id", table_of(Account)),
        ("contact_id", table_of(Contact)),
        ("opportunity_id", table_of(Opportunity)),
    ):
        if column not in table.c:
            continue
        orphaned += session.scalars(
            select(table.c.id)
            .join(parent, parent.c.id == table.c[column])
            .where(
                table.c.workspace_id == workspace_id,
                table.c.source == source,
                table.c.deleted_at.is_(None),
                parent.c.deleted_at.is_not(None),
            )
        ).all()
    unique = sorted(set(orphaned))
    _soft_delete_ids(session, table, unique, now)
    return len(unique)


def _soft_delete_ids(session: Session, table: Table, ids: Sequence[int], now: datetime) -> None:
    for start in range(0, len(ids), CHUNK):
        session.execute(
            update(table)
            .where(table.c.id.in_(ids[start : start + CHUNK]))
            .values(deleted_at=now, synced_at=now)
        )


def set_opportunity_accounts(session: Session, *, workspace_id: int, source: str) -> int:
    """Each live opportunity of the source takes the account of its primary live account link
    (else the link with the lowest CRM id; none: no account); answers how many changed."""
    link = table_of(AccountLink)
    account = table_of(Account)
    opportunity = table_of(Opportunity)
    chosen = (
        select(link.c.account_id)
        .join(account, account.c.id == link.c.account_id)
        .where(link.c.opportunity_id == opportunity.c.id, link.c.deleted_at.is_(None))
        .order_by(
            link.c.is_primary.desc(), func.length(account.c.external_id), account.c.external_id
        )
        .limit(1)
        .scalar_subquery()
    )
    result = session.execute(
        update(opportunity)
        .where(
            opportunity.c.workspace_id == workspace_id,
            opportunity.c.source == source,
            opportunity.c.deleted_at.is_(None),
            opportunity.c.account_id.is_distinct_from(chosen),
        )
        .values(account_id=chosen)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def contact_emails(session: Session, contact_ids: Sequence[int]) -> dict[int, set[str]]:
    """The additional (normalized) emails stored for each of these contacts."""
    found: dict[int, set[str]] = {}
    for start in range(0, len(contact_ids), CHUNK):
        rows = session.execute(
            select(ContactEmail.contact_id, ContactEmail.email_normalized).where(
                ContactEmail.contact_id.in_(contact_ids[start : start + CHUNK])
            )
        )
        for contact_id, email in rows:
            found.setdefault(contact_id, set()).add(email)
    return found


def replace_contact_emails(
    session: Session, contact_ids: Sequence[int], rows: list[dict[str, Any]]
) -> None:
    for start in range(0, len(contact_ids), CHUNK):
        session.execute(
            delete(ContactEmail).where(
                ContactEmail.contact_id.in_(contact_ids[start : start + CHUNK])
            )
        )
    if rows:
        session.execute(insert(ContactEmail), rows)


def contact_ids_by_email(
    session: Session, *, workspace_id: int, source: str, emails: Iterable[str]
) -> dict[str, int]:
    """normalized email -> the live contact of the source with it (the oldest, if several)."""
    wanted = sorted(set(emails))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(Contact.email_normalized, Contact.id)
            .where(
                Contact.workspace_id == workspace_id,
                Contact.source == source,
                Contact.deleted_at.is_(None),
                Contact.email_normalized.in_(wanted[start : start + CHUNK]),
            )
            .order_by(Contact.id.desc())
        )
        found.update({str(email): id_ for email, id_ in rows})
    return found
