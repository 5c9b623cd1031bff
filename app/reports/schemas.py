from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


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


class Summary(BaseModel):
    run_id: int = Field(description="The attribution run the figures come from.")
    model: str = Field(description="Its model.")
    currency: str = Field(description="Reporting currency of every amount.")
    period_from: date = Field(alias="from", description="First local date of the period.")
    period_to: date = Field(alias="to", description="Last local date of the period.")
    pipeline: StageSummary = Field(description="Opportunities created in the period.")
    revenue: StageSummary = Field(description="Won opportunities closed in the period.")

    model_config = {"populate_by_name": True, "protected_namespaces": ()}
