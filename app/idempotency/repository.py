from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import IdempotencyKey


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


def insert_in_flight(session: Session, row: IdempotencyKey) -> bool:
    """Insert the row; False when the key is already taken (by a concurrent request too)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def delete_row(session: Session, row_id: int) -> None:
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))
