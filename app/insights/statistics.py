"""Small pure statistics for the lift report: Wilson score intervals and bootstrap intervals."""

from __future__ import annotations

from collections.abc import Sequence
from math import sqrt
from statistics import NormalDist

import numpy as np

DEFAULT_RESAMPLES = 2_000
DEFAULT_SEED = 20_250_930
# Resamples are drawn in chunks of at most this many cells, so memory stays flat for large groups.
MAX_CELLS = 2_000_000

Interval = tuple[float, float]


def z_score(confidence: float) -> float:
    """The two-sided standard-normal quantile: 1.959963984540054 for 95%."""
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> Interval | None:
    """The Wilson score interval of a proportion (Wilson 1927); None without trials.

    centre = (p + z²/2n) / (1 + z²/n), half-width = z / (1 + z²/n) · √(p(1-p)/n + z²/4n²).
    Unlike the normal approximation it stays inside [0, 1] and is usable for small n.
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError("need 0 <= successes <= trials")
    if trials == 0:
        return None
    z = z_score(confidence)
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # The ends are exactly 0 (no successes) and 1 (all successes); floats only come close.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def bootstrap_mean_interval(
    values: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    max_cells: int = MAX_CELLS,
) -> Interval | None:
    """The bootstrap percentile interval of the mean; None for no values.

    Deterministic: the values are sorted first, so the answer depends on the values only, not on
    the order a database returned them in, and the generator is seeded. Resampling is vectorized
    (one index matrix per chunk of resamples); chunking does not change the draws.
    """
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    z_score(confidence)
    data = np.sort(np.asarray(values, dtype=np.float64))
    n = data.size
    if n == 0:
        return None
    if data[0] == data[-1]:
        # Every resample is the same; skip the float noise of averaging n equal values.
        return float(data[0]), float(data[0])
    generator = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    chunk = max(1, max_cells // n)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        picks = generator.integers(0, n, size=(stop - start, n))
        means[start:stop] = data[picks].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def newcombe_interval(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, confidence: float = 0.95
) -> Interval | None:
    """Newcombe's hybrid score interval of p_a - p_b (Newcombe 1998, method 10), from the two
    Wilson intervals; None when a group has no trials.

    low = d - √((p_a - l_a)² + (u_b - p_b)²), high = d + √((u_a - p_a)² + (p_b - l_b)²).
    """
    a = wilson_interval(successes_a, trials_a, confidence)
    b = wilson_interval(successes_b, trials_b, confidence)
    if a is None or b is None:
        return None
    p_a, p_b = successes_a / trials_a, successes_b / trials_b
    difference = p_a - p_b
    low = difference - sqrt((p_a - a[0]) ** 2 + (b[1] - p_b) ** 2)
    high = difference + sqrt((a[1] - p_a) ** 2 + (p_b - b[0]) ** 2)
    return max(-1.0, low), min(1.0, high)


def two_proportion_p_value(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int
) -> float | None:
    """Two-sided p-value of p_a = p_b by the pooled two-proportion z-test; None when a group
    has no trials, 1 when the pooled rate is 0 or 1 (no variation to test)."""
    if trials_a == 0 or trials_b == 0:
        return None
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance <= 0:
        return 1.0
    z = (successes_a / trials_a - successes_b / trials_b) / sqrt(variance)
    return min(1.0, 2 * (1 - NormalDist().cdf(abs(z))))


def resampled_means(
    values: Sequence[float] | np.ndarray,
    generator: np.random.Generator,
    resamples: int = DEFAULT_RESAMPLES,
    max_cells: int = MAX_CELLS,
) -> np.ndarray:
    """``resamples`` bootstrap means of ``values`` (sorted first, so the draws depend on the
    values only), in chunks of at most ``max_cells`` draws."""
    data = np.sort(np.asarray(values, dtype=np.float64))
    n = data.size
    means = np.empty(resamples, dtype=np.float64)
    chunk = max(1, max_cells // max(n, 1))
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        picks = generator.integers(0, n, size=(stop - start, n))
        means[start:stop] = data[picks].mean(axis=1)
    return means


def percentile_interval_and_p(
    draws: np.ndarray, confidence: float = 0.95
) -> tuple[Interval, float]:
    """The percentile interval of bootstrap draws of a difference, and its two-sided p-value
    for "the difference is 0": twice the share of draws on the far side of 0 (at most 1), so
    p < 1 - confidence exactly when 0 lies outside the interval."""
    tail = (1 - confidence) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    below = float(np.mean(draws <= 0))
    above = float(np.mean(draws >= 0))
    return (float(low), float(high)), min(1.0, 2 * min(below, above))
