"""attribute(): one model over prepared journeys, to credits, flags and channel summaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import polars as pl

from . import _models
from ._channels import global_allocation, split_by_channel_value
from ._journeys import Journeys, PreparedJourneys
from ._markov import fit_markov
from ._params import resolve_parameters
from ._rounding import largest_remainder
from ._settings import ModelSpec
from ._shapley import fit_shapley
from ._types import FloatArray

STAGES = ("pipeline", "revenue")

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
        return _models.time_decay(prepared, journeys, float(params["half_life_days"]))
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
    prepared: PreparedJourneys, journeys: Journeys, stage: str, fraction: FloatArray
) -> pl.DataFrame:
    amount = largest_remainder(
        fraction, journeys.seg, journeys.starts, journeys.pos, prepared.amount[journeys.opp]
    )
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
    frames = []
    for stage in STAGES:
        journeys = prepared.pipeline if stage == "pipeline" else prepared.revenue
        fraction = _fractions(prepared, journeys, stage, spec.name, params, channel_values)
        frames.append(_credits(prepared, journeys, stage, fraction))
    credits = pl.concat(frames, how="vertical")
    return AttributionResult(
        model=spec.name,
        credits=credits,
        flags=prepared.flags,
        channels=channels,
        parameters=params,
    )


