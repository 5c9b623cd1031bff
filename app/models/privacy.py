"""Erasure (GDPR Art. 17): who must never come back, what was erased, and which runs it amended.
None of these rows holds personal data: subjects are kept only as a salted hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Id, id_pk, workspace_fk


class Suppression(Base):
    """An erased email, platform user id or member id, as HMAC-SHA256 under the workspace's salt:
    no later sync, import or webhook stores it again."""

    __tablename__ = "suppression"
    __table_args__ = (UniqueConstraint("workspace_id", "subject_hash"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    subject_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class Erasure(Base):
    """The audit record of one erasure: when, by which key, and how much was removed."""

    __tablename__ = "erasure"

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    requested_at: Mapped[datetime]
    api_key_id: Mapped[int | None] = mapped_column(Id)
    subject_kind: Mapped[str] = mapped_column(String(16), doc="email or member")
    members: Mapped[int] = mapped_column(Integer)
    identities: Mapped[int] = mapped_column(Integer)
    crm_records: Mapped[int] = mapped_column(Integer, doc="contacts and leads")
    touchpoints: Mapped[int] = mapped_column(Integer)
    credits: Mapped[int] = mapped_column(Integer)
    runs_amended: Mapped[int] = mapped_column(Integer)


class RunAmendment(Base):
    """A run whose credits an erasure removed (frozen runs too: the law wins over the freeze)."""

    __tablename__ = "run_amendment"

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    run_id: Mapped[int] = mapped_column(
        Id, ForeignKey("attribution_run.id", ondelete="CASCADE"), index=True
    )
    erasure_id: Mapped[int] = mapped_column(
        Id, ForeignKey("erasure.id", ondelete="CASCADE"), index=True
    )
    credits_removed: Mapped[int] = mapped_column(Integer)
    amended_at: Mapped[datetime]
