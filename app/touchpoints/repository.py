from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, tuple_
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
