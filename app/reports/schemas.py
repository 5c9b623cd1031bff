from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Figure(BaseModel):
    amount_minor: int = Field(
        description="Sum in minor units of the reporting currency, rounded half up once."
    )
    opportunities: int = Field(description="Opportunities counted.")
    unconverted: dict[str, int] = Field(
        default_factory=dict,
        description="Amounts in currencies with no rate on the date, by currency (minor units): "
        "reported apart, never summed.",
    )


class ReportHeader(BaseModel):
    model_config = ConfigDict(populate_by_name=True, protected_namespaces=())

    run_id: int = Field(description="The attribution run the figures come from.")
    model: str = Field(description="Its model.")
    currency: str = Field(description="Reporting currency of every amount.")
    period_from: date = Field(alias="from", description="First local date of the period.")
    period_to: date = Field(alias="to", description="Last local date of the period.")


class StageSummary(BaseModel):
    total: Figure = Field(description="Every opportunity of the stage in the period.")
    influenced: Figure = Field(description="At least one community touch in the stage's window.")
    sourced: Figure = Field(description="The first touch of the pipeline window is community.")
    accelerated: Figure = Field(
        description="A community touch after creation, up to the close (or the run's as_of)."
    )
    attributed: Figure = Field(
        description="Credit the model gives community touches; the count is of opportunities "
        "where community gets a non-zero share."
    )
    community_share: float | None = Field(
        description="Attributed amount over the total amount; null when the total is 0."
    )


class Summary(ReportHeader):
    pipeline: StageSummary = Field(description="Opportunities created in the period.")
    revenue: StageSummary = Field(description="Won opportunities closed in the period.")


class BreakdownRow(BaseModel):
    key: str = Field(description="Activity type key, category, program key or channel.")
    name: str = Field(description="Display name.")
    category: str | None = Field(
        None, description="SPACES category (activity types and categories; null otherwise)."
    )
    pipeline_influenced_minor: int = Field(
        description="Pipeline of opportunities with a touch of this key in the window "
        "(NON-ADDITIVE: an opportunity appears under every key that touched it)."
    )
    pipeline_influenced_opportunities: int = Field(description="Their count (non-additive).")
    pipeline_attributed_minor: int = Field(
        description="Pipeline credit of this key (additive: except by program, community rows "
        "sum exactly to the summary's attributed figure, marketing rows to the marketing "
        "credit, by largest remainder)."
    )
    pipeline_attributed_opportunities: int = Field(
        description="Opportunities where this key gets a non-zero pipeline share."
    )
    revenue_influenced_minor: int = Field(
        description="Revenue of won opportunities with a touch of this key (NON-ADDITIVE)."
    )
    revenue_influenced_opportunities: int = Field(description="Their count (non-additive).")
    revenue_attributed_minor: int = Field(description="Revenue credit of this key (additive).")
    revenue_attributed_opportunities: int = Field(
        description="Won opportunities where this key gets a non-zero revenue share."
    )
    cost_minor: int | None = Field(
        None, description="Programs: the program's whole cost in the reporting currency."
    )
    roi: float | None = Field(
        None, description="Programs: (attributed revenue - cost) / cost; null without a cost."
    )
    revenue_multiple: float | None = Field(
        None, description="Programs: attributed revenue / cost; null without a cost."
    )
    lifetime_revenue_attributed_minor: int | None = Field(
        None,
        description="Programs: all revenue credited to the program's touches, whatever the "
        "close date (the other filters kept).",
    )
    lifetime_roi: float | None = Field(
        None, description="Programs: (lifetime revenue - whole cost) / whole cost."
    )
    lifetime_revenue_multiple: float | None = Field(
        None, description="Programs: lifetime revenue / whole cost."
    )
    prorated_cost_minor: int | None = Field(
        None,
        description="Programs: the cost times the share of the program's days (start to end "
        "date, inclusive) that fall in the period; null without dates.",
    )
    prorated_roi: float | None = Field(
        None,
        description="Programs: (the period's attributed revenue - prorated cost) / prorated "
        "cost; null when no program day falls in the period.",
    )
    prorated_revenue_multiple: float | None = Field(
        None, description="Programs: the period's attributed revenue / prorated cost."
    )


class Breakdown(ReportHeader):
    dimension: Literal["activity_type", "category", "program", "channel"] = Field(
        description="What the rows are."
    )
    non_additive_columns: list[str] = Field(
        description="Columns that must not be summed across rows."
    )
    rows: list[BreakdownRow] = Field(
        description="One row per key, largest attributed revenue first."
    )


class AccountRow(BaseModel):
    account_external_id: str | None = Field(description="The account's CRM id (null: none).")
    account_name: str | None = Field(description="The account's name.")
    pipeline_total_minor: int = Field(description="Pipeline created in the period.")
    pipeline_influenced_minor: int = Field(description="Of which community-influenced.")
    pipeline_attributed_minor: int = Field(description="Community credit of the pipeline.")
    pipeline_opportunities: int = Field(description="Opportunities created in the period.")
    revenue_total_minor: int = Field(description="Revenue won in the period.")
    revenue_influenced_minor: int = Field(description="Of which community-influenced.")
    revenue_attributed_minor: int = Field(description="Community credit of the revenue.")
    revenue_opportunities: int = Field(description="Won opportunities closed in the period.")


class AccountBreakdown(ReportHeader):
    rows: list[AccountRow] = Field(description="One row per account, largest revenue first.")


class TimeseriesRow(BaseModel):
    bucket: str = Field(
        description="Label: 2025-W07, 2025-02 or FY2026-Q1 (fiscal years are "
        "named by the calendar year they end in)."
    )
    bucket_start: date = Field(description="First local date of the bucket.")
    bucket_end: date = Field(description="Last local date of the bucket.")
    pipeline_total_minor: int = Field(description="Pipeline created in the bucket.")
    pipeline_influenced_minor: int = Field(description="Of which influenced.")
    pipeline_sourced_minor: int = Field(description="Of which sourced.")
    pipeline_attributed_minor: int = Field(description="Community credit of that pipeline.")
    pipeline_opportunities: int = Field(description="Opportunities created in the bucket.")
    revenue_total_minor: int = Field(description="Revenue won in the bucket.")
    revenue_influenced_minor: int = Field(description="Of which influenced.")
    revenue_sourced_minor: int = Field(description="Of which sourced.")
    revenue_attributed_minor: int = Field(description="Community credit of that revenue.")
    revenue_opportunities: int = Field(description="Won opportunities closed in the bucket.")


class Timeseries(ReportHeader):
    interval: Literal["week", "month", "fiscal_quarter"] = Field(description="Bucket size.")
    rows: list[TimeseriesRow] = Field(description="Every bucket of the period, oldest first.")


class OpportunityRow(BaseModel):
    id: int = Field(description="The opportunity's id here (for its journey).")
    source: str = Field(description="CRM source.")
    external_id: str = Field(description="The opportunity's CRM id.")
    name: str | None = Field(description="Opportunity name.")
    account_external_id: str | None = Field(description="Its account's CRM id.")
    account_name: str | None = Field(description="Its account's name.")
    type: str = Field(description="new_business, expansion, renewal or other.")
    stage_name: str | None = Field(description="CRM stage when the run looked.")
    pipeline: str | None = Field(description="CRM pipeline.")
    currency: str = Field(description="The opportunity's currency.")
    amount_minor: int | None = Field(description="Amount in minor units of `currency`.")
    amount_reporting_minor: int | None = Field(
        description="Amount in the reporting currency at the basis stage's date (null: no rate)."
    )
    created_date: date = Field(description="Local creation date.")
    close_date: date | None = Field(description="CRM close date.")
    is_closed: bool = Field(description="Closed (won or lost).")
    is_won: bool = Field(description="Closed won.")
    pipeline_influenced: bool = Field(description="A community touch in the pipeline window.")
    revenue_influenced: bool = Field(description="A community touch in the revenue window.")
    sourced: bool = Field(description="The first pipeline-window touch is community.")
    accelerated: bool = Field(description="A community touch after creation, up to the close.")
    pipeline_attributed_minor: int = Field(
        description="Community credit of the pipeline stage, minor units of `currency`."
    )
    revenue_attributed_minor: int = Field(
        description="Community credit of the revenue stage, minor units of `currency`."
    )


class OpportunityPage(ReportHeader):
    basis: Literal["pipeline", "revenue"] = Field(
        description="pipeline: created in the period; revenue: won and closed in the period."
    )
    items: list[OpportunityRow] = Field(description="Opportunities, by id.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class JourneyTouch(BaseModel):
    touchpoint_source: str = Field(description="Source of the touch.")
    touchpoint_external_id: str = Field(description="The touch's id in its source.")
    occurred_at: datetime = Field(description="When it happened (UTC).")
    person: str = Field(description="member:<id>, contact:<id> or lead:<id> (CRM or member ids).")
    activity_type: str = Field(description="Activity type key.")
    category: str = Field(description="SPACES category or marketing.")
    program: str | None = Field(description="Program key, if any.")
    is_community: bool = Field(description="Whether it is a community touch.")
    fraction: float = Field(description="Share of the stage's amount the model gives it.")
    credit_minor: int = Field(description="Credit in minor units of the opportunity's currency.")


class Journey(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    run_id: int = Field(description="The attribution run.")
    model: str = Field(description="Its model.")
    opportunity: OpportunityRow = Field(description="The opportunity as the run saw it.")
    pipeline: list[JourneyTouch] = Field(description="Touches of the pipeline window, in order.")
    revenue: list[JourneyTouch] = Field(
        description="Touches of the revenue window, in order (empty unless won)."
    )


class ModelComparison(BaseModel):
    model: str = Field(description="Attribution model.")
    run_id: int = Field(description="Its latest run.")
    parameters: dict[str, Any] = Field(description="Every parameter that run used.")
    pipeline_attributed_minor: int = Field(description="Community-attributed pipeline.")
    pipeline_attributed_opportunities: int = Field(
        description="Opportunities with community credit."
    )
    revenue_attributed_minor: int = Field(description="Community-attributed revenue.")
    revenue_attributed_opportunities: int = Field(
        description="Won opportunities with community credit."
    )
    pipeline_share: float | None = Field(description="Attributed over total pipeline.")
    revenue_share: float | None = Field(description="Attributed over total revenue.")


class ModelComparisonReport(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    currency: str = Field(description="Reporting currency of every amount.")
    period_from: date = Field(alias="from", description="First local date of the period.")
    period_to: date = Field(alias="to", description="Last local date of the period.")
    pipeline_total_minor: int = Field(description="All pipeline of the period (any model's run).")
    revenue_total_minor: int = Field(description="All revenue of the period.")
    rows: list[ModelComparison] = Field(description="One row per model that has a finished run.")
