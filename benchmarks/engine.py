"""Benchmark of the attribution engine on seeded synthetic journeys.

    python -m benchmarks.engine --journeys 1000000 --touches-per-journey 4 --channels 12
    python -m benchmarks.engine --journeys 1000000 --touches-per-journey 10
    python -m benchmarks.engine --journeys 1000000 --compare-peers

Times ``prepare`` on its own (sorting, encoding, duplicates, windows: shared by every model
of a run), then each model: ``attribute`` from prepared journeys to credits, cent rounding
included. Per step: the first run's wall time (the first model of a run also builds what
the models share, as a service run would), the best wall time of ``--repeat`` runs, its
CPU time (both cores count), and the process's peak RSS during the step: the kernel's
high-water mark of the whole process's resident memory (VmHWM, reset before each step
through /proc/self/clear_refs), so it counts the interpreter and libraries (~60 MB), the
input frames, which stay resident as in a run, with the global categories of their
Categorical columns (not in ``estimated_size``: a few hundred MB for the 3,000,000 persons of
1,000,000 journeys), memory the allocators keep after frees, the prepared journeys, what
the models of the run keep (credit key columns, channel pairs), and the step's temporaries
and result. ``everything`` is prepare plus every model's first run. The
data-driven models' fits are also timed on their own. With ``--memory``, one more run under
tracemalloc gives the peak of memory allocated through Python and NumPy.

The data: one opportunity per journey (45% won, 25% lost, 30% open), touches spread over
the year before creation and the months after it, so some fall outside the windows; whole
seconds, so that equal instants occur; the low-cardinality text columns (source,
activity_type, category, program, person) are Categorical, which the engine reads without
materializing strings (``--strings``: all plain String); persons repeat so that duplicates
and shared touches occur;
``--channels`` activity types spread over the seven categories (the data-driven
models use ``activity_type`` channels).

``--compare-peers`` also runs marketing-attribution-models and ChannelAttribution (the
``bench`` extra; see ``benchmarks/peers.py``) in this process on the same journeys, prints
the speed ratios and checks that the definitions they share agree.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from attribution import (
    CATEGORIES,
    HEURISTIC_MODEL_NAMES,
    AttributionResult,
    JourneySettings,
    ModelSpec,
    PreparedJourneys,
    attribute,
    default_parameters,
    fit_markov,
    fit_shapley,
    prepare,
)

DAY_US = 86_400_000_000
AS_OF = datetime(2025, 9, 30, tzinfo=UTC)
MIB = 2**20


def generate(
    journeys: int, touches_per_journey: float, channels: int, seed: int, strings: bool = False
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

    # Text columns are gathered from their few labels (Categorical) rather than formatted
    # per row: formatting makes one string per row, garbage that the allocator would keep
    # resident after the frame is built (and that a real run's input frames do not carry).
    def labelled(labels: pl.Series, index: np.ndarray[Any, Any]) -> pl.Series:
        return labels.cast(pl.Categorical).gather(pl.Series(index))

    def numbered(prefix: str, count: int) -> pl.Series:
        return pl.select(pl.format(prefix + "{}", pl.int_range(count))).to_series()

    program_of = pl.Series(
        [f"program{a}" if a % 5 == 0 else None for a in range(channels)], dtype=pl.String
    )
    touches = pl.DataFrame(
        {
            "opportunity_id": opportunity_id[opp],
            "touch_id": np.arange(1, n + 1, dtype=np.int64),
            "occurred_at": occurred,
            "source": labelled(numbered("src", 4), rng.integers(0, 4, n)),
            "external_id": np.arange(n, dtype=np.int64),
            "activity_type": labelled(numbered("type", channels), activity),
            "person": labelled(numbered("member:", 3 * journeys), person),
            "weight": (activity % 4 + 1).astype(np.float64) / 2.0,
            "is_staff": rng.random(n) < 0.01,
            "category": labelled(pl.Series(category_of), activity),
            "program": labelled(program_of, activity),
            "is_community": activity % len(CATEGORIES) != len(CATEGORIES) - 1,
        }
    ).with_columns(
        pl.col("occurred_at").cast(pl.Datetime("us", "UTC")),
        pl.col("external_id").cast(pl.String),
    )
    if strings:
        touches = touches.with_columns(pl.col(pl.Categorical).cast(pl.String))
    return touches, opportunities


def _status_mib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux); False where impossible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float | None:
    return _status_mib("VmHWM")


@dataclass
class Step:
    name: str
    first: float
    best: float
    cpu: float
    peak_rss: float | None
    traced: float | None
    note: str


def measure(
    name: str, function: Callable[[], Any], repeat: int, memory: bool, note: str = ""
) -> tuple[Step, Any]:
    """Run ``function`` ``repeat`` times (dropping each result before the next run)."""
    gc.collect()
    can_reset = reset_peak_rss()
    first = best = cpu = float("inf")
    value: Any = None
    for attempt in range(max(repeat, 1)):
        value = None
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        value = function()
        wall, used = time.perf_counter() - wall_start, time.process_time() - cpu_start
        if attempt == 0:
            first = wall
        if wall < best:
            best, cpu = wall, used
    peak = peak_rss_mib() if can_reset else None
    traced = None
    if memory:
        value = None
        gc.collect()
        tracemalloc.start()
        value = function()
        traced = tracemalloc.get_traced_memory()[1] / MIB
        tracemalloc.stop()
    return Step(name, first, best, cpu, peak, traced, note), value


SPECS: dict[str, ModelSpec] = {
    **{name: ModelSpec(name) for name in HEURISTIC_MODEL_NAMES},
    "markov": ModelSpec("markov", {"channel": "activity_type"}),
    "markov_order3": ModelSpec("markov", {"channel": "activity_type", "order": 3}),
    "shapley": ModelSpec("shapley", {"channel": "activity_type"}),
    "shapley_conversion_rate": ModelSpec(
        "shapley", {"channel": "activity_type", "characteristic": "conversion_rate"}
    ),
}
# The goals on a 2-core machine: at 1,000,000 journeys / ~4,000,000 touches, and
# at 10,000,000 touches / 1,000,000 opportunities ("everything": prepare and every model
# of MODEL_NAMES, under 10 s in all and 3 GB of peak RSS).
GOALS = {
    "rule-based models, total": 1.5,
    "markov": 0.5,
    "markov_order3": 3.0,
    "shapley": 0.5,
}
LARGE_GOAL_SECONDS = 10.0
LARGE_GOAL_RSS_MB = 3 * 1024
EVERY_MODEL = (*HEURISTIC_MODEL_NAMES, "markov", "shapley")


def _fit(spec: ModelSpec, prepared: PreparedJourneys) -> Callable[[], Any]:
    params = dict(spec.params)
    channel = str(params.get("channel", "category"))
    if spec.name == "markov":
        order = int(params.get("order", 1))  # type: ignore[call-overload]
        return lambda: fit_markov(prepared, channel=channel, order=order)
    characteristic = str(params.get("characteristic", "conversions"))
    return lambda: fit_shapley(prepared, channel=channel, characteristic=characteristic)


def print_steps(steps: list[Step]) -> None:
    print(
        f"{'step':<28}{'first s':>9}{'best s':>9}{'cpu s':>8}{'peak RSS':>10}{'traced':>9}  notes"
    )
    for step in steps:
        rss = f"{step.peak_rss:8.0f}MB" if step.peak_rss is not None else f"{'':>10}"
        traced = f"{step.traced:7.0f}MB" if step.traced is not None else f"{'':>9}"
        first = f"{step.first:9.3f}" if step.first == step.first else f"{'':>9}"
        cpu = f"{step.cpu:8.3f}" if step.cpu == step.cpu else f"{'':>8}"
        print(f"{step.name:<28}{first}{step.best:9.3f}{cpu}{rss}{traced}  {step.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--journeys", type=int, default=100_000)
    parser.add_argument("--touches-per-journey", type=float, default=4.0)
    parser.add_argument("--channels", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--models",
        default=",".join(SPECS),
        help=f"comma-separated, of: {', '.join(SPECS)}",
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument(
        "--strings", action="store_true", help="plain String text columns, no Categorical"
    )
    parser.add_argument("--memory", action="store_true", help="also trace NumPy allocations")
    parser.add_argument(
        "--compare-peers",
        action="store_true",
        help="also run marketing-attribution-models and ChannelAttribution (bench extra)",
    )
    args = parser.parse_args(argv)
    names = [name for name in args.models.split(",") if name]
    unknown = [name for name in names if name not in SPECS]
    if unknown:
        parser.error(f"unknown model(s): {', '.join(unknown)}")

    start = time.perf_counter()
    touches, opportunities = generate(
        args.journeys, args.touches_per_journey, args.channels, args.seed, args.strings
    )
    gc.collect()
    rss = _status_mib("VmRSS")
    print(
        f"generated {opportunities.height:,} opportunities, {touches.height:,} touch rows "
        f"in {time.perf_counter() - start:.2f} s; input frames "
        f"{(touches.estimated_size() + opportunities.estimated_size()) / MIB:,.0f} MB"
        + (f", process RSS {rss:,.0f} MB (all of it: see the notes)" if rss is not None else "")
    )
    settings = JourneySettings(as_of=AS_OF)
    step, prepared = measure(
        "prepare",
        lambda: prepare(touches, opportunities, settings),
        1,
        args.memory,
        "sort, encode, duplicates, windows",
    )
    assert isinstance(prepared, PreparedJourneys)
    print(
        f"prepared: pipeline {prepared.pipeline.n_elements:,} touches in "
        f"{prepared.pipeline.n_journeys:,} journeys, revenue {prepared.revenue.n_elements:,} "
        f"in {prepared.revenue.n_journeys:,}, fit {prepared.fit.n_journeys:,} journeys"
    )
    steps = [step]
    everything = step.first
    small_goals = 3_500_000 <= touches.height <= 4_500_000
    large_goals = touches.height >= 9_500_000
    seconds: dict[str, float] = {}
    heuristic_best = heuristic_first = 0.0
    for name in names:
        spec = SPECS[name]

        def attribute_spec(spec: ModelSpec = spec) -> AttributionResult:
            return attribute(prepared, spec)

        step, result = measure(name, attribute_spec, args.repeat, args.memory)
        step.note = f"{result.credits.height:,} credit rows"
        if small_goals and name in GOALS:
            verdict = "met" if step.best < GOALS[name] else "NOT met"
            step.note += f"; goal < {GOALS[name]} s: {verdict}"
        del result
        steps.append(step)
        seconds[name] = step.best
        if name in EVERY_MODEL:
            everything += step.first
        if spec.name in HEURISTIC_MODEL_NAMES:
            heuristic_best += step.best
            heuristic_first += step.first
        else:
            what = "exact absorbing-chain solve" if spec.name == "markov" else "exact"
            fit_step, _ = measure(
                f"  {name} fit only", _fit(spec, prepared), args.repeat, False, what
            )
            fit_step.first = float("nan")
            steps.append(fit_step)
    if heuristic_best:
        goal = GOALS["rule-based models, total"]
        verdict = "met" if heuristic_best < goal else "NOT met"
        goal_note = f"; goal < {goal} s: {verdict}" if small_goals else ""
        steps.append(
            Step(
                "rule-based models, total",
                heuristic_first,
                heuristic_best,
                float("nan"),
                None,
                None,
                f"the {sum(SPECS[n].name in HEURISTIC_MODEL_NAMES for n in names)} of them"
                + goal_note,
            )
        )
    peak = max((s.peak_rss for s in steps if s.peak_rss is not None), default=None)
    note = f"prepare + first runs of {', '.join(n for n in names if n in EVERY_MODEL)}"
    if large_goals:
        verdict = "met" if everything < LARGE_GOAL_SECONDS else "NOT met"
        note += f"; goal < {LARGE_GOAL_SECONDS:.0f} s: {verdict}"
    steps.append(Step("everything", float("nan"), everything, float("nan"), None, None, note))
    print_steps(steps)
    if peak is not None:
        line = f"process peak RSS after generating the data: {peak:,.0f} MB"
        if large_goals:
            verdict = "met" if peak < LARGE_GOAL_RSS_MB else "NOT met"
            line += f"; goal < {LARGE_GOAL_RSS_MB:,} MB: {verdict}"
        print(line)

    if args.compare_peers:
        from benchmarks.peers import run_peers

        runs, notes = run_peers(
            prepared,
            float(str(default_parameters("time_decay")["half_life_days"])),
            seconds,
            lambda model: attribute(prepared, SPECS[model]).credits,
        )
        print()
        for note in notes:
            print(f"note: {note}")
        if runs:
            print(f"{'peer':<20}{'model':<22}{'seconds':>9}{'ratio':>8}  agreement (to 1e-9)")
            for run in runs:
                ratio = f"{run.ratio:7.1f}x" if run.ratio is not None else f"{'':>8}"
                ours = f" [vs {'+'.join(run.ours)}]" if run.ours else ""
                print(
                    f"{run.peer:<20}{run.model:<22}{run.seconds:9.3f}{ratio}  {run.agreement}{ours}"
                )
            print("ratio: the peer's time over the engine's best time for the same models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
