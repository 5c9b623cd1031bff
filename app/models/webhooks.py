"""Signed webhooks from community platforms: each source's secrets, and the deliveries seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Id, id_pk, workspace_fk


class WebhookSource(Base):
    """One platform sending to ``/v1/webhooks/{key}``: its signing secret (Fernet-encrypted; the
    previous one still accepted until ``previous_expires_at`` after a rotation) and the activity
    type each of its event types becomes (``event_map``: overrides of the platform's defaults)."""

    __tablename__ = "webhook_source"
    __table_args__ = (UniqueConstraint("key"), UniqueConstraint("workspace_id", "source"))

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    kind: Mapped[str] = mapped_column(String(16), doc="discourse, slack, github or generic")
    key: Mapped[str] = mapped_column(String(64), doc="the public path segment of its URL")
    source: Mapped[str] = mapped_column(String(64), doc="the touches' source and identity platform")
    event_map: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """A delivery already handled (by the platform's event or delivery id): a replay stores
    nothing twice."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("webhook_source_id", "delivery_id"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    webhook_source_id: Mapped[int] = mapped_column(
        Id, ForeignKey("webhook_source.id", ondelete="CASCADE")
    )
    delivery_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(64))
    touchpoints: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime]
