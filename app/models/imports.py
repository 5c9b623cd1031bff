"""File imports of touchpoints and members: saved column mappings, jobs, their files and rejections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Id, Leased, id_pk, workspace_fk


class ImportSource(Base):
    """A column mapping saved under a source's name (``zoom``, ``bevy``), used by later imports."""

    __tablename__ = "import_source"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "key"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    kind: Mapped[str] = mapped_column(String(16), doc="touchpoints or members")
    key: Mapped[str] = mapped_column(String(64))
    format: Mapped[str | None] = mapped_column(String(8), doc="csv or ndjson")
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ImportJob(Leased, Base):
    """One upload: its settings, its progress and its result document; a queued one is claimed
    by `commattr worker` under a lease, like sync runs and attribution runs."""

    __tablename__ = "import_job"
    __table_args__ = (Index(None, "status", "id"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    kind: Mapped[str] = mapped_column(String(16), doc="touchpoints or members")
    status: Mapped[str] = mapped_column(
        String(16), doc="queued, running, succeeded, failed, cancelled"
    )
    source: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(8))
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    suppressed: Mapped[int] = mapped_column(Integer, default=0)
    members_created: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ImportChunk(Base):
    """A queued import's file, in order, so a worker on any machine can read it."""

    __tablename__ = "import_chunk"
    __table_args__ = (UniqueConstraint("import_id", "seq"),)

    id: Mapped[int] = id_pk()
    import_id: Mapped[int] = mapped_column(Id, ForeignKey("import_job.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportRejection(Base):
    """One reason one row of an import was not stored: its line, the field and what is wrong."""

    __tablename__ = "import_rejection"
    __table_args__ = (Index(None, "import_id", "line"),)

    id: Mapped[int] = id_pk()
    import_id: Mapped[int] = mapped_column(Id, ForeignKey("import_job.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(500))
