"""Local dates of the workspace's time zone (DESIGN.md section 2, Dates)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_CALENDAR_START = datetime.min.replace(tzinfo=UTC)
_CALENDAR_END = datetime.max.replace(tzinfo=UTC)


def end_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """A date-only CRM field (Salesforce CloseDate) means the last instant of that local day.

    A synced record may carry any date its CRM allows: at the ends of the calendar, where the
    next midnight or the UTC offset leaves Python's range, the day ends at the calendar's end."""
    try:
        next_midnight = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
        return (next_midnight.astimezone(UTC) - timedelta(microseconds=1)).astimezone(UTC)
    except OverflowError:
        return _CALENDAR_END if day.year > 1 else _CALENDAR_START


def local_date(instant: datetime, zone: ZoneInfo) -> date:
    try:
        return instant.astimezone(zone).date()
    except OverflowError:  # within a day of the calendar's ends: the UTC date is the best there is
        return instant.astimezone(UTC).date()
