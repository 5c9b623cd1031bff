"""attribute(): one model over prepared journeys, to credits, flags and channel summaries."""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import polars as pl

from . import _models
from ._channels import global_allocation, split_by_channel_value
from ._journeys import Journeys, PreparedJourneys
from ._markov import fit_markov
from ._params import resolve_parameters
from ._rounding import equal_split, exact_split, largest_remainder
from ._settings import ModelSpec
from ._shapley import fit_shapley
from ._types import FloatArray

STAGES = ("pipeline", "revenue")
_PARALLEL_ELEMENTS = 200_000


def _workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _parts(prepared: PreparedJourneys) -> int:
    """Runs of journeys per stage: one when small, else enough to keep every core busy."""
    total = prepared.pipeline.n_elements + prepared.revenue.n_elements
    if total < _PARALLEL_ELEMENTS or _workers() == 1:
        return 1
    return _workers()


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
    model (``None`` for rule-based models). ``parameters``: the explicit parameters used.
    """

    model: str
    credits: pl.DataFrame
    flags: pl.DataFrame
    channels: pl.DataFrame | None
    parameters: dict[str, Any]


def _fractions(
    prepared: PreparedJourneys,
    journeys: Journeys,
    stage: str,
    name: str,
    params: Mapping[str, Any],
    channel_values: FloatArray | None,
) -> FloatArray:
    if name == "first_touch":
        return _models.first_touch(journeys)
    if name == "last_touch":
        return _models.last_touch(journeys)
    if name == "linear":
        return _models.linear(journeys)
    if name == "time_decay":
        return _models.time_decay(journeys, float(params["half_life_days"]))
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
    codes = prepared.channels[str(params["channel"])].codes
    return split_by_channel_value(journeys, codes, channel_values)


def _credits(
    prepared: PreparedJourneys, journeys: Journeys, stage: str, name: str, fraction: FloatArray
) -> pl.DataFrame:
    journey_amount = prepared.amount[journeys.opp]
    if name in ("first_touch", "last_touch"):
        amount = exact_split(fraction, journeys, journey_amount)
    elif name == "linear":
        amount = equal_split(journeys, journey_amount)
    else:
        amount = largest_remainder(fraction, journeys, journey_amount)
    return pl.DataFrame(
        {
            "opportunity_id": prepared.opportunity_id[journeys.opp][journeys.seg],
            "touch_id": prepared.touch_id[journeys.element],
            "fraction": fraction,
            "amount": amount,
        },
        schema={k: v for k, v in CREDITS_SCHEMA.items() if k != "stage"},
    ).select(pl.lit(stage, dtype=pl.String).alias("stage"), pl.all())


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


def attribute(prepared: PreparedJourneys, spec: ModelSpec) -> AttributionResult:
    """Run one model over prepared journeys.

    Raises :class:`ModelParameterError` (or :class:`TooManyChannelsError`) for an unknown
    model or invalid parameters.
    """
    params = resolve_parameters(spec)
    channel_values: FloatArray | None = None
    channels: pl.DataFrame | None = None
    if spec.name == "markov":
        markov = fit_markov(prepared, str(params["channel"]), cast(int, params["order"]))
        channel_values = markov.removal_effect_array
        channels = _channel_frame(
            markov.channels,
            "removal_effect",
            channel_values,
            markov.total_conversions,
            markov.total_value,
        )
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

    tasks = [
        (stage, part)
        for stage in STAGES
        for part in (prepared.pipeline if stage == "pipeline" else prepared.revenue).split(
            _parts(prepared)
        )
    ]

    def run(task: tuple[str, Journeys]) -> pl.DataFrame:
        stage, journeys = task
        fraction = _fractions(prepared, journeys, stage, spec.name, params, channel_values)
        return _credits(prepared, journeys, stage, spec.name, fraction)

    if len(tasks) > len(STAGES):
        # NumPy releases the GIL in its loops and sorts, so runs of journeys overlap on cores.
        with ThreadPoolExecutor(max_workers=_workers()) as pool:
            frames = list(pool.map(run, tasks))
    else:
        frames = [run(task) for task in tasks]
    credits = pl.concat(frames, how="vertical")
    return AttributionResult(
        model=spec.name,
        credits=credits,
        flags=prepared.flags,
        channels=channels,
        parameters=params,
    )
