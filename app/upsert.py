"""Bulk writes on SQLite and PostgreSQL alike: insert-or-update by a natural key, and appending\nmany rows to a (temporary) table at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, any_, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.models.base import Base

CHUNK = 20_000


def upsert(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    keep: Sequence[str] = (),
) -> None:
    """Insert ``rows``; where ``key`` already exists, overwrite every column but ``key`` and ``keep``.

    One statement compiled once and run with executemany batches: fast, and far below SQLite's
    bind-parameter limit however wide the rows are."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    updates = {c: statement.excluded[c] for c in rows[0] if c not in key and c not in keep}
    statement = statement.on_conflict_do_update(index_elements=list(key), set_=updates)
    for start in range(0, len(rows), CHUNK):
        session.execute(statement, list(rows[start : start + CHUNK]))


def ids_by_external_id(
    session: Session, model: type[Base], *, workspace_id: int, source: str
) -> dict[str, int]:
    table = cast(Table, model.__table__)
    rows = session.execute(
        select(table.c.external_id, table.c.id).where(
            table.c.workspace_id == workspace_id, table.c.source == source
        )
    )
    return {external_id: id_ for external_id, id_ in rows}


def insert_once(
    session: Session, model: type[Base], row: dict[str, Any], key: Sequence[str]
) -> bool:
    """Insert ``row`` unless ``key`` is taken (``ON CONFLICT DO NOTHING``): True when inserted.

    No savepoint is needed, so it is safe inside a transaction on SQLite (whose driver would
    commit an outermost savepoint) and on PostgreSQL (where a concurrent insert of the same key
    waits for the other transaction, then does nothing)."""
    table = cast(Table, model.__table__)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(**row)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(*table.primary_key.columns)
    )
    return session.execute(statement).first() is not None


def _sqlite_value(value: Any) -> Any:
    # the text SQLAlchemy's SQLite DateTime stores, so INSERT ... SELECT copies it unchanged
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def copy_rows(session: Session, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Append rows (tuples in the table's column order) to ``table``: ``COPY`` on PostgreSQL,
    one prepared multi-row ``executemany`` on SQLite; no ORM, no per-row statement."""
    if not rows:
        return
    names = ", ".join(column.name for column in table.columns)
    if session.get_bind().dialect.name == "postgresql":
        raw = session.connection().connection.driver_connection
        with (
            raw.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    dated = [n for n, column in enumerate(table.columns) if column.type.python_type is datetime]
    if dated:
        rows = [tuple(_sqlite_value(v) for v in row) for row in rows]
    marks = ", ".join("?" for _ in table.columns)
    session.connection().exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) VALUES ({marks})", list(rows)
    )


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(array)``, one parameter whatever the
    number of values (SQLAlchemy and the driver would otherwise handle thousands of
    placeholders in Python for every query)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(list(values), ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(values)  # type: ignore[no-any-return]
