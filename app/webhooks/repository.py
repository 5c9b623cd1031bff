from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import WebhookDelivery, WebhookSource
from app.upsert import insert_once


def source_by_key(session: Session, key: str) -> WebhookSource | None:
    return session.scalar(select(WebhookSource).where(WebhookSource.key == key))


def source_by_id(session: Session, workspace_id: int, source_id: int) -> WebhookSource | None:
    return session.scalar(
        select(WebhookSource).where(
            WebhookSource.workspace_id == workspace_id, WebhookSource.id == source_id
        )
    )


def source_by_name(session: Session, workspace_id: int, source: str) -> WebhookSource | None:
    return session.scalar(
        select(WebhookSource).where(
            WebhookSource.workspace_id == workspace_id, WebhookSource.source == source
        )
    )


def sources(session: Session, workspace_id: int) -> list[WebhookSource]:
    return list(
        session.scalars(
            select(WebhookSource)
            .where(WebhookSource.workspace_id == workspace_id)
            .order_by(WebhookSource.id)
        )
    )


def claim_delivery(session: Session, delivery: dict[str, Any]) -> bool:
    """Record a delivery; False when it was seen before (a replay, or a concurrent retry, which
    on PostgreSQL waits for the first one's transaction and then finds it)."""
    return insert_once(session, WebhookDelivery, delivery, ("webhook_source_id", "delivery_id"))
