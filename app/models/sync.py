"""CRM connections, their scheduled sync jobs, each run of a job, and the per-stream cursors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Id, Leased, id_pk, workspace_fk


class CrmConnection(Base):
    """A Salesforce org or HubSpot account. Credentials are Fernet-encrypted and never returned.

    ``locked_by_run_id``/``locked_until`` make a lease: one sync run per connection at a time,
    taken by a conditional UPDATE so it works the same on SQLite and PostgreSQL.
    """

    __tablename__ = "crm_connection"

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    credentials_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    field_mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    api_budget_share: Mapped[float] = mapped_column(Float, default=0.5)
    overlap_seconds: Mapped[int] = mapped_column(Integer, default=300)
    locked_by_run_id: Mapped[int | None] = mapped_column(Id)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SyncJob(Base):
    __tablename__ = "sync_job"
    __table_args__ = (Index(None, "enabled", "next_run_at"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    connection_id: Mapped[int] = mapped_column(
        Id, ForeignKey("crm_connection.id", ondelete="CASCADE"), index=True
    )
    objects: Mapped[list[str]] = mapped_column(JSON, default=list)
    cron: Mapped[str] = mapped_column(String(100))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    reconcile_every: Mapped[int] = mapped_column(
        Integer, default=24, doc="full id comparison of junction rows every N runs"
    )
    next_run_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class SyncRun(Leased, Base):
    __tablename__ = "sync_run"
    __table_args__ = (Index(None, "status", "id"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    connection_id: Mapped[int] = mapped_column(
        Id, ForeignKey("crm_connection.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[int | None] = mapped_column(Id, ForeignKey("sync_job.id", ondelete="SET NULL"))
    objects: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16))
    full_resync: Mapped[bool] = mapped_column(Boolean, default=False)
    reconcile: Mapped[bool] = mapped_column(Boolean, default=False)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cursors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class SyncCursor(Base):
    """The (timestamp, id) bookmark of one stream of one connection; it only moves forward."""

    __tablename__ = "sync_cursor"
    __table_args__ = (UniqueConstraint("connection_id", "stream"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    connection_id: Mapped[int] = mapped_column(
        Id, ForeignKey("crm_connection.id", ondelete="CASCADE")
    )
    stream: Mapped[str] = mapped_column(String(64))
    cursor_at: Mapped[datetime | None]
    cursor_id: Mapped[str | None] = mapped_column(String(64))
    reconciled_at: Mapped[datetime | None] = mapped_column(
        doc="the last full id comparison of this stream's junction rows"
    )
    updated_at: Mapped[datetime]
