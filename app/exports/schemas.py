"""The stable columns of the BI exports and of the SQL views with the same names (docs/bi-tools.md).

Each tuple gives the CSV header, in order; the views ``bi_credits``, ``bi_opportunities`` and
``bi_touchpoints`` have the same columns after a leading ``workspace_id``. Columns are only ever
added at the end: BI tools bind to names, and some to positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["integer", "text", "boolean", "date", "timestamp", "decimal", "float"]


@dataclass(frozen=True)
class ExportColumn:
    name: str
    type: ColumnType
    description: str


def names(columns: tuple[ExportColumn, ...]) -> tuple[str, ...]:
    return tuple(column.name for column in columns)


_RUN = (
    ExportColumn("run_id", "integer", "The attribution run."),
    ExportColumn("model", "text", "Its model: linear, time_decay, w_shaped, markov, ..."),
)
_OPPORTUNITY = (
    ExportColumn("opportunity_source", "text", "CRM the opportunity comes from (salesforce, ...)."),
    ExportColumn("opportunity_external_id", "text", "The opportunity's id in that CRM."),
    ExportColumn("opportunity_name", "text", "Its name (as now)."),
    ExportColumn(
        "account_external_id", "text", "CRM id of its account when the run looked; empty: none."
    ),
)
_TOUCH = (
    ExportColumn("touchpoint_source", "text", "Where the touch comes from (discourse, ...)."),
    ExportColumn("touchpoint_external_id", "text", "The touch's id in that source."),
    ExportColumn("occurred_at", "timestamp", "When it happened, UTC."),
)
_REPORTING_CURRENCY = ExportColumn(
    "reporting_currency", "text", "The workspace's reporting currency (ISO 4217)."
)

CREDIT_COLUMNS: tuple[ExportColumn, ...] = (
    *_RUN,
    ExportColumn("stage", "text", "pipeline or revenue."),
    *_OPPORTUNITY,
    ExportColumn(
        "opportunity_type", "text", "new_business, expansion, renewal or other (run's copy)."
    ),
    ExportColumn("created_date", "date", "Local creation date (workspace time zone)."),
    ExportColumn("close_date", "date", "CRM close date; empty while unknown."),
    ExportColumn("is_won", "boolean", "Closed won when the run looked."),
    ExportColumn("currency", "text", "The opportunity's currency: credit_minor is in it."),
    *_TOUCH,
    ExportColumn("activity_type", "text", "Activity type key."),
    ExportColumn("category", "text", "SPACES category, or marketing."),
    ExportColumn("program", "text", "Program key; empty: none."),
    ExportColumn("is_community", "boolean", "A community touch (else marketing)."),
    ExportColumn(
        "fraction",
        "float",
        "Share of the stage's amount given to the touch; an opportunity's fractions in a stage "
        "sum to 1.",
    ),
    ExportColumn(
        "credit_minor",
        "integer",
        "The credit in minor units of currency (cents); an opportunity's credits in a stage sum "
        "exactly to its amount.",
    ),
    ExportColumn(
        "credit_reporting_minor",
        "decimal",
        "credit_minor times the stage's rate (pipeline: at created_date, revenue: at close_date): "
        "minor units of reporting_currency, exact and unrounded; empty without a rate. Sum, then "
        "round half up once, to get a report's figure.",
    ),
    _REPORTING_CURRENCY,
)

OPPORTUNITY_COLUMNS: tuple[ExportColumn, ...] = (
    *_RUN,
    *_OPPORTUNITY,
    ExportColumn("account_name", "text", "Its account's name (as now)."),
    ExportColumn("opportunity_type", "text", "new_business, expansion, renewal or other."),
    ExportColumn("stage_name", "text", "CRM stage when the run looked."),
    ExportColumn("pipeline", "text", "CRM pipeline."),
    ExportColumn("is_closed", "boolean", "Closed (won or lost)."),
    ExportColumn("is_won", "boolean", "Closed won."),
    ExportColumn("currency", "text", "The opportunity's currency (ISO 4217)."),
    ExportColumn(
        "amount_minor",
        "integer",
        "Amount in minor units of currency; empty: missing (counts as 0). Reports leave out "
        "negative amounts.",
    ),
    ExportColumn("created_at", "timestamp", "Creation instant, UTC."),
    ExportColumn("closed_at", "timestamp", "End of the close date's local day, UTC; empty: open."),
    ExportColumn("created_date", "date", "Local creation date: pipeline periods use it."),
    ExportColumn("close_date", "date", "CRM close date: revenue periods use it."),
    ExportColumn(
        "pipeline_rate",
        "decimal",
        "Reporting currency per unit of currency at created_date; empty: no rate.",
    ),
    ExportColumn(
        "revenue_rate", "decimal", "Reporting currency per unit of currency at close_date."
    ),
    ExportColumn("pipeline_influenced", "boolean", "A community touch in the pipeline window."),
    ExportColumn("revenue_influenced", "boolean", "A community touch in the revenue window."),
    ExportColumn("sourced", "boolean", "The first touch of the pipeline window is community."),
    ExportColumn(
        "accelerated", "boolean", "A community touch after creation, up to the close (or as_of)."
    ),
    ExportColumn(
        "pipeline_attributed_minor",
        "integer",
        "Community credit of the pipeline stage, minor units of currency.",
    ),
    ExportColumn(
        "revenue_attributed_minor",
        "integer",
        "Community credit of the revenue stage, minor units of currency (0 unless won).",
    ),
    ExportColumn(
        "pipeline_attributed_any",
        "boolean",
        "Community touches got a non-zero share of the pipeline stage (the attributed count).",
    ),
    ExportColumn(
        "revenue_attributed_any",
        "boolean",
        "Community touches got a non-zero share of the revenue stage.",
    ),
    ExportColumn(
        "pipeline_amount_reporting_minor",
        "decimal",
        "amount_minor times pipeline_rate: minor units of reporting_currency, exact, unrounded.",
    ),
    ExportColumn(
        "revenue_amount_reporting_minor",
        "decimal",
        "amount_minor times revenue_rate, for won opportunities only (else empty).",
    ),
    ExportColumn(
        "pipeline_attributed_reporting_minor",
        "decimal",
        "pipeline_attributed_minor times pipeline_rate, exact, unrounded.",
    ),
    ExportColumn(
        "revenue_attributed_reporting_minor",
        "decimal",
        "revenue_attributed_minor times revenue_rate, exact, unrounded.",
    ),
    _REPORTING_CURRENCY,
)

TOUCHPOINT_COLUMNS: tuple[ExportColumn, ...] = (
    *_TOUCH,
    ExportColumn("received_at", "timestamp", "When the service stored it, UTC."),
    ExportColumn("activity_type", "text", "Activity type key."),
    ExportColumn("category", "text", "SPACES category, or marketing."),
    ExportColumn("is_community", "boolean", "Its activity type is community (as now)."),
    ExportColumn("program", "text", "Program key; empty: none."),
    ExportColumn("person_kind", "text", "member, contact or lead: whose touch it is."),
    ExportColumn("person_source", "text", "CRM of the contact or lead; empty for a member."),
    ExportColumn(
        "person_external_id",
        "text",
        "The member's external id, or the contact's or lead's CRM id.",
    ),
    ExportColumn(
        "member_is_staff",
        "boolean",
        "The member is staff (its touches are left out of runs by default); empty: not a member.",
    ),
)

EXPORTS: dict[str, tuple[ExportColumn, ...]] = {
    "credits": CREDIT_COLUMNS,
    "opportunities": OPPORTUNITY_COLUMNS,
    "touchpoints": TOUCHPOINT_COLUMNS,
}
VIEWS: dict[str, tuple[ExportColumn, ...]] = {
    f"bi_{export}": columns for export, columns in EXPORTS.items()
}
