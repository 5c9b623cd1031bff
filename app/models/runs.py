"""Attribution runs: a run's parameters, its snapshot of each opportunity, and its credits."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Numeric,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, Id, id_pk, workspace_fk


class AttributionRun(Base):
    __tablename__ = "attribution_run"
    __table_args__ = (Index(None, "workspace_id", "model", "status"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    model: Mapped[str] = mapped_column(String(32))
    parameters: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[datetime]
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    channel_summary: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(String(2000))


class RunOpportunity(Base):
    """The opportunity as the run saw it; reports read this copy, so later syncs never move them."""

    __tablename__ = "run_opportunity"

    run_id: Mapped[int] = mapped_column(
        Id, ForeignKey("attribution_run.id", ondelete="CASCADE"), primary_key=True
    )
    opportunity_id: Mapped[int] = mapped_column(
        Id, ForeignKey("opportunity.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    workspace_id: Mapped[int] = workspace_fk()
    account_id: Mapped[int | None] = mapped_column(Id)
    type: Mapped[str] = mapped_column(String(16))
    stage_name: Mapped[str | None] = mapped_column(String(100))
    pipeline: Mapped[str | None] = mapped_column(String(100))
    is_closed: Mapped[bool] = mapped_column(Boolean)
    is_won: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    created_date: Mapped[date] = mapped_column(Date, doc="local date of created_at")
    close_date: Mapped[date | None] = mapped_column(Date)
    pipeline_rate: Mapped[Decimal | None] = mapped_column(
        Numeric(24, 12), doc="to the reporting currency at created_date; null when unknown"
    )
    revenue_rate: Mapped[Decimal | None] = mapped_column(
        Numeric(24, 12), doc="to the reporting currency at close_date; null when unknown"
    )
    pipeline_influenced: Mapped[bool] = mapped_column(Boolean)
    revenue_influenced: Mapped[bool] = mapped_column(Boolean)
    sourced: Mapped[bool] = mapped_column(Boolean)
    accelerated: Mapped[bool] = mapped_column(Boolean)


class Credit(Base):
    """The share of one opportunity's amount, in one stage, given to one touch by the run's model."""

    __tablename__ = "credit"
    __table_args__ = (Index(None, "run_id", "stage", "opportunity_id"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    run_id: Mapped[int] = mapped_column(Id, ForeignKey("attribution_run.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(8))
    opportunity_id: Mapped[int] = mapped_column(Id)
    touchpoint_id: Mapped[int] = mapped_column(Id, index=True)
    is_community: Mapped[bool] = mapped_column(Boolean)
    activity_type_id: Mapped[int] = mapped_column(Id)
    program_id: Mapped[int | None] = mapped_column(Id)
    fraction: Mapped[float] = mapped_column(Float(53))
    amount: Mapped[int] = mapped_column(BigInteger)
