from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.bounds import Count, Day, Flag, Properties, Text
from attribution import MODEL_NAMES

Scope = Literal["contact_roles", "account", "contact_roles_then_account"]


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: Text = Field(
        max_length=32, description="Attribution model: " + ", ".join(MODEL_NAMES) + "."
    )
    parameters: Properties = Field(
        default_factory=dict,
        description='Model parameters, e.g. {"half_life_days": 7} for time_decay; '
        "the run stores every parameter it used, defaults included.",
    )
    lookback_days: Count | None = Field(
        None, ge=1, le=3650, description="Influence window; default: the workspace's."
    )
    scope: Scope | None = Field(None, description="Whose touches count; default: the workspace's.")
    exclude_staff: Flag = Field(True, description="Leave out touches of staff members.")

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in MODEL_NAMES:
            raise ValueError(f"unknown model '{value}': use one of {', '.join(MODEL_NAMES)}")
        return value


class Progress(BaseModel):
    phase: str = Field(
        description="What a running job is doing: loading, computing or writing (an "
        "attribution run), the object being read (a sync run), reading (an import)."
    )
    done: int = Field(
        description="Steps done: stages of a run, objects of a sync, rows of an import."
    )
    total: int | None = Field(description="Steps in all.")


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, protected_namespaces=())

    id: int = Field(description="Run id.")
    model: str = Field(description="Attribution model.")
    parameters: dict[str, Any] = Field(description="Every parameter the run used.")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"] = Field(
        description="Where the run is; a failed attempt is queued again until "
        "COMMATTR_JOB_MAX_ATTEMPTS attempts have failed."
    )
    progress: Progress | None = Field(description="Where a running run is; null otherwise.")
    attempts: int = Field(description="Times a worker took the run up.")
    as_of: datetime = Field(description="The moment the run looked at the data.")
    created_at: datetime = Field(description="When the run was asked for.")
    started_at: datetime | None = Field(description="When its last attempt started.")
    finished_at: datetime | None = Field(description="When it ended.")
    channel_summary: dict[str, Any] | None = Field(
        description="journey_stats: the engine's counts (touches, duplicates_dropped, "
        "staff_excluded, pairs, negative_amounts); channels (data-driven models): removal "
        "effects or Shapley values per channel."
    )
    error: str | None = Field(description="Why a failed run failed.")
    is_default: bool = Field(description="Queued from the workspace's default runs.")
    frozen_from: date | None = Field(description="Figure of record from this local date.")
    frozen_to: date | None = Field(description="Figure of record to this local date.")
    frozen_at: datetime | None = Field(description="When it was frozen.")
    frozen_note: str | None = Field(description="Why it was frozen.")


class CreditOut(BaseModel):
    stage: Literal["pipeline", "revenue"] = Field(description="Which window the credit is for.")
    opportunity_source: str = Field(description="CRM source of the opportunity.")
    opportunity_external_id: str = Field(description="The opportunity's CRM id.")
    touchpoint_source: str = Field(description="Source of the credited touch.")
    touchpoint_external_id: str = Field(description="The touch's id in its source.")
    is_community: bool = Field(description="Whether the touch is a community touch.")
    fraction: float = Field(description="Share of the opportunity's amount, in [0, 1].")
    amount_minor: int = Field(description="Credited amount in minor units of `currency`.")
    currency: str = Field(description="The opportunity's currency.")


class CreditPage(BaseModel):
    items: list[CreditOut] = Field(description="Credits ordered by stage, opportunity and touch.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class RunOpportunityOut(BaseModel):
    source: str = Field(description="CRM source of the opportunity.")
    external_id: str = Field(description="The opportunity's CRM id.")
    amount_minor: int | None = Field(description="Amount in minor units, as the run saw it.")
    currency: str = Field(description="The opportunity's currency.")
    stage_name: str | None = Field(description="CRM stage, as the run saw it.")
    created_date: date = Field(description="Local creation date.")
    close_date: date | None = Field(description="CRM close date.")
    is_won: bool = Field(description="Closed won.")
    pipeline_influenced: bool = Field(description="A community touch in the pipeline window.")
    revenue_influenced: bool = Field(description="A community touch in the revenue window.")
    sourced: bool = Field(description="The first pipeline-window touch is community.")
    accelerated: bool = Field(description="A community touch after creation, before the close.")


class RunOpportunityPage(BaseModel):
    items: list[RunOpportunityOut] = Field(description="Opportunities of the run.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class FreezeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    period_from: Day = Field(
        alias="from", description="First local date it is the figure of record for."
    )
    period_to: Day = Field(
        alias="to", description="Last local date it is the figure of record for."
    )
    note: Text | None = Field(None, max_length=500, description="Why, e.g. 'Q3 board deck'.")


class DefaultRuns(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runs: list[RunCreate] = Field(
        max_length=20, description="Runs refreshed after every sync that changes records."
    )


class OpportunityDiff(BaseModel):
    source: str = Field(description="CRM source of the opportunity.")
    external_id: str = Field(description="The opportunity's CRM id.")
    currency: str = Field(description="Currency of the amounts below.")
    pipeline_attributed_before: int | None = Field(
        description="Community pipeline credit in run a."
    )
    pipeline_attributed_after: int | None = Field(description="Community pipeline credit in run b.")
    revenue_attributed_before: int | None = Field(description="Community revenue credit in run a.")
    revenue_attributed_after: int | None = Field(description="Community revenue credit in run b.")
    flags_changed: list[str] = Field(description="Flags that differ (influenced, sourced, ...).")
    reasons: list[str] = Field(
        description="Why: parameters, crm_change:<field>, new_touches, identity_links, "
        "removed_touches, new_opportunity, removed_opportunity."
    )


class RunDiff(BaseModel):
    run_a: int = Field(description="The earlier run.")
    run_b: int = Field(description="The later run.")
    parameters_changed: dict[str, Any] = Field(
        description="Parameters that differ: name -> [value in a, value in b]."
    )
    opportunities: list[OpportunityDiff] = Field(
        description="Opportunities whose credit or flags changed, with why."
    )
