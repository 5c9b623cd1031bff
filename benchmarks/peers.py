"""Peer libraries on the engine's journeys: speed and agreement (``engine.py --compare-peers``).

The peers are optional (the ``bench`` extra) and imported only here, lazily:

- marketing-attribution-models (``mam``): first, last, linear, position-based, time decay,
  exact Markov (matrix inverse) and its own Shapley, over journeys given as paths.
- ChannelAttribution: first, last and linear in one call, and a simulated Markov chain.

Both run on the closed opportunities' journeys that the engine's data-driven models learn
from (``prepared.fit``), one journey per opportunity, with the won ones converting for
their amount; the channel is the activity type. The engine's rule-based credits of the
revenue stage are exactly those journeys' won part (same window, from ``created_at -
lookback`` to the close), so the per-channel totals of ``fraction x amount`` must agree
where the definitions agree.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from attribution import PreparedJourneys, fit_markov

CHANNEL = "activity_type"
SEPARATOR = " > "
HOUR_US = 3_600_000_000
TOLERANCE = 1e-9

# Where a peer's definition is not the engine's, the comparison says so instead of a number.
MAM_SHAPLEY_DIFFERS = (
    "mam's Shapley is another definition: per distinct channel set, over the last 4 channels "
    "(max_size=4), v(S) = conversion rate of journeys whose set is exactly S, scaled to "
    "the set's conversion value; the engine's is exact over all channels with v(S) over "
    "journeys whose set lies within S (Zhao et al.)"
)
CA_MARKOV_DIFFERS = (
    "ChannelAttribution's Markov removal effects are simulated (random walks), not exact: "
    "shown as their deviation from the exact ones"
)


class PeersMissing(RuntimeError):
    """A peer library is not installed (see the ``bench`` extra)."""


@dataclass
class PeerRun:
    peer: str
    model: str
    seconds: float
    ours: tuple[str, ...]  # the engine's models that do the same work (for the speed ratio)
    agreement: str  # the agreement check's verdict, or why there is none
    ratio: float | None = None  # peer seconds / the engine's seconds for ``ours``


def _quiet(function: Callable[[], Any]) -> Any:
    """Run a peer call with its banners and progress printing swallowed."""
    with contextlib.redirect_stdout(io.StringIO()):
        return function()


def import_peers() -> tuple[Any | None, Any | None, list[str]]:
    """The peer modules (``None`` when missing) and a note per missing one."""
    notes = []
    mam = ca = None
    try:
        import mam as mam_module

        mam = mam_module
    except ImportError as error:
        notes.append(
            f"marketing-attribution-models is not installed ({error}); "
            "pip install 'community-attribution[bench]'"
        )
    try:
        ca = _quiet(lambda: __import__("ChannelAttribution"))
    except ImportError as error:
        notes.append(
            f"ChannelAttribution is not installed or does not import ({error}); it compiles "
            "C++ (needs g++) and imports matplotlib: pip install 'community-attribution[bench]'"
        )
    return mam, ca, notes


def peer_journeys(prepared: PreparedJourneys) -> pl.DataFrame:
    """One row per fit journey: path, hours from each touch to the close, outcome, value."""
    fit = prepared.fit
    coding = prepared.channels[CHANNEL]
    labels = pl.Series("label", coding.labels, dtype=pl.String)
    won = prepared.is_won[fit.opp]
    close = prepared.closed_us[fit.opp]
    hours = (close[fit.seg] - fit.time).astype(np.float64) / HOUR_US
    touches = pl.DataFrame(
        {
            "journey": fit.seg,
            "channel": labels.gather(coding.codes[fit.element]),
            "hours": hours,
        }
    )
    paths = touches.group_by("journey", maintain_order=True).agg(
        pl.col("channel").str.join(SEPARATOR).alias("path"),
        pl.col("hours").cast(pl.String).str.join(SEPARATOR).alias("hours"),
    )
    return paths.with_columns(
        pl.format("j{}", pl.col("journey")).alias("journey_id"),
        pl.Series("conv", won.astype(np.int64)),
        pl.Series("null", (~won).astype(np.int64)),
        pl.Series("value", np.where(won, prepared.amount[fit.opp], 0).astype(np.float64)),
    ).drop("journey")


def our_channel_totals(prepared: PreparedJourneys, result_credits: pl.DataFrame) -> np.ndarray:
    """Per channel, the sum of fraction x amount over the revenue stage's credits."""
    revenue = prepared.revenue
    fraction = result_credits.filter(pl.col("stage") == "revenue")["fraction"].to_numpy()
    amount = prepared.amount[revenue.opp][revenue.seg].astype(np.float64)
    codes = prepared.channels[CHANNEL].codes[revenue.element]
    n = len(prepared.channels[CHANNEL].labels)
    return np.bincount(codes, weights=fraction * amount, minlength=n)[:n]


def _compare(labels: tuple[str, ...], ours: np.ndarray, theirs: dict[str, float]) -> str:
    extra = set(theirs) - set(labels)
    if extra:
        return f"channels unknown to the engine: {sorted(extra)}"
    peer = np.array([theirs.get(label, 0.0) for label in labels], dtype=np.float64)
    scale = max(float(np.abs(ours).max(initial=0.0)), 1e-300)
    worst = float(np.abs(peer - ours).max(initial=0.0)) / scale
    verdict = "agree" if worst <= TOLERANCE else "DISAGREE"
    return f"{verdict}: max |difference| / max total = {worst:.1e}"


def _timed(function: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = _quiet(function)
    return value, time.perf_counter() - start


def run_peers(
    prepared: PreparedJourneys,
    half_life_days: float,
    ours_seconds: dict[str, float],
    ours_credits: Callable[[str], pl.DataFrame],
) -> tuple[list[PeerRun], list[str]]:
    """Run every installed peer on the fit journeys; return the runs and notes."""
    mam, ca, notes = import_peers()
    if mam is None and ca is None:
        return [], notes
    journeys = peer_journeys(prepared)
    labels = prepared.channels[CHANNEL].labels
    notes.append(
        f"peers' data: {journeys.height:,} closed journeys ({int(journeys['conv'].sum()):,} won), "
        f"{prepared.fit.n_elements:,} touches, {len(labels)} {CHANNEL} channels; the engine's "
        "times are for both stages of every opportunity with cent rounding"
    )
    totals: dict[str, np.ndarray] = {}

    def ours(model: str) -> np.ndarray:
        if model not in totals:
            totals[model] = our_channel_totals(prepared, ours_credits(model))
        return totals[model]

    runs: list[PeerRun] = []
    if mam is not None:
        runs.extend(_run_mam(mam, journeys, labels, half_life_days, prepared, ours))
    if ca is not None:
        runs.extend(_run_ca(ca, journeys, labels, prepared, ours))
    for run in runs:
        if run.ours and all(model in ours_seconds for model in run.ours):
            run.ratio = run.seconds / sum(ours_seconds[model] for model in run.ours)
    return runs, notes


def _run_mam(
    mam: Any,
    journeys: pl.DataFrame,
    labels: tuple[str, ...],
    half_life_days: float,
    prepared: PreparedJourneys,
    ours: Callable[[str], np.ndarray],
) -> list[PeerRun]:
    runs = []
    model, seconds = _timed(
        lambda: mam.MAM(
            journeys,
            format_type="journey",
            channels_colname="path",
            journey_with_conv_colname="conv",
            user_id_colname="journey_id",
            time_till_conv_colname="hours",
            path_separator=SEPARATOR,
            conversion_value_colname="value",
        )
    )
    runs.append(PeerRun("mam", "input preprocessing", seconds, (), "(not a model)"))

    def totals(result: Any) -> dict[str, float]:
        frame = result.to_polars()
        return dict(zip(frame["channels"].cast(pl.String), frame["attribution"], strict=True))

    heuristics = [
        ("first click", model.run_first_click, "first_touch"),
        ("last click", model.run_last_click, "last_touch"),
        ("linear", model.run_linear, "linear"),
        ("position based", model.run_position_based, "position_based"),
        (
            "time decay",
            lambda: model.run_time_decay(half_life_hours=half_life_days * 24.0),
            "time_decay",
        ),
    ]
    for name, call, engine_model in heuristics:
        result, seconds = _timed(call)
        verdict = _compare(labels, ours(engine_model), totals(result))
        if engine_model == "position_based":
            verdict += " (mam: 40/20/40, two touches 50/50: the engine's defaults)"
        runs.append(PeerRun("mam", name, seconds, (engine_model,), verdict))

    result, seconds = _timed(model.run_markov)
    exact = fit_markov(prepared, channel=CHANNEL, order=1).removal_effects
    theirs = result.metadata["removal_effect"]["removal_effect"].to_dict()
    worst = max(abs(float(theirs.get(label, 0.0)) - exact[label]) for label in labels)
    verdict = "agree" if worst <= TOLERANCE else "DISAGREE"
    runs.append(
        PeerRun(
            "mam",
            "markov (exact)",
            seconds,
            ("markov",),
            f"removal effects {verdict}: max |difference| = {worst:.1e}",
        )
    )
    _, seconds = _timed(model.run_shapley)
    runs.append(PeerRun("mam", "shapley", seconds, ("shapley",), MAM_SHAPLEY_DIFFERS))
    return runs


def _run_ca(
    ca: Any,
    journeys: pl.DataFrame,
    labels: tuple[str, ...],
    prepared: PreparedJourneys,
    ours: Callable[[str], np.ndarray],
) -> list[PeerRun]:
    frame = journeys.select("path", "conv", "null", "value").to_pandas()
    runs = []
    result, seconds = _timed(
        lambda: ca.heuristic_models(
            frame, "path", "conv", var_value="value", sep=">", flg_pro=False
        )
    )
    channel = [str(c).strip() for c in result["channel_name"]]
    verdicts = []
    for column, engine_model in (
        ("first_touch_value", "first_touch"),
        ("last_touch_value", "last_touch"),
        ("linear_touch_value", "linear"),
    ):
        theirs = dict(zip(channel, result[column].astype(float), strict=True))
        verdicts.append(f"{engine_model} {_compare(labels, ours(engine_model), theirs)}")
    runs.append(
        PeerRun(
            "ChannelAttribution",
            "first+last+linear",
            seconds,
            ("first_touch", "last_touch", "linear"),
            "; ".join(verdicts),
        )
    )
    result, seconds = _timed(
        lambda: ca.markov_model(
            frame,
            "path",
            "conv",
            var_value="value",
            var_null="null",
            order=1,
            out_more=True,
            sep=">",
            verbose=False,
            flg_pro=False,
        )
    )
    effects = result["removal_effects"]
    theirs = dict(
        zip(
            [str(c).strip() for c in effects["channel_name"]],
            effects["removal_effects_conversion"].astype(float),
            strict=True,
        )
    )
    exact = fit_markov(prepared, channel=CHANNEL, order=1).removal_effects
    deviation = max(
        abs(theirs.get(label, 0.0) - exact[label]) / max(exact[label], 1e-300) for label in labels
    )
    runs.append(
        PeerRun(
            "ChannelAttribution",
            "markov (simulated)",
            seconds,
            ("markov",),
            f"{CA_MARKOV_DIFFERS}: up to {deviation:.1%} off",
        )
    )
    return runs
