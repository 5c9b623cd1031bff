"""Report buckets: ISO weeks, calendar months and fiscal quarters of local dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from app.exceptions import InvalidInput

Interval = Literal["week", "month", "fiscal_quarter"]
MAX_BUCKETS = 1200
"""A timeseries has at most this many rows (100 years of months, 23 of weeks): the cost of a
report is bounded before any work."""


Preset = Literal[
    "this_quarter", "last_quarter", "this_fiscal_year", "last_fiscal_year", "last_12_months"
]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@lru_cache(maxsize=16_384)
def bucket_of(day: date, interval: Interval, fiscal_start_month: int) -> tuple[str, date, date]:
    """(label, first day, last day) of the bucket holding ``day`` (cached: a timeseries asks for
    every day of its period several times)."""
    if interval == "week":
        start = day - timedelta(days=day.weekday())
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}", start, start + timedelta(days=6)
    if interval == "month":
        start = day.replace(day=1)
        return f"{day:%Y-%m}", start, _add_months(start, 1) - timedelta(days=1)
    months_in = (day.month - fiscal_start_month) % 12
    start = _add_months(day.replace(day=1), -(months_in % 3))
    fiscal_year_start = _add_months(day.replace(day=1), -months_in)
    ends_in = fiscal_year_start.year + (1 if fiscal_start_month != 1 else 0)
    label = f"FY{ends_in}-Q{months_in // 3 + 1}"
    return label, start, _add_months(start, 3) - timedelta(days=1)


def buckets(
    first: date, last: date, interval: Interval, fiscal_start_month: int
) -> Iterator[tuple[str, date, date]]:
    """Every bucket touching [first, last], oldest first."""
    day = first
    while day <= last:
        bucket = bucket_of(day, interval, fiscal_start_month)
        yield bucket
        day = bucket[2] + timedelta(days=1)


def check_bucket_count(first: date, last: date, interval: Interval) -> None:
    """A 422 naming ``interval`` when the period may hold more than MAX_BUCKETS buckets."""
    if interval == "week":
        count = (last - first).days // 7 + 2
    else:
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        count = months if interval == "month" else months // 3 + 2
    if count > MAX_BUCKETS:
        raise InvalidInput.at(
            ("query", "interval"),
            f"a {interval} timeseries has at most {MAX_BUCKETS} buckets: "
            "shorten the period or choose a longer interval",
        )


def clipped_buckets(
    first: date, last: date, interval: Interval, fiscal_start_month: int
) -> Iterator[tuple[str, date, date]]:
    """``buckets``, with the first and last cut to the period: a bucket shows the dates it
    covers, not the whole week, month or quarter."""
    for label, start, end in buckets(first, last, interval, fiscal_start_month):
        yield label, max(start, first), min(end, last)


def preset_period(preset: Preset, today: date, fiscal_start_month: int) -> tuple[date, date]:
    """The inclusive local dates of a named period around ``today`` (the workspace's local
    date): fiscal quarters and years follow the fiscal year; quarters and years are whole."""
    if preset == "last_12_months":
        return _same_day_months_back(today, 12) + timedelta(days=1), today
    _, quarter_start, quarter_end = bucket_of(today, "fiscal_quarter", fiscal_start_month)
    if preset == "this_quarter":
        return quarter_start, quarter_end
    if preset == "last_quarter":
        _, start, end = bucket_of(
            quarter_start - timedelta(days=1), "fiscal_quarter", fiscal_start_month
        )
        return start, end
    months_in = (today.month - fiscal_start_month) % 12
    year_start = _add_months(today.replace(day=1), -months_in)
    if preset == "last_fiscal_year":
        year_start = _add_months(year_start, -12)
    return year_start, _add_months(year_start, 12) - timedelta(days=1)


def _same_day_months_back(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier (the month's last day when shorter)."""
    first = _add_months(day.replace(day=1), -months)
    following = _add_months(first, 1)
    return first.replace(day=min(day.day, (following - timedelta(days=1)).day))
