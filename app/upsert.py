"""Bulk insert-or-update by a natural key, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models.base import Base

CHUNK = 2_000


def upsert(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    keep: Sequence[str] = (),
) -> None:
    """Insert ``rows``; where ``key`` already exists, overwrite every column but ``key`` and ``keep``."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = list(rows[0])
    for start in range(0, len(rows), CHUNK):
        statement = insert(table).values(list(rows[start : start + CHUNK]))
        updates = {c: statement.excluded[c] for c in columns if c not in key and c not in keep}
        session.execute(statement.on_conflict_do_update(index_elements=list(key), set_=updates))


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
