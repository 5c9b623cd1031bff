from __future__ import annotations

from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

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

    name: str | None = Field(None, min_length=1, max_length=200, description="Display name.")
    reporting_currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code every report converts to."
    )
    time_zone: str | None = Field(
        None, description="IANA time zone of report dates and of CRM date-only fields."
    )
    fiscal_year_start_month: int | None = Field(
        None, ge=1, le=12, description="Month (1-12) the fiscal year starts in."
    )
    staff_domains: list[str] | None = Field(
        None, description="The company's own email domains: members on them are staff."
    )
    free_mail_domains: list[str] | None = Field(
        None, description="Domains never used to link a member to an account."
    )
    duplicate_window_minutes: int | None = Field(
        None, ge=0, le=10_080, description="Touches of one person and type this close are one."
    )
    default_lookback_days: int | None = Field(
        None, ge=1, le=3650, description="Default length of the influence window, in days."
    )
    default_scope: str | None = Field(
        None, description="Default people of an opportunity: " + ", ".join(SCOPE_CHOICES) + "."
    )
    default_half_life_days: float | None = Field(
        None, gt=0, description="Default half-life of the time-decay model, in days."
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
