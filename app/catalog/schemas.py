from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.bounds import Day, Flag, NonNegativeMajorAmount, Text
from app.models import Category

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"
KeyField = Field(pattern=KEY_PATTERN, description="Stable key touchpoints refer to.")


class ActivityTypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200, description="Display name.")
    category: Category = Field(description="SPACES category, or `marketing` (never community).")
    weight: NonNegativeMajorAmount = Field(
        default=Decimal(1), le=999_999, description="Relative weight used by the `custom` model."
    )
    is_community: Flag | None = Field(
        default=None,
        description="Whether touches of this type are community touches; "
        "defaults to true for every category but `marketing`.",
    )
    cost: NonNegativeMajorAmount | None = Field(
        default=None,
        le=999_999_999_999,
        description="Cost of one touch in the reporting currency (e.g. 25.00).",
    )

    @model_validator(mode="after")
    def _marketing_is_never_community(self) -> ActivityTypeIn:
        if self.is_community is None:
            self.is_community = self.category is not Category.MARKETING
        elif self.is_community and self.category is Category.MARKETING:
            raise ValueError(
                "is_community: an activity type of category 'marketing' is never community"
            )
        return self


class ActivityTypeCreate(ActivityTypeIn):
    key: str = Field(
        pattern=KEY_PATTERN, max_length=64, description="Stable key touchpoints refer to."
    )


class ActivityTypePatch(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, description="Display name.")
    category: Category | None = Field(
        None, description="SPACES category, or `marketing`; sets is_community unless given."
    )
    weight: Decimal | None = Field(None, ge=0, description="Relative weight (`custom` model).")
    is_community: bool | None = Field(None, description="Whether its touches are community.")
    cost: Decimal | None = Field(None, ge=0, description="Cost of one touch; null: none.")


class ActivityTypeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str = Field(description="Stable key touchpoints refer to.")
    name: str = Field(description="Display name.")
    category: Category = Field(description="SPACES category or marketing.")
    weight: Decimal = Field(description="Relative weight used by the `custom` model.")
    is_community: bool = Field(description="Whether its touches are community touches.")
    cost: Decimal | None = Field(
        validation_alias="unit_cost", description="Cost of one touch in the reporting currency."
    )


class ProgramIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200, description="Display name.")
    cost: NonNegativeMajorAmount = Field(
        default=Decimal(0), description="Whole cost, e.g. 12000.00."
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code of `cost`.")
    start_date: Day | None = Field(default=None, description="First day of the program.")
    end_date: Day | None = Field(default=None, description="Last day of the program.")

    @model_validator(mode="after")
    def _dates_in_order(self) -> ProgramIn:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date: must not be before start_date")
        return self


class ProgramCreate(ProgramIn):
    key: str = KeyField


class ProgramPatch(BaseModel):
    """Only the fields given change; dates may be set to null."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200, description="Display name.")
    cost: Decimal | None = Field(None, ge=0, description="Whole cost, in `currency`.")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    start_date: date | None = Field(None, description="First day of the program.")
    end_date: date | None = Field(None, description="Last day of the program.")


class ProgramOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str = Field(description="Stable key touchpoints refer to.")
    name: str = Field(description="Display name.")
    cost_minor: int = Field(validation_alias="cost", description="Cost in minor units of currency.")
    currency: str = Field(description="ISO 4217 code of the cost.")
    start_date: date | None = Field(description="First day of the program.")
    end_date: date | None = Field(description="Last day of the program.")
