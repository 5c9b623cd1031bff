"""Report SQL: sums of minor units grouped by the exchange rate they convert at."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from app.models import Credit
from app.models import RunOpportunity as RO

STAGE_RATE = {"pipeline": RO.pipeline_rate, "revenue": RO.revenue_rate}
FLAG = {
    "influenced": {"pipeline": RO.pipeline_influenced, "revenue": RO.revenue_influenced},
    "sourced": {"pipeline": RO.sourced, "revenue": RO.sourced},
    "accelerated": {"pipeline": RO.accelerated, "revenue": RO.accelerated},
}

RateGroup = tuple[str, Decimal | None, int, int]  # currency, rate, sum of minor units, count


def stage_filter(
    run_id: int, stage: str, period_from: date, period_to: date
) -> ColumnElement[bool]:
    """Pipeline: created in the period. Revenue: won and closed in the period. Negative amounts
    are stored but excluded."""
    valid_amount = or_(RO.amount.is_(None), RO.amount >= 0)
    if stage == "pipeline":
        return and_(
            RO.run_id == run_id, valid_amount, RO.created_date.between(period_from, period_to)
        )
    return and_(
        RO.run_id == run_id,
        valid_amount,
        RO.is_won.is_(True),
        RO.close_date.between(period_from, period_to),
    )


def opportunity_sums(
    session: Session, where: ColumnElement[bool], stage: str, flag: Any
) -> list[RateGroup]:
    rate = STAGE_RATE[stage]
    query = (
        select(RO.currency, rate, func.coalesce(func.sum(RO.amount), 0), func.count())
        .where(where)
        .group_by(RO.currency, rate)
    )
    if flag is not None:
        query = query.where(flag.is_(True))
    return [(c, r, int(s or 0), int(n)) for c, r, s, n in session.execute(query)]


def attributed_sums(session: Session, where: ColumnElement[bool], stage: str) -> list[RateGroup]:
    """Community credit, and the number of opportunities where community got a non-zero share."""
    rate = STAGE_RATE[stage]
    query = (
        select(
            RO.currency,
            rate,
            func.coalesce(func.sum(Credit.amount), 0),
            func.count(func.distinct(Credit.opportunity_id)),
        )
        .join(Credit, and_(Credit.run_id == RO.run_id, Credit.opportunity_id == RO.opportunity_id))
        .where(where, Credit.stage == stage, Credit.is_community.is_(True), Credit.fraction > 0)
        .group_by(RO.currency, rate)
    )
    return [(c, r, int(s), int(n)) for c, r, s, n in session.execute(query)]
