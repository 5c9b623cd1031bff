"""Is the lift real? Each difference of the lift report (influenced minus not influenced: win
rate, mean won amount, mean days to close; overall, per band, and band-adjusted) with a
confidence interval and a two-sided p-value.

- Win rate within a segment: Newcombe's hybrid score interval (method 10) and the pooled
  two-proportion z-test.
- Means (won amount, days to close) and every band-adjusted difference: the seeded bootstrap,
  each group resampled on its own (within each band for band-adjusted figures, whose band
  weights stay fixed); percentile interval, and p = twice the share of draws on the far side of
  0. Band-adjusted: the bands' differences averaged with weights = the band's deals in the
  comparison (closed for the win rate, won with an amount for the amount, won for the days),
  over bands where both groups have one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.insights.statistics import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Interval,
    newcombe_interval,
    percentile_interval_and_p,
    resampled_means,
    two_proportion_p_value,
)

METRICS = ("win", "amount", "days")


@dataclass(frozen=True)
class Estimate:
    """A difference, its interval and p-value (None when it cannot be computed)."""

    value: float | None = None
    interval: Interval | None = None
    p_value: float | None = None


@dataclass
class Samples:
    """One group's observations per metric: 1/0 per closed deal (won), won amounts in
    minor units of the reporting currency, days to close of won deals."""

    win: list[float] = field(default_factory=list)
    amount: list[float] = field(default_factory=list)
    days: list[float] = field(default_factory=list)

    def of(self, metric: str) -> list[float]:
        values: list[float] = getattr(self, metric)
        return values


def _generator(metric: str, band: int, group: int) -> np.random.Generator:
    sequence = np.random.SeedSequence([DEFAULT_SEED, METRICS.index(metric), band, group])
    return np.random.default_rng(sequence)


def _draws(values: Sequence[float], metric: str, band: int, group: int) -> np.ndarray:
    return resampled_means(values, _generator(metric, band, group), DEFAULT_RESAMPLES)


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(np.asarray(values, dtype=np.float64)))


def win_rate(influenced: Samples, other: Samples, confidence: float) -> Estimate:
    won_a, n_a = int(sum(influenced.win)), len(influenced.win)
    won_b, n_b = int(sum(other.win)), len(other.win)
    if n_a == 0 or n_b == 0:
        return Estimate()
    return Estimate(
        value=won_a / n_a - won_b / n_b,
        interval=newcombe_interval(won_a, n_a, won_b, n_b, confidence),
        p_value=two_proportion_p_value(won_a, n_a, won_b, n_b),
    )


def mean_difference(
    influenced: Samples, other: Samples, metric: str, band: int, confidence: float
) -> Estimate:
    a, b = influenced.of(metric), other.of(metric)
    if not a or not b:
        return Estimate()
    draws = _draws(a, metric, band, 0) - _draws(b, metric, band, 1)
    interval, p_value = percentile_interval_and_p(draws, confidence)
    return Estimate(value=_mean(a) - _mean(b), interval=interval, p_value=p_value)


def band_adjusted(
    bands: Sequence[tuple[Samples, Samples]], metric: str, confidence: float
) -> Estimate:
    """The weighted mean of the bands' differences, with a stratified bootstrap."""
    total = 0.0
    value = 0.0
    draws = np.zeros(DEFAULT_RESAMPLES, dtype=np.float64)
    for index, (influenced, other) in enumerate(bands, start=1):
        a, b = influenced.of(metric), other.of(metric)
        if not a or not b:
            continue
        weight = float(len(a) + len(b))
        total += weight
        value += weight * (_mean(a) - _mean(b))
        draws += weight * (_draws(a, metric, index, 0) - _draws(b, metric, index, 1))
    if total == 0:
        return Estimate()
    interval, p_value = percentile_interval_and_p(draws / total, confidence)
    return Estimate(value=value / total, interval=interval, p_value=p_value)
