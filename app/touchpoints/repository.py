from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models import Contact, Lead, Touchpoint
from app.upsert import upsert


def crm_person_ids(
    session: Session,
    model: type[Contact] | type[Lead],
    workspace_id: int,
    keys: Iterable[tuple[str, str]],
) -> dict[tuple[str, str], int]:
    """Ids of live contacts (or leads) by (source, external_id)."""
    wanted = list(set(keys))
    found: dict[tuple[str, str], int] = {}
    for start in range(0, len(wanted), 1_000):
        rows = session.execute(
            select(model.source, model.external_id, model.id).where(
                model.workspace_id == workspace_id,
                model.deleted_at.is_(None),
                tuple_(model.source, model.external_id).in_(wanted[start : start + 1_000]),
            )
        )
        found.update({(source, external_id): id_ for source, external_id, id_ in rows})
    return found


def store(session: Session, rows: list[dict[str, Any]]) -> None:
    upsert(session, Touchpoint, rows, key=("workspace_id", "source", "external_id"))


def store_earliest(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the touches; one already stored keeps the earlier of its time and the new one
    (a webinar attendee who joins three times is one attendance, at the first join)."""
    if not rows:
        return
    table = cast(Table, Touchpoint.__table__)
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = (postgresql.insert if postgres else sqlite.insert)(table)
    earlier = (func.least if postgres else func.min)(
        table.c.occurred_at, statement.excluded.occurred_at
    )
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "source", "external_id"],
        set_={"occurred_at": earlier, "received_at": statement.excluded.received_at},
    )
    session.execute(statement, rows)
