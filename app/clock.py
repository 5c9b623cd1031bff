"""An injectable clock: production reads the system time, tests pass a fixed or advancing one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(instant: datetime) -> Clock:
    """A clock that always answers ``instant`` (which must be timezone-aware)."""
    if instant.tzinfo is None:
        raise ValueError("a clock's instant must be timezone-aware")
    return lambda: instant
