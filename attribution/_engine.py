"""attribute(): one model over prepared journeys, to credits, flags and channel summaries."""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import polars as pl

from . import _models
from ._channels import global_allocation, split_by_channel_value
from ._journeys import Journeys, PreparedJourneys
from ._markov import fit_markov
from ._memory import small_pages
from ._params import resolve_parameters
from ._rounding import Shares, equal_split, largest_remainder, to_one_touch
from ._settings import ModelSpec
from ._shapley import fit_shapley
from ._types import FloatArray, IntArray

STAGES = ("pipeline", "revenue")
_PARALLEL_ELEMENTS = 200_000
_RUN_ELEMENTS = 500_000
_MAX_PARTS = 64


def _workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _parts(prepared: PreparedJourneys) -> int:
    """Runs of journeys per stage: one when small, else enough to keep every core busy.

    A run's temporaries (a few arrays of its size per model) are in flight on every core at
    once, so large stages are cut into runs of about _RUN_ELEMENTS touches: the peak memory
    then stays flat however large the stage (with no measurable cost in speed).
    """
    total = prepared.pipeline.n_elements + prepared.revenue.n_elements
    if total < _PARALLEL_ELEMENTS or _workers() == 1:
        return 1
    return max(_workers(), min(_MAX_PARTS, total // (len(STAGES) * _RUN_ELEMENTS)))


CREDITS_SCHEMA: Mapping[str, pl.DataType] = {
    "stage": pl.String(),
    "opportunity_id": pl.Int64(),
    "touch_id": pl.Int64(),
    "fraction": pl.Float64(),
    "amount": pl.Int64(),
}


@dataclass(frozen=True, eq=False)
class AttributionResult:
    """One model's output for a run.

    ``credits``: one row per stage, opportunity and touch of that stage's window, in touch
    order (fractions of an opportunity and stage sum to 1, amounts to its amount).
    ``flags``: one row per opportunity. ``channels``: the channel summary of a data-driven
    model (``None`` for rule-based models); its ``global_value`` leaves out the won
    opportunities whose value could not be converted, listed in ``unconverted_opportunities``.
    ``parameters``: the explicit parameters used.
    """

    model: str
    credits: pl.DataFrame
    flags: pl.DataFrame
    channels: pl.DataFrame | None
    parameters: dict[str, Any]
    unconverted_opportunities: tuple[int, ...] = ()


_SIMPLE_MODELS: Mapping[str, Any] = {
    "first_touch": _models.first_touch,
    "last_touch": _models.last_touch,
    "linear": _models.linear,
}


def _shares(
    prepared: PreparedJourneys,
    journeys: Journeys,
    stage: str,
    name: str,
    params: Mapping[str, Any],
    channel_values: FloatArray | None,
) -> Shares:
    """Every other model's shares, as exact ratios of integers."""
    if name == "time_decay":
        return _models.time_decay(
            journeys, float(params["half_life_days"]), prepared.amount[journeys.opp]
        )
    if name == "position_based":
        return _models.position_based(
            journeys, float(params["first"]), float(params["middle"]), float(params["last"])
        )
    if name in ("w_shaped", "full_path"):
        milestones = ["first_touch", "lead_creation", "opportunity_creation"]
        if name == "full_path":
            milestones.append("close")
        shares = {key: float(params[key]) for key in milestones}
        return _models.milestones(prepared, journeys, stage, shares, float(params["other"]))
    if name == "custom":
        return _models.custom(
            prepared,
            journeys,
            cast("Mapping[str, float] | None", params["weights"]),
            cast("Mapping[str, float] | None", params["position_multipliers"]),
        )
    assert channel_values is not None
    kind = str(params["channel"])
    return split_by_channel_value(journeys, prepared.channels[kind].codes, channel_values, kind)


def _credit_keys(prepared: PreparedJourneys, stage: str, journeys: Journeys) -> pl.DataFrame:
    """The stage, opportunity and touch columns of a stage's credits, built once per run.

    Every model's credits share these columns (Polars columns are immutable and shared).
    """
    key = f"credit_keys:{stage}"
    cached = prepared.memo.get(key)
    if isinstance(cached, pl.DataFrame):
        return cached
    keys = pl.DataFrame(
        {
            "stage": pl.repeat(stage, journeys.n_elements, dtype=pl.String, eager=True),
            "opportunity_id": np.repeat(prepared.opportunity_id[journeys.opp], journeys.lengths),
            "touch_id": prepared.touch_id[journeys.element],
        },
        schema={
            k: v for k, v in CREDITS_SCHEMA.items() if k in ("stage", "opportunity_id", "touch_id")
        },
    )
    prepared.memo[key] = keys
    return keys


def _fractions_and_amounts(
    prepared: PreparedJourneys,
    journeys: Journeys,
    stage: str,
    name: str,
    params: Mapping[str, Any],
    channel_values: FloatArray | None,
) -> tuple[FloatArray, IntArray]:
    journey_amount = prepared.amount[journeys.opp]
    simple = _SIMPLE_MODELS.get(name)
    if simple is not None:
        fraction = cast("FloatArray", simple(journeys))
        if name == "first_touch":
            return fraction, to_one_touch(journeys, journey_amount, journeys.starts)
        if name == "last_touch":
            return fraction, to_one_touch(journeys, journey_amount, journeys.ends)
        return fraction, equal_split(journeys, journey_amount)
    shares = _shares(prepared, journeys, stage, name, params, channel_values)
    return shares.fraction(), largest_remainder(journeys, journey_amount, shares)


def _channel_frame(
    labels: tuple[str, ...],
    value_column: str,
    values: FloatArray,
    total_conversions: int,
    total_value: int,
) -> pl.DataFrame:
    conversions, value = global_allocation(values, float(total_conversions), total_value)
    return pl.DataFrame(
        {
            "channel": list(labels),
            value_column: values,
            "global_conversions": conversions,
            "global_value": value,
        },
        schema={
            "channel": pl.String,
            value_column: pl.Float64,
            "global_conversions": pl.Float64,
            "global_value": pl.Int64,
        },
    )


@small_pages
def attribute(prepared: PreparedJourneys, spec: ModelSpec) -> AttributionResult:
    """Run one model over prepared journeys.

    Raises :class:`ModelParameterError` (or :class:`TooManyChannelsError`) for an unknown
    model or invalid parameters.
    """
    params = resolve_parameters(spec)
    channel_values: FloatArray | None = None
    channels: pl.DataFrame | None = None
    unconverted: tuple[int, ...] = ()
    if spec.name == "markov":
        markov = fit_markov(
            prepared, str(params["channel"]), cast(int, params["order"]), spec.max_markov_states
        )
        channel_values = markov.removal_effect_array
        channels = _channel_frame(
            markov.channels,
            "removal_effect",
            channel_values,
            markov.total_conversions,
            markov.total_value,
        )
        unconverted = markov.unconverted_opportunities
    elif spec.name == "shapley":
        shapley = fit_shapley(prepared, str(params["channel"]), str(params["characteristic"]))
        channel_values = shapley.value_array
        channels = _channel_frame(
            shapley.channels,
            "shapley_value",
            channel_values,
            shapley.total_conversions,
            shapley.total_value,
        )
        unconverted = shapley.unconverted_opportunities

    stages = {"pipeline": prepared.pipeline, "revenue": prepared.revenue}
    parts = _parts(prepared)
    tasks = [(stage, part) for stage, journeys in stages.items() for part in journeys.split(parts)]
    keys = {stage: _credit_keys(prepared, stage, journeys) for stage, journeys in stages.items()}

    def run(task: tuple[str, Journeys]) -> pl.DataFrame:
        stage, journeys = task
        fraction, amount = _fractions_and_amounts(
            prepared, journeys, stage, spec.name, params, channel_values
        )
        return (
            keys[stage]
            .slice(journeys.offset, journeys.n_elements)
            .hstack([pl.Series("fraction", fraction), pl.Series("amount", amount)])
        )

    if len(tasks) > len(STAGES):
        # NumPy releases the GIL in its loops and sorts, so runs of journeys overlap on cores.
        with ThreadPoolExecutor(max_workers=_workers()) as pool:
            frames = list(pool.map(run, tasks))
    else:
        frames = [run(task) for task in tasks]
    credits = pl.concat(frames, how="vertical", rechunk=False)
    return AttributionResult(
        model=spec.name,
        credits=credits,
        flags=prepared.flags,
        channels=channels,
        parameters=params,
        unconverted_opportunities=unconverted,
    )
