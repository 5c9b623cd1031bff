from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app.models import ApiKey


def active_key_by_hash(session: Session, key_hash: str, now: datetime) -> ApiKey | None:
    return session.scalar(
        select(ApiKey).where(
            ApiKey.key_hash == key_hash,
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
    )


def touch(session: Session, key_id: int, now: datetime, resolution: timedelta) -> None:
    """Set last_used_at unless another request did within ``resolution`` (one cheap UPDATE)."""
    session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= now - resolution),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def get(session: Session, workspace_id: int, key_id: int) -> ApiKey | None:
    return session.scalar(
        select(ApiKey).where(ApiKey.workspace_id == workspace_id, ApiKey.id == key_id)
    )


def list_all(session: Session, workspace_id: int) -> Sequence[ApiKey]:
    return session.scalars(
        select(ApiKey).where(ApiKey.workspace_id == workspace_id).order_by(ApiKey.id)
    ).all()


def active_admin_ids(session: Session, workspace_id: int, now: datetime) -> set[int]:
    keys = session.scalars(
        select(ApiKey).where(
            ApiKey.workspace_id == workspace_id,
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
    ).all()
    return {key.id for key in keys if "admin" in key.scopes}
