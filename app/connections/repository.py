from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import CrmConnection


def get(session: Session, workspace_id: int, connection_id: int) -> CrmConnection | None:
    return session.scalar(
        select(CrmConnection).where(
            CrmConnection.workspace_id == workspace_id, CrmConnection.id == connection_id
        )
    )


def list_all(session: Session, workspace_id: int) -> Sequence[CrmConnection]:
    return session.scalars(
        select(CrmConnection)
        .where(CrmConnection.workspace_id == workspace_id)
        .order_by(CrmConnection.id)
    ).all()
