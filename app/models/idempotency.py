"""Idempotency keys of batch and import requests: the first answer, replayed for a repeat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, id_pk, workspace_fk


class IdempotencyKey(Base):
    """``in_flight`` while the first request runs (until ``locked_until``), then ``done`` with its
    answer; forgotten after ``expires_at``. ``fingerprint`` is a SHA-256 of method, path, query
    and body: the same key with another request is refused."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("workspace_id", "key"),
        Index(None, "workspace_id", "expires_at"),
    )

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    locked_until: Mapped[datetime]
    expires_at: Mapped[datetime]
