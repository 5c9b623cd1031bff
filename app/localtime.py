"""Local dates of the workspace's time zone (DESIGN.md section 2, Dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def end_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """A date-only CRM field (Salesforce CloseDate) means the last instant of that local day."""
    next_midnight = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return (next_midnight.astimezone(UTC) - timedelta(microseconds=1)).astimezone(UTC)


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    return instant.astimezone(zone).date()
