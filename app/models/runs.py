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

from app.models.base import Base, Id, Leased, id_pk, workspace_fk


class AttributionRun(Leased, Base):
    __tablename__ = "attribution_run"
    __table_args__ = (
        Index(None, "workspace_id", "model", "status"),
        Index(None, "status", "id"),
    )

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    model: Mapped[str] = mapped_column(String(32))
    parameters: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[datetime]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None] = mapped_column(doc="when its last attempt started")
    finished_at: Mapped[datetime | None]
    channel_summary: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(String(2000))
    is_default: Mapped[bool] = mapped_column(
        Boolean, default=False, doc="queued from the workspace's default runs"
    )
    frozen_from: Mapped[date | None] = mapped_column(Date, doc="figure of record from this date")
    frozen_to: Mapped[date | None] = mapped_column(Date, doc="figure of record to this date")
    frozen_at: Mapped[datetime | None]
    frozen_note: Mapped[str | None] = mapped_column(String(500))


class DefaultRun(Base):
    """A run the workspace keeps fresh: queued again after every sync that changed records."""

    __tablename__ = "default_run"

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    request: Mapped[dict[str, Any]] = mapped_column(doc="the POST /v1/attribution-runs body")
    created_at: Mapped[datetime]


class RunOpportunity(Base):
    """The opportunity as the run saw it; reports read this copy, so later syncs never move them.

    It also carries the opportunity's community credit per stage, so period summaries read one row
    per opportunity instead of every credit."""

    __tablename__ = "run_opportunity"
    __table_args__ = (
        Index(None, "run_id", "created_date"),
        Index(None, "run_id", "close_date"),
    )

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
    pipeline_attributed: Mapped[int] = mapped_column(
        BigInteger, doc="community credit of the pipeline stage, minor units of `currency`"
    )
    revenue_attributed: Mapped[int] = mapped_column(
        BigInteger, doc="community credit of the revenue stage, minor units of `currency`"
    )
    pipeline_attributed_any: Mapped[bool] = mapped_column(
        Boolean, doc="community touches got a non-zero share of the pipeline stage"
    )
    revenue_attributed_any: Mapped[bool] = mapped_column(
        Boolean, doc="community touches got a non-zero share of the revenue stage"
    )


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


class CreditRollup(Base):
    """Credits of one run summed per stage, opportunity, activity type and program: what the
    breakdown reports read (``touches`` counts the touches in the stage's window)."""

    __tablename__ = "credit_rollup"
    __table_args__ = (Index(None, "run_id", "stage", "opportunity_id"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    run_id: Mapped[int] = mapped_column(Id, ForeignKey("attribution_run.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(8))
    opportunity_id: Mapped[int] = mapped_column(Id)
    activity_type_id: Mapped[int] = mapped_column(Id)
    program_id: Mapped[int | None] = mapped_column(Id)
    is_community: Mapped[bool] = mapped_column(Boolean)
    touches: Mapped[int] = mapped_column(BigInteger)
    fraction: Mapped[float] = mapped_column(Float(53))
    amount: Mapped[int] = mapped_column(BigInteger)


class ReportRollup(Base):
    """A run's report measures summed per stage, local day (``span`` day) or month (``span``
    month, ``day`` its first day), opportunity type and exchange rate, and per breakdown key:
    reports over a period and types read whole months and the days at its edges instead of every
    opportunity and credit. ``dimension`` is empty for the opportunity measures (total,
    influenced, sourced, accelerated, attributed) and names the breakdown otherwise (measures
    touched and credited)."""

    __tablename__ = "report_rollup"
    __table_args__ = (Index(None, "run_id", "stage", "dimension", "span", "day"),)

    id: Mapped[int] = id_pk()
    workspace_id: Mapped[int] = workspace_fk()
    run_id: Mapped[int] = mapped_column(Id, ForeignKey("attribution_run.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(8))
    dimension: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    span: Mapped[str] = mapped_column(String(5))
    day: Mapped[date] = mapped_column(Date)
    type: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal | None] = mapped_column(Numeric(24, 12))
    measure: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    opportunities: Mapped[int] = mapped_column(BigInteger)
