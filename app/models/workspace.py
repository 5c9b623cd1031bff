"""A workspace is one company: its settings, and the API keys that reach it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Id, JsonDoc, id_pk, workspace_fk


class Workspace(Base):
    __tablename__ = "workspace"

    id: Mapped[int] = id_pk()
    name: Mapped[str] = mapped_column(String(200))
    reporting_currency: Mapped[str] = mapped_column(String(3), default="USD")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    fiscal_year_start_month: Mapped[int] = mapped_column(Integer, default=1)
    staff_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    free_mail_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    duplicate_window_minutes: Mapped[int] = mapped_column(Integer, default=60)
    default_lookback_days: Mapped[int] = mapped_column(Integer, default=365)
    default_scope: Mapped[str] = mapped_column(String(32), default="contact_roles_then_account")
    default_half_life_days: Mapped[float] = mapped_column(default=7.0)
    created_at: Mapped[datetime]
    privacy_salt: Mapped[str] = mapped_column(
        String(64), doc="secret key of the salted hashes that keep erased people out"
    )


class ApiKey(Base):
    """Keys are stored as a SHA-256 digest: they are random 32-byte secrets, so no slow hash is needed."""

    __tablename__ = "api_key"

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The key stops working at this instant (an expiry, or the end of a rotation's grace period).
    expires_at: Mapped[datetime | None]
    replaced_by_id: Mapped[int | None] = mapped_column(Id)


class AuditEvent(Base):
    """An admin action: who (key id, or None for the command line), what, when, and the request
    body with every secret-named field redacted. Rows are only ever inserted (triggers refuse
    UPDATE and DELETE)."""

    __tablename__ = "audit_event"

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    api_key_id: Mapped[int | None] = mapped_column(Id)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(200))
    target: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    change: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    occurred_at: Mapped[datetime]
