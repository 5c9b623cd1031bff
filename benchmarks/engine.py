"""Benchmark of the attribution engine on seeded synthetic journeys.

    python -m benchmarks.engine --journeys 1000000 --touches-per-journey 4 --channels 12

Times ``prepare`` on its own, then each model (best wall time of ``--repeat`` runs, the
data-driven models' fit also on its own; with ``--memory``, one more run
under tracemalloc for the peak of memory allocated through Python and NumPy), and prints a
table. The data: one opportunity per journey (45% won, 25% lost, 30% open), touches spread
over the year before creation and the months after it, so some fall outside the windows;
persons repeat so that duplicates and shared touches occur; ``--channels`` activity types
spread over the seven categories (the data-driven models use ``activity_type`` channels).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
import polars as pl

from attribution import (
    CATEGORIES,
    MODEL_NAMES,
    JourneySettings,
    ModelSpec,
    PreparedJourneys,
    attribute,
    fit_markov,
    fit_shapley,
    prepare,
)

T = TypeVar("T")
DAY_US = 86_400_000_000
AS_OF = datetime(2025, 9, 30, tzinfo=UTC)


def generate(
    journeys: int, touches_per_journey: float, channels: int, seed: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Seeded touches and opportunities frames in the engine's input format."""
    rng = np.random.default_rng(seed)
    as_of_us = (AS_OF - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    opportunity_id = np.arange(1, journeys + 1, dtype=np.int64)
    created = as_of_us - rng.integers(30 * DAY_US, 720 * DAY_US, journeys)
    outcome = rng.random(journeys)
    is_won = outcome < 0.45
    is_closed = outcome < 0.70
    closed = np.where(is_closed, created + rng.integers(DAY_US, 120 * DAY_US, journeys), 0)
    amount = rng.integers(0, 10_000_000, journeys)
    lead_created = created - rng.integers(0, 400 * DAY_US, journeys)
    opportunities = pl.DataFrame(
        {
            "opportunity_id": opportunity_id,
            "amount": amount,
            "created_at": created,
            "closed_at": closed,
            "is_closed": is_closed,
            "is_won": is_won,
            "lead_created_at": lead_created,
        }
    ).with_columns(
        pl.col("created_at", "lead_created_at").cast(pl.Datetime("us", "UTC")),
        pl.when(pl.col("is_closed"))
        .then(pl.col("closed_at"))
        .otherwise(None)
        .cast(pl.Datetime("us", "UTC"))
        .alias("closed_at"),
        pl.when(pl.int_range(pl.len()) % 50 == 0)
        .then(None)
        .otherwise(pl.col("amount"))
        .alias("amount"),
    )

    counts = 1 + rng.poisson(max(touches_per_journey - 1.0, 0.0), journeys)
    n = int(counts.sum())
    opp = np.repeat(np.arange(journeys), counts)
    span_end = np.where(is_closed, closed, created + 60 * DAY_US)[opp]
    span_start = created[opp] - 380 * DAY_US
    occurred = span_start + (rng.random(n) * (span_end - span_start)).astype(np.int64)
    occurred -= occurred % 1_000_000  # whole seconds, so that equal instants occur
    activity = rng.integers(0, channels, n)
    category_of = np.array([CATEGORIES[i % len(CATEGORIES)] for i in range(channels)])
    person = opp * 3 + rng.integers(0, 3, n)  # three people per opportunity
    touches = pl.DataFrame(
        {
            "opportunity_id": opportunity_id[opp],
            "touch_id": np.arange(1, n + 1, dtype=np.int64),
            "occurred_at": occurred,
            "source": rng.integers(0, 4, n),
            "external_id": np.arange(n, dtype=np.int64),
            "activity_type": activity,
            "person": person,
            "weight": (activity % 4 + 1).astype(np.float64) / 2.0,
            "is_staff": rng.random(n) < 0.01,
            "category": category_of[activity],
        }
    ).with_columns(
        pl.col("occurred_at").cast(pl.Datetime("us", "UTC")),
        pl.format("src{}", pl.col("source")).alias("source"),
        pl.col("external_id").cast(pl.String),
        pl.format("type{}", pl.col("activity_type")).alias("activity_type"),
        pl.when(pl.col("activity_type") % 5 == 0)
        .then(pl.format("program{}", pl.col("activity_type")))
        .otherwise(None)
        .alias("program"),
        (pl.col("activity_type") % len(CATEGORIES) != len(CATEGORIES) - 1).alias("is_community"),
        pl.format("member:{}", pl.col("person")).alias("person"),
    )
    return touches, opportunities


def timed(
    function: Callable[[], T], memory: bool, repeat: int = 1
) -> tuple[T, float, float | None]:
    """The function's value, its best wall time over ``repeat`` runs, its peak MiB."""
    elapsed = float("inf")
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        value = function()
        elapsed = min(elapsed, time.perf_counter() - start)
    peak = None
    if memory:
        del value
        tracemalloc.start()
        value = function()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return value, elapsed, peak


SPECS = {
    "markov": ModelSpec("markov", {"channel": "activity_type"}),
    "shapley": ModelSpec("shapley", {"channel": "activity_type"}),
    "shapley_conversion_rate": ModelSpec(
        "shapley", {"channel": "activity_type", "characteristic": "conversion_rate"}
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--journeys", type=int, default=100_000)
    parser.add_argument("--touches-per-journey", type=float, default=4.0)
    parser.add_argument("--channels", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--models",
        default=",".join([*MODEL_NAMES, "shapley_conversion_rate"]),
        help="comma-separated model names (shapley_conversion_rate: shapley, conversion_rate)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--memory", action="store_true", help="also measure peak memory")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    touches, opportunities = generate(
        args.journeys, args.touches_per_journey, args.channels, args.seed
    )
    print(
        f"generated {opportunities.height:,} opportunities, {touches.height:,} touch rows "
        f"in {time.perf_counter() - start:.2f} s"
    )
    settings = JourneySettings(as_of=AS_OF)
    prepared, seconds, peak = timed(lambda: prepare(touches, opportunities, settings), args.memory)
    assert isinstance(prepared, PreparedJourneys)
    print(
        f"prepared: pipeline {prepared.pipeline.n_elements:,} touches in "
        f"{prepared.pipeline.n_journeys:,} journeys, revenue {prepared.revenue.n_elements:,} "
        f"in {prepared.revenue.n_journeys:,}, fit {prepared.fit.n_journeys:,} journeys"
    )
    rows = [("prepare", seconds, peak, "")]
    heuristic_total = 0.0
    for name in args.models.split(","):
        spec = SPECS.get(name, ModelSpec(name))
        result, seconds, peak = timed(
            lambda spec=spec: attribute(prepared, spec), args.memory, args.repeat
        )
        rows.append((name, seconds, peak, f"{result.credits.height:,} credit rows"))
        if spec.name not in ("markov", "shapley"):
            heuristic_total += seconds
        elif spec.name == "markov":
            _, seconds, peak = timed(
                lambda: fit_markov(prepared, channel="activity_type"), args.memory, args.repeat
            )
            rows.append(("  markov fit only", seconds, peak, "exact absorbing-chain solve"))
        else:
            characteristic = str(spec.params.get("characteristic", "conversions"))
            _, seconds, peak = timed(
                lambda c=characteristic: fit_shapley(
                    prepared, channel="activity_type", characteristic=c
                ),
                args.memory,
                args.repeat,
            )
            rows.append(("  shapley fit only", seconds, peak, f"exact, {characteristic}"))
    rows.append(("rule-based models, total", heuristic_total, None, "the eight of them"))
    print(f"{'step':<26}{'seconds':>10}{'peak MiB':>10}  notes")
    for name, seconds, peak, note in rows:
        shown = f"{peak:10.0f}" if peak is not None else f"{'':>10}"
        print(f"{name:<26}{seconds:10.3f}{shown}  {note}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS: {rss:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
