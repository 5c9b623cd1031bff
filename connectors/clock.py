"""The CRM's clock, read from the ``Date`` header every HTTP response carries (RFC 9110 section
6.6.1: the origin server's time when it produced the response, to the second).

A sync caps its reads at the CRM's time, not ours: the CRM stamps records with its own clock,
which may run ahead of ours (records stamped "in our future" would wait a run) or behind it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime


class ServerClock:
    """Remembers the latest ``Date`` header and when (on our monotonic clock) it arrived, so the
    CRM's time can be told later without another request."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._seen: tuple[datetime, float] | None = None

    def note(self, headers: Mapping[str, str] | None) -> None:
        value = _header(headers or {}, "Date")
        if value is None:
            return
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        self._seen = (moment.astimezone(UTC), self._monotonic())

    def now(self) -> datetime | None:
        if self._seen is None:
            return None
        moment, at = self._seen
        return moment + timedelta(seconds=max(self._monotonic() - at, 0.0))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)
