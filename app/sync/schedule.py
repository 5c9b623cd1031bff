"""Cron schedules read in the job's time zone (croniter), answered in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

from croniter import croniter


def check_cron(expression: str) -> str:
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValueError(f"'{expression}' is not a 5-field cron expression")
    return expression


def check_time_zone(name: str) -> str:
    if name not in available_timezones():
        raise ValueError(f"unknown IANA time zone '{name}'")
    return name


def next_run(expression: str, time_zone: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` that the expression names, in local time."""
    local = after.astimezone(ZoneInfo(time_zone))
    upcoming: datetime = croniter(expression, local).get_next(datetime)
    return upcoming.astimezone(UTC)
