from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import IdempotencyKey
from app.upsert import insert_once


def forget_expired(session: Session, workspace_id: int, now: datetime) -> None:
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.expires_at < now
        )
    )


def find(session: Session, workspace_id: int, key: str) -> IdempotencyKey | None:
    return session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.key == key
        )
    )


def insert_in_flight(session: Session, row: dict[str, Any]) -> bool:
    """Insert the row; False when the key is already taken (by a concurrent request too)."""
    return insert_once(session, IdempotencyKey, row, ("workspace_id", "key"))


def delete_row(session: Session, row_id: int) -> None:
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
