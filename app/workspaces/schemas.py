from __future__ import annotations

from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.bounds import Count, Finite, Text
from attribution import MAX_HALF_LIFE_DAYS, MIN_HALF_LIFE_DAYS

SCOPE_CHOICES = ("contact_roles", "account", "contact_roles_then_account")


def _check_time_zone(value: str) -> str:
    if value not in available_timezones():
        raise ValueError(f"unknown IANA time zone '{value}'")
    return value


def _normalize_domains(values: list[str]) -> list[str]:
    return sorted({v.strip().lower().lstrip("@") for v in values if v.strip()})


class WorkspaceSettingsUpdate(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(None, min_length=1, max_length=200, description="Display name.")
    reporting_currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code every report converts to."
    )
    time_zone: Text | None = Field(
        None,
        max_length=64,
        description="IANA time zone of report dates and of CRM date-only fields.",
    )
    fiscal_year_start_month: Count | None = Field(
        None, ge=1, le=12, description="Month (1-12) the fiscal year starts in."
    )
    staff_domains: list[Text] | None = Field(
        None,
        max_length=1000,
        description="The company's own email domains: members on them are staff.",
    )
    free_mail_domains: list[Text] | None = Field(
        None, max_length=10_000, description="Domains never used to link a member to an account."
    )
    duplicate_window_minutes: Count | None = Field(
        None, ge=0, le=10_080, description="Touches of one person and type this close are one."
    )
    default_lookback_days: Count | None = Field(
        None, ge=1, le=3650, description="Default length of the influence window, in days."
    )
    default_scope: Text | None = Field(
        None,
        max_length=64,
        description="Default people of an opportunity: " + ", ".join(SCOPE_CHOICES) + ".",
    )
    default_half_life_days: Finite | None = Field(
        None,
        ge=MIN_HALF_LIFE_DAYS,
        le=MAX_HALF_LIFE_DAYS,
        description="Default half-life of the time-decay model, in days.",
    )

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_time_zone(value)

    @field_validator("staff_domains", "free_mail_domains")
    @classmethod
    def _domains(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _normalize_domains(value)

    @field_validator("default_scope")
    @classmethod
    def _scope(cls, value: str | None) -> str | None:
        if value is not None and value not in SCOPE_CHOICES:
            raise ValueError(f"must be one of {', '.join(SCOPE_CHOICES)}")
        return value


class WorkspaceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Workspace id.")
    name: str = Field(description="Display name.")
    reporting_currency: str = Field(description="ISO 4217 code every report converts to.")
    time_zone: str = Field(description="IANA time zone of report dates.")
    fiscal_year_start_month: int = Field(description="Month (1-12) the fiscal year starts in.")
    staff_domains: list[str] = Field(description="Email domains of the company's own staff.")
    free_mail_domains: list[str] = Field(description="Domains never linked to an account.")
    duplicate_window_minutes: int = Field(description="Duplicate-touch window, in minutes.")
    default_lookback_days: int = Field(description="Default influence window, in days.")
    default_scope: str = Field(description="Default people of an opportunity.")
    default_half_life_days: float = Field(description="Default time-decay half-life, in days.")
