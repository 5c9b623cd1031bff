from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent


def page(
    session: Session, workspace_id: int, *, before_id: int | None, limit: int
) -> Sequence[AuditEvent]:
    """Newest first, ``limit`` rows with ids below ``before_id``."""
    query = select(AuditEvent).where(AuditEvent.workspace_id == workspace_id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all()
