"""All SQL of the sync: reading what is stored, upserting pages, cursors, the connection lease."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    Date,
    MetaData,
    String,
    Table,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.elements import ColumnElement

from app.models import (
    Account,
    AccountLink,
    Contact,
    ContactEmail,
    CrmConnection,
    Lead,
    MemberIdentity,
    MemberLink,
    Opportunity,
    OpportunityContact,
    Suppression,
    SyncCursor,
    SyncJob,
    SyncRun,
    Touchpoint,
)
from app.models.base import Base, UTCDateTime
from app.upsert import upsert

CHUNK = 1_000
KEY = ("workspace_id", "source", "external_id")


def table_of(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def within(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN values`` bound as one parameter (a PostgreSQL array, a SQLite JSON array read
    by json_each), so thousands of values cost one statement, neither parsed nor expanded anew."""
    listed = list(values)
    if _is_postgres(session):
        return cast(
            ColumnElement[bool],
            column == any_(bindparam(None, listed, type_=ARRAY(column.type))),
        )
    each = func.json_each(bindparam(None, json.dumps(listed), type_=String)).table_valued("value")
    return cast(ColumnElement[bool], column.in_(select(each.c.value)))


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
    wanted = set(external_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(table.c.external_id, table.c.id).where(
            table.c.workspace_id == workspace_id,
            table.c.source == source,
            within(session, table.c.external_id, wanted),
        )
    )
    return {external_id: id_ for external_id, id_ in rows}


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


def synced_since(
    session: Session,
    model: type[Contact] | type[Lead],
    *,
    workspace_id: int,
    source: str,
    since: datetime,
) -> list[int]:
    return list(
        session.scalars(
            select(model.id).where(
                model.workspace_id == workspace_id,
                model.source == source,
                model.synced_at >= since,
            )
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
        if ids:
            found.update(
                session.scalars(select(MemberLink.member_id).where(within(session, column, ids)))
            )
    return found


def members_matching_emails_of(
    session: Session, *, workspace_id: int, contact_ids: Iterable[int], lead_ids: Iterable[int]
) -> set[int]:
    """Members with an email of these contacts (primary or additional) or leads, joined in the
    database."""
    found: set[int] = set()
    identity = MemberIdentity
    people: tuple[tuple[list[int], type[Base], Any, Any], ...] = (
        (list(contact_ids), Contact, Contact.id, Contact.email_normalized),
        (list(lead_ids), Lead, Lead.id, Lead.email_normalized),
        (list(contact_ids), ContactEmail, ContactEmail.contact_id, ContactEmail.email_normalized),
    )
    for ids, model, column, email in people:
        if ids:
            found.update(
                session.scalars(
                    select(identity.member_id)
                    .join(model, email == identity.value)
                    .where(identity.workspace_id == workspace_id, within(session, column, ids))
                )
            )
    return found


def _survivor_of(table: Table, survivor: Any) -> Any:
    return (
        (survivor.c.workspace_id == table.c.workspace_id)
        & (survivor.c.source == table.c.source)
        & (survivor.c.external_id == table.c.merged_into)
    )


def resolve_ids(
    session: Session,
    model: type[Base],
    *,
    workspace_id: int,
    source: str,
    external_ids: Iterable[str],
) -> dict[str, int]:
    """external_id -> id of these records, or of the record a merged-away one merged into (so
    that a stale reference never undoes a merge): one query."""
    table = table_of(model)
    survivor = table.alias("survivor")
    wanted = set(external_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(table.c.external_id, func.coalesce(survivor.c.id, table.c.id))
        .outerjoin(survivor, _survivor_of(table, survivor))
        .where(
            table.c.workspace_id == workspace_id,
            table.c.source == source,
            within(session, table.c.external_id, wanted),
        )
    )
    return {external_id: id_ for external_id, id_ in rows}


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
    """Soft-delete the stored live links of these parents that the CRM no longer lists
    (compared in the database); answers how many."""
    _stage_live(session, live)
    table = table_of(model)
    gone = 0
    for start in range(0, len(parent_ids), CHUNK):
        result = session.execute(
            update(table)
            .where(
                table.c[parent_column].in_(parent_ids[start : start + CHUNK]),
                table.c.deleted_at.is_(None),
                _unlisted(table),
            )
            .values(deleted_at=now, synced_at=now)
        )
        gone += int(result.rowcount)  # type: ignore[attr-defined]
    return gone


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
    if not contact_ids:
        return found
    rows = session.execute(
        select(ContactEmail.contact_id, ContactEmail.email_normalized).where(
            within(session, ContactEmail.contact_id, contact_ids)
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


# -- staged writes: a page goes to a temporary table; the database compares and upserts ---------

_staging = MetaData()
LIVE_IDS = Table(
    "sync_live_ids",
    _staging,
    Column("external_id", String, primary_key=True),
    prefixes=["TEMPORARY"],
)
ANALYZE_STAGE_AT = 1_000  # staged rows from which PostgreSQL is given the stage's statistics


@dataclass(frozen=True)
class Merged:
    """What a staged merge found: ``written`` are the ids of the rows inserted or updated."""

    created: int
    updated: int
    deleted: int
    unchanged: int
    written: tuple[int, ...]


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _stage_of(model: type[Base], names: Sequence[str]) -> Table:
    """A temporary table with these columns of the model's table, without constraints."""
    table = table_of(model)
    name = f"sync_stage_{table.name}_{len(names)}"
    stage = _staging.tables.get(name)
    if stage is None:
        columns = (Column(n, table.c[n].type) for n in names)
        stage = Table(name, _staging, *columns, prefixes=["TEMPORARY"])
    if [c.name for c in stage.columns] != list(names):
        raise ValueError(f"rows of {table.name} changed shape: {names}")
    return stage


def _sqlite_datetime(value: datetime | None) -> str | None:
    # the text SQLAlchemy's SQLite DateTime stores (naive UTC), so compared and copied unchanged
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return "{}" if value == {} else json.dumps(value)


def _converter(column: Column[Any], postgres: bool) -> Callable[[Any], Any] | None:
    """How a Python value of this column is written by the driver itself, as SQLAlchemy would."""
    if isinstance(column.type, JSON):
        return _json
    if postgres:
        return None
    if isinstance(column.type, UTCDateTime):
        return _sqlite_datetime
    if isinstance(column.type, Date):
        return _iso_date
    return None


def _fill(session: Session, stage: Table, rows: Iterable[Sequence[Any]]) -> int:
    """Empty the (temporary) stage, then copy the rows (tuples in its column order) into it:
    PostgreSQL COPY, SQLite executemany; the driver's own adaptation, no per-row SQLAlchemy."""
    connection = session.connection()
    postgres = _is_postgres(session)
    _empty(session, stage)
    converters = [_converter(column, postgres) for column in stage.columns]
    values = [
        tuple(v if f is None else f(v) for f, v in zip(converters, row, strict=True))
        for row in rows
    ]
    names = ", ".join(column.name for column in stage.columns)
    if postgres:
        raw = connection.connection.driver_connection
        with (
            raw.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(f"COPY {stage.name} ({names}) FROM STDIN") as copy,
        ):
            for value in values:
                copy.write_row(value)
        if len(values) >= ANALYZE_STAGE_AT:
            connection.exec_driver_sql(f"ANALYZE {stage.name}")
    elif values:
        marks = ", ".join("?" for _ in stage.columns)
        connection.exec_driver_sql(f"INSERT INTO {stage.name} ({names}) VALUES ({marks})", values)
    return len(values)


def _empty(session: Session, stage: Table) -> None:
    """Create the stage on this connection unless it exists, and empty it. PostgreSQL gets
    both in one round trip (several statements without parameters in one simple query)."""
    dialect = session.get_bind().dialect
    create = str(CreateTable(stage, if_not_exists=True).compile(dialect=dialect)).strip()
    empty = f"DELETE FROM {stage.name}"
    if _is_postgres(session):
        _raw_cursor(session).execute(f"{create}; {empty}")
        return
    connection = session.connection()
    connection.exec_driver_sql(create)
    connection.exec_driver_sql(empty)


def _raw_cursor(session: Session) -> Any:
    return session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]


def merge_rows(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], *, compared: Sequence[str]
) -> Merged:
    """Upsert ``rows`` (one per external id; every row with the same keys) by (workspace,
    source, external_id), comparing in the database: only new, deleted, undeleted and changed
    rows (a ``compared`` column differs) are written; a row deleted again keeps its first
    deletion time."""
    if not rows:
        return Merged(0, 0, 0, 0, ())
    names = tuple(rows[0])
    stage = _stage_of(model, names)
    _fill(session, stage, ([row[n] for n in names] for row in rows))
    count_sql, write_sql = _merge_sql(session, model, names, tuple(compared))
    created, updated, deleted, written = _count_then_write(session, count_sql, write_sql)
    unchanged = len(rows) - created - updated - deleted
    return Merged(created, updated, deleted, unchanged, written)


def _count_then_write(
    session: Session, count_sql: str, write_sql: str
) -> tuple[int, int, int, tuple[int, ...]]:
    """Run the count, then the write; on PostgreSQL in one round trip (two result sets)."""
    if _is_postgres(session):
        with _raw_cursor(session) as cursor:
            cursor.execute(f"{count_sql}; {write_sql}")
            created, updated, deleted = cursor.fetchone()
            cursor.nextset()
            written = tuple(row[0] for row in cursor.fetchall())
        return created, updated, deleted, written
    connection = session.connection()
    created, updated, deleted = connection.exec_driver_sql(count_sql).one()
    return created, updated, deleted, tuple(connection.exec_driver_sql(write_sql).scalars())


_MERGE_SQL: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], tuple[str, str]] = {}


def _merge_sql(
    session: Session, model: type[Base], names: tuple[str, ...], compared: tuple[str, ...]
) -> tuple[str, str]:
    """The two statements of a merge (count, then write), compiled once per dialect and shape:
    they bind no parameter, so the SQL text is all there is."""
    dialect = session.get_bind().dialect
    key = (dialect.name, table_of(model).name, names, compared)
    if key not in _MERGE_SQL:
        count, write = _merge_statements(session, model, names, compared)
        _MERGE_SQL[key] = (str(count.compile(dialect=dialect)), str(write.compile(dialect=dialect)))
    return _MERGE_SQL[key]


def _merge_statements(
    session: Session, model: type[Base], names: tuple[str, ...], compared: tuple[str, ...]
) -> tuple[Any, Any]:
    table = table_of(model)
    stage = _stage_of(model, names)
    s, t = stage.c, table.c
    joined = stage.outerjoin(table, and_(*(t[k] == s[k] for k in KEY)))
    changed = or_(*(s[c].is_distinct_from(t[c]) for c in compared))
    both_deleted = and_(t.deleted_at.is_not(None), s.deleted_at.is_not(None))
    both_same = and_(t.deleted_at.is_(None), s.deleted_at.is_(None), ~changed)
    kept = and_(t.id.is_not(None), or_(both_deleted, both_same))
    count = select(
        func.count().filter(and_(t.id.is_(None), s.deleted_at.is_(None))),
        func.count().filter(
            and_(t.id.is_not(None), s.deleted_at.is_(None), or_(t.deleted_at.is_not(None), changed))
        ),
        func.count().filter(
            and_(t.id.is_not(None), t.deleted_at.is_(None), s.deleted_at.is_not(None))
        ),
    ).select_from(joined)
    insert_into = postgresql.insert if _is_postgres(session) else sqlite.insert
    write = insert_into(table).from_select(
        names, select(*(s[n] for n in names)).select_from(joined).where(~kept)
    )
    write = write.on_conflict_do_update(
        index_elements=list(KEY),
        set_={n: write.excluded[n] for n in names if n not in KEY},
    )
    return count, write.returning(t.id)


def _stage_live(session: Session, live: Iterable[str]) -> None:
    _fill(session, LIVE_IDS, ((external_id,) for external_id in set(live)))


def _unlisted(table: Table) -> Any:
    return ~exists().where(LIVE_IDS.c.external_id == table.c.external_id)


def soft_delete_unlisted(
    session: Session,
    model: type[Base],
    *,
    workspace_id: int,
    source: str,
    live: Iterable[str],
    now: datetime,
) -> int:
    """Soft-delete the stored live rows of the source whose external id ``live`` leaves out
    (compared in the database); answers how many."""
    _stage_live(session, live)
    table = table_of(model)
    result = session.execute(
        update(table)
        .where(
            table.c.workspace_id == workspace_id,
            table.c.source == source,
            table.c.deleted_at.is_(None),
            _unlisted(table),
        )
        .values(deleted_at=now, synced_at=now)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def delete_unlisted_touchpoints(
    session: Session, *, workspace_id: int, source: str, live: Iterable[str]
) -> int:
    """Delete the source's touchpoints whose external id ``live`` leaves out; answers how many."""
    _stage_live(session, live)
    table = table_of(Touchpoint)
    result = session.execute(
        delete(table).where(
            table.c.workspace_id == workspace_id, table.c.source == source, _unlisted(table)
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def has_live(session: Session, model: type[Base], *, workspace_id: int, source: str) -> bool:
    """Whether the source holds any live row of the model (touchpoints have no soft delete)."""
    table = table_of(model)
    conditions = [table.c.workspace_id == workspace_id, table.c.source == source]
    if "deleted_at" in table.c:
        conditions.append(table.c.deleted_at.is_(None))
    return session.scalar(select(table.c.id).where(*conditions).limit(1)) is not None


def save_progress(
    session: Session, run_id: int, *, counts: dict[str, Any], cursors: dict[str, Any]
) -> None:
    session.execute(
        update(SyncRun).where(SyncRun.id == run_id).values(counts=counts, cursors=cursors)
    )


def cursors_of(session: Session, connection_id: int) -> dict[str, SyncCursor]:
    return {
        cursor.stream: cursor
        for cursor in session.scalars(
            select(SyncCursor).where(SyncCursor.connection_id == connection_id)
        )
    }


def stored_additional_emails(
    session: Session, *, workspace_id: int, source: str, external_ids: Sequence[str]
) -> dict[str, set[str]]:
    """external id -> the additional emails stored, for those of these contacts with any."""
    found: dict[str, set[str]] = {}
    if not external_ids:
        return found
    rows = session.execute(
        select(Contact.external_id, ContactEmail.email_normalized)
        .join(ContactEmail, ContactEmail.contact_id == Contact.id)
        .where(
            Contact.workspace_id == workspace_id,
            Contact.source == source,
            within(session, Contact.external_id, external_ids),
        )
    )
    for external_id, email in rows:
        found.setdefault(external_id, set()).add(email)
    return found


def has_erasures(session: Session, workspace_id: int) -> bool:
    """Whether anything of this workspace was ever erased (then written records are checked)."""
    found = select(Suppression.id).where(Suppression.workspace_id == workspace_id).limit(1)
    return session.scalar(found) is not None
