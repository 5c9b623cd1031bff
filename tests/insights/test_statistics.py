"""The lift report's pure functions against hand-computed values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from app.insights.bands import band_labels, band_of
from app.insights.duplicates import duplicate_mask
from app.insights.schemas import LiftGroup, LiftSegment
from app.insights.service import band_adjusted_difference, count_duplicates
from app.insights.statistics import bootstrap_mean_interval, wilson_interval, z_score

# z = Φ⁻¹(0.975) = 1.959963984540054, z² = 3.841458820694124


def test_the_95_percent_z_score() -> None:
    assert z_score(0.95) == pytest.approx(1.959963984540054, abs=1e-12)


def test_wilson_7_of_10() -> None:
    # Wilson (1927), n = 10, p = 0.7:
    #   denominator = 1 + z²/n = 1.3841458821
    #   centre = (p + z²/2n) / denominator = (0.7 + 0.1920729410) / 1.3841458821 = 0.6444934
    #   half = z/denominator · √(p(1-p)/n + z²/4n²) = 1.4160097 · √(0.021 + 0.0096036470)
    #        = 1.4160097 · 0.1749390 = 0.2477153
    #   → [0.3967781, 0.8922087], the interval tables give for 7/10 (0.397, 0.892).
    low, high = ends(wilson_interval(7, 10))
    assert low == pytest.approx(0.3967781, abs=1e-7)
    assert high == pytest.approx(0.8922087, abs=1e-7)


def test_wilson_6_of_8() -> None:
    # n = 8, p = 0.75: denominator = 1.4801823526, centre = 0.9900912 / 1.4801824 = 0.6688981
    # half = 1.3241369 · √(0.0234375 + 0.0150057) = 1.3241369 · 0.1960694 = 0.2596227
    low, high = ends(wilson_interval(6, 8))
    assert low == pytest.approx(0.4092754, abs=1e-7)
    assert high == pytest.approx(0.9285208, abs=1e-7)


def test_wilson_at_the_edges_is_exact() -> None:
    # 0/10: [0, z²/(n + z²)] = [0, 3.8414588 / 13.8414588] = [0, 0.2775328]
    assert ends(wilson_interval(0, 10)) == (0.0, pytest.approx(0.2775328, abs=1e-7))
    # 10/10 mirrors it: [1 - 0.2775328, 1]
    assert ends(wilson_interval(10, 10)) == (pytest.approx(0.7224672, abs=1e-7), 1.0)
    # 1/1: centre = (1 + z²/2) / (1 + z²) = 2.9207294 / 4.8414588 = 0.6032746, half = 0.3967254
    assert ends(wilson_interval(1, 1)) == (pytest.approx(0.2065493, abs=1e-7), 1.0)


def ends(interval: tuple[float, float] | None) -> tuple[Any, Any]:
    assert interval is not None
    return interval


def test_wilson_without_trials_or_with_nonsense() -> None:
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(1, 2, confidence=1.0)


def test_bootstrap_of_equal_values_is_that_value() -> None:
    assert bootstrap_mean_interval([3.1, 3.1, 3.1]) == (3.1, 3.1)
    assert bootstrap_mean_interval([42.0]) == (42.0, 42.0)
    assert bootstrap_mean_interval([]) is None


def test_bootstrap_of_two_values_spans_both() -> None:
    # A resample of {0, 1} has mean 0 (p = 1/4), 1/2 (p = 1/2) or 1 (p = 1/4): with 2,000
    # resamples about 500 are 0 and 500 are 1, so the 2.5th and 97.5th percentiles are 0 and 1.
    assert bootstrap_mean_interval([0.0, 1.0]) == (0.0, 1.0)


def reference_bootstrap(values: list[float], resamples: int, seed: int) -> tuple[float, float]:
    """The textbook loop: one resample at a time, from the same generator stream."""
    data = np.sort(np.asarray(values))
    generator = np.random.default_rng(seed)
    means = [
        data[generator.integers(0, data.size, size=data.size)].mean() for _ in range(resamples)
    ]
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def test_bootstrap_matches_the_loop_and_ignores_order_and_chunking() -> None:
    values = [float(v) for v in np.random.default_rng(7).lognormal(10, 1, size=37)]
    expected = reference_bootstrap(values, 2_000, 11)
    assert bootstrap_mean_interval(values, resamples=2_000, seed=11) == expected
    assert bootstrap_mean_interval(values[::-1], resamples=2_000, seed=11) == expected
    assert bootstrap_mean_interval(values, resamples=2_000, seed=11, max_cells=100) == expected
    low, high = expected
    assert min(values) < low < float(np.mean(values)) < high < max(values)


def test_bootstrap_is_seeded() -> None:
    values = [1.0, 2.0, 3.0, 5.0, 8.0, 13.0]
    assert bootstrap_mean_interval(values) == bootstrap_mean_interval(values)
    assert bootstrap_mean_interval(values, seed=1) != bootstrap_mean_interval(values, seed=2)


def test_duplicates_keep_the_earliest_and_do_not_chain() -> None:
    minute = 60_000_000
    group = np.array([1, 1, 1, 1, 1, 2, 2], dtype=np.int64)
    # group 1 at 0, 40, 60, 80, 100 min: 40 and 60 are within 60 min of the kept 0 (inclusive);
    # 80 is not (no chaining from the dropped 40), so it is kept and drops 100.
    # group 2 at 0 and 61 min: both kept.
    time = np.array([0, 40, 60, 80, 100, 0, 61], dtype=np.int64) * minute
    assert duplicate_mask(group, time, 60 * minute).tolist() == [
        False,
        True,
        True,
        False,
        True,
        False,
        False,
    ]
    assert duplicate_mask(group[:1], time[:1], 60 * minute).tolist() == [False]


def test_count_duplicates_groups_by_own_person_and_activity_type() -> None:
    t0 = datetime(2025, 3, 5, 15, 0, tzinfo=UTC)
    rows = [
        # member 1, type 1: 0 and +40 min -> one duplicate (the dsc-1014/dsc-1015 pair)
        (1, None, None, 1, t0, "discourse", "a"),
        (1, None, None, 1, t0 + timedelta(minutes=40), "discourse", "b"),
        # member 1, another type, contact 1 with the same id number, member 2: no duplicates
        (1, None, None, 2, t0 + timedelta(minutes=10), "discourse", "c"),
        (None, 1, None, 1, t0 + timedelta(minutes=10), "salesforce", "d"),
        (2, None, None, 1, t0 + timedelta(minutes=5), "discourse", "e"),
        # lead 9 twice at the same instant: the one first by (source, external_id) is kept
        (None, None, 9, 3, t0, "salesforce", "z"),
        (None, None, 9, 3, t0, "salesforce", "y"),
    ]
    frame = pl.DataFrame(
        rows,
        schema={
            "member_id": pl.Int64,
            "contact_id": pl.Int64,
            "lead_id": pl.Int64,
            "activity_type_id": pl.Int64,
            "occurred_at": pl.Datetime("us", "UTC"),
            "source": pl.Utf8,
            "external_id": pl.Utf8,
        },
        orient="row",
    )
    assert count_duplicates(frame, 60) == 2
    assert count_duplicates(frame, 39) == 1  # 40 min apart is now outside; the tie still merges
    assert count_duplicates(frame.head(1), 60) == 0


def test_size_bands_and_their_edges() -> None:
    assert band_labels("employees") == [
        "1-50",
        "51-250",
        "251-1000",
        "1001-5000",
        "5001+",
        "unknown",
    ]
    employees = [None, 0, 1, 50, 51, 250, 251, 1000, 1001, 5000, 5001, 80_000]
    assert [band_of(v, "employees") for v in employees] == [
        "unknown",
        "unknown",
        "1-50",
        "1-50",
        "51-250",
        "51-250",
        "251-1000",
        "251-1000",
        "1001-5000",
        "1001-5000",
        "5001+",
        "5001+",
    ]
    revenue = [None, 0, 999_999, 1_000_000, 10_000_000, 100_000_000, 999_999_999, 10**9]
    assert [band_of(v, "annual_revenue") for v in revenue] == [
        "unknown",
        "<1M",
        "<1M",
        "1M-10M",
        "10M-100M",
        "100M-1B",
        "100M-1B",
        "1B+",
    ]


def _segment(closed: tuple[int, int], difference: float | None) -> LiftSegment:
    def group(n: int) -> LiftGroup:
        return LiftGroup.model_validate(
            {**dict.fromkeys(LiftGroup.model_fields), "opportunities": n, "closed": n, "won": 0}
            | {"won_with_amount": 0, "won_missing_amount": 0, "won_without_rate": 0}
        )

    return LiftSegment(
        band="b",
        influenced=group(closed[0]),
        not_influenced=group(closed[1]),
        win_rate_difference=difference,
        avg_won_amount_ratio=None,
        days_to_close_difference=None,
    )


def test_band_adjusted_difference_weights_by_closed_deals() -> None:
    # (3 + 1) closed at +0.5, (1 + 5) closed at -0.1, a band that does not compare:
    # (4 · 0.5 + 6 · -0.1) / 10 = 0.14
    segments = [_segment((3, 1), 0.5), _segment((1, 5), -0.1), _segment((9, 0), None)]
    assert band_adjusted_difference(segments) == pytest.approx(0.14)
    assert band_adjusted_difference([_segment((2, 0), None)]) is None
