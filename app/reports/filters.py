"""The period and filters every report takes, and the SQL they become on a run's snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import Query
from sqlalchemy import ColumnElement, and_, or_, true

from app.bounds import Day, NonNegativeMajorAmount, Text
from app.exceptions import InvalidInput
from app.models import RunOpportunity as RO
from app.reports.periods import Preset

Stage = Literal["pipeline", "revenue"]
STAGES: tuple[Stage, ...] = ("pipeline", "revenue")
STAGE_RATE = {"pipeline": RO.pipeline_rate, "revenue": RO.revenue_rate}


@dataclass(frozen=True)
class ReportFilters:
    period_from: date
    period_to: date
    types: tuple[str, ...] = ()
    pipelines: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    account_ids: tuple[int, ...] | None = None  # None: any account
    amount_min: int | None = None  # minor units of the reporting currency
    amount_max: int | None = None

    def where(self, run_id: int, stage: Stage) -> ColumnElement[bool]:
        """Pipeline: created in the period. Revenue: won and closed in the period. Negative amounts
        are stored but never reported."""
        conditions: list[ColumnElement[bool]] = [
            RO.run_id == run_id,
            or_(RO.amount.is_(None), RO.amount >= 0),
        ]
        if stage == "pipeline":
            conditions.append(RO.created_date.between(self.period_from, self.period_to))
        else:
            conditions += [
                RO.is_won.is_(True),
                RO.close_date.between(self.period_from, self.period_to),
            ]
        if self.types:
            conditions.append(RO.type.in_(self.types))
        if self.pipelines:
            conditions.append(RO.pipeline.in_(self.pipelines))
        if self.stages:
            conditions.append(RO.stage_name.in_(self.stages))
        if self.account_ids is not None:
            conditions.append(RO.account_id.in_(self.account_ids))
        converted: Any = RO.amount * STAGE_RATE[stage]
        if self.amount_min is not None:
            conditions.append(converted >= self.amount_min)
        if self.amount_max is not None:
            conditions.append(converted <= self.amount_max)
        return and_(true(), *conditions)


@dataclass(frozen=True)
class FilterParams:
    """The query string as given; the service turns it into ReportFilters (period, accounts,
    currency)."""

    period_from: date | None
    period_to: date | None
    types: tuple[str, ...]
    pipelines: tuple[str, ...]
    stages: tuple[str, ...]
    account: str | None
    amount_min: Decimal | None
    amount_max: Decimal | None
    preset: Preset | None = None


def filter_params(
    period_from: Annotated[
        Day | None,
        Query(
            alias="from", description="First local date, inclusive, 1900-2200 (or give `period`)."
        ),
    ] = None,
    period_to: Annotated[
        Day | None, Query(alias="to", description="Last local date, inclusive (1900-2200).")
    ] = None,
    preset: Annotated[
        Preset | None,
        Query(
            alias="period",
            description="Instead of from/to: this_quarter, last_quarter, this_fiscal_year, "
            "last_fiscal_year (fiscal, whole) or last_12_months (up to today), in the "
            "workspace's time zone.",
        ),
    ] = None,
    opportunity_type: Annotated[
        list[Literal["new_business", "expansion", "renewal", "other"]] | None,
        Query(alias="type", description="Only these opportunity types (repeatable)."),
    ] = None,
    pipeline: Annotated[
        list[Text] | None,
        Query(max_length=100, description="Only these CRM pipelines (repeatable)."),
    ] = None,
    stage: Annotated[
        list[Text] | None,
        Query(max_length=100, description="Only these CRM stages (repeatable)."),
    ] = None,
    account: Annotated[
        Text | None, Query(max_length=64, description="Only this account (its CRM external_id).")
    ] = None,
    amount_min: Annotated[
        NonNegativeMajorAmount | None,
        Query(description="Smallest amount, in the reporting currency (e.g. 10000)."),
    ] = None,
    amount_max: Annotated[
        NonNegativeMajorAmount | None,
        Query(description="Largest amount, in the reporting currency."),
    ] = None,
) -> FilterParams:
    if amount_min is not None and amount_max is not None and amount_min > amount_max:
        raise InvalidInput.at(("query", "amount_min"), "must not be greater than amount_max")
    return FilterParams(
        period_from=period_from,
        period_to=period_to,
        types=tuple(opportunity_type or ()),
        pipelines=tuple(pipeline or ()),
        stages=tuple(stage or ()),
        account=account,
        amount_min=amount_min,
        amount_max=amount_max,
        preset=preset,
    )
