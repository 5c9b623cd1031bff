"""Run settings and model specifications: small immutable values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_MAX_MARKOV_STATES = 3000


@dataclass(frozen=True, slots=True)
class JourneySettings:
    """How journeys are cut out of the touches (DESIGN.md section 2).

    ``as_of`` is the run's moment (the end of "accelerated" for open opportunities); it must
    be timezone-aware. ``lookback`` opens both stage windows before ``created_at``;
    ``duplicate_window`` merges touches of one person and activity type (inclusive).
    """

    as_of: datetime
    lookback: timedelta = timedelta(days=365)
    duplicate_window: timedelta = timedelta(minutes=60)
    exclude_staff: bool = True

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None or self.as_of.utcoffset() is None:
            raise ValueError("as_of must be timezone-aware")
        if self.lookback < timedelta(0):
            raise ValueError("lookback must not be negative")
        if self.duplicate_window < timedelta(0):
            raise ValueError("duplicate_window must not be negative")

    @property
    def as_of_us(self) -> int:
        """``as_of`` in microseconds since the Unix epoch."""
        return (self.as_of - _EPOCH) // _MICROSECOND

    @property
    def lookback_us(self) -> int:
        return self.lookback // _MICROSECOND

    @property
    def duplicate_window_us(self) -> int:
        return self.duplicate_window // _MICROSECOND


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model name and its parameters; omitted parameters take their documented defaults.

    ``max_markov_states`` bounds the exact Markov solver (a dense system per channel): a fit
    with more states is refused before the system is allocated.
    """

    name: str
    params: Mapping[str, object] = field(default_factory=dict)
    max_markov_states: int = DEFAULT_MAX_MARKOV_STATES
