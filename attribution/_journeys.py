"""Journeys: touches sorted, encoded, deduplicated and cut into stage windows.

Everything that does not depend on a model happens here once, in :func:`prepare`, so that a
run shares the work across models (DESIGN.md section 2 and its Fine print).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from ._errors import InputFrameError
from ._settings import JourneySettings
from ._types import BoolArray, FloatArray, IntArray

CATEGORIES: Final = (
    "support",
    "product",
    "acquisition",
    "contribution",
    "engagement",
    "success",
    "marketing",
)
"""The API's category enum, in its order (channel summaries list categories this way)."""

NO_PROGRAM: Final = "(none)"
"""The program channel of touches that belong to no program."""

TOUCH_COLUMNS: Final = (
    "opportunity_id",
    "touch_id",
    "occurred_at",
    "source",
    "external_id",
    "activity_type",
    "category",
    "program",
    "is_community",
    "is_staff",
    "person",
    "weight",
)
_OPTIONAL_TOUCH_COLUMNS: Final = frozenset({"program", "weight"})

OPPORTUNITY_COLUMNS: Final = (
    "opportunity_id",
    "amount",
    "created_at",
    "closed_at",
    "is_closed",
    "is_won",
    "lead_created_at",
    "value",
)
_OPTIONAL_OPPORTUNITY_COLUMNS: Final = frozenset({"value", "lead_created_at"})


@dataclass(frozen=True, slots=True, eq=False)
class Journeys:
    """Some of the prepared touches grouped by opportunity, each group in touch order.

    ``element`` indexes the prepared pair arrays; the other arrays describe each element
    (``seg``: its journey, ``pos``: its position in it) or each journey (``starts``,
    ``lengths``, ``opp``: the opportunity's index). Every journey has at least one element.
    """

    element: IntArray
    seg: IntArray
    starts: IntArray
    lengths: IntArray
    opp: IntArray
    pos: IntArray

    @property
    def n_journeys(self) -> int:
        return int(self.starts.size)

    @property
    def n_elements(self) -> int:
        return int(self.element.size)


def journeys_from_mask(mask: BoolArray, pair_opp: IntArray) -> Journeys:
    """The journeys made of the pairs selected by ``mask`` (pairs sorted by opportunity)."""
    element = np.flatnonzero(mask).astype(np.int64)
    opp = pair_opp[element]
    n = element.size
    new = np.ones(n, dtype=np.bool_)
    if n > 1:
        new[1:] = opp[1:] != opp[:-1]
    starts = np.flatnonzero(new).astype(np.int64)
    seg = (np.cumsum(new) - 1).astype(np.int64)
    lengths = np.diff(np.append(starts, n)).astype(np.int64)
    pos = np.arange(n, dtype=np.int64) - starts[seg] if n else np.zeros(0, dtype=np.int64)
    return Journeys(
        element=element, seg=seg, starts=starts, lengths=lengths, opp=opp[starts], pos=pos
    )


@dataclass(frozen=True, slots=True, eq=False)
class ChannelCodes:
    """One way of naming channels: the labels and each prepared pair's code into them."""

    labels: tuple[str, ...]
    codes: IntArray


@dataclass(frozen=True, eq=False)
class PreparedJourneys:
    """The output of :func:`prepare`: encoded, windowed journeys shared by every model.

    Opportunity arrays are indexed by opportunity (sorted by ``opportunity_id``); pair arrays
    by (opportunity, kept touch) pair, sorted by opportunity then touch order. ``pipeline``
    and ``revenue`` are the journeys that receive credit (negative amounts left out);
    ``fit`` holds the closed opportunities' paths that data-driven models learn from.
    """

    settings: JourneySettings
    opportunity_id: IntArray
    amount: IntArray
    amount_negative: BoolArray
    created_us: IntArray
    closed_us: IntArray
    is_closed: BoolArray
    is_won: BoolArray
    lead_created_us: IntArray
    has_lead_created: BoolArray
    value: FloatArray
    pair_opp: IntArray
    touch_id: IntArray
    time_us: IntArray
    is_community: BoolArray
    weight: FloatArray
    channels: Mapping[str, ChannelCodes]
    pipeline: Journeys
    revenue: Journeys
    fit: Journeys
    flags: pl.DataFrame
    stats: Mapping[str, int]

    @property
    def n_opportunities(self) -> int:
        return int(self.opportunity_id.size)


def _require(
    frame: pl.DataFrame, columns: tuple[str, ...], optional: frozenset[str], what: str
) -> None:
    missing = [c for c in columns if c not in frame.columns and c not in optional]
    if missing:
        raise InputFrameError(f"the {what} frame lacks column(s): {', '.join(missing)}")


def _epoch_us(frame: pl.DataFrame, column: str) -> pl.Expr:
    dtype = frame.schema[column]
    if not isinstance(dtype, pl.Datetime):
        raise InputFrameError(f"{column} must be a Datetime column, got {dtype}")
    return pl.col(column).dt.epoch("us").alias(column)


def _no_nulls(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    counts = frame.select(pl.col(c).null_count() for c in columns).row(0)
    for column, count in zip(columns, counts, strict=True):
        if count:
            raise InputFrameError(f"the {what} frame has {count} null {column} value(s)")


def _read_opportunities(frame: pl.DataFrame) -> pl.DataFrame:
    _require(frame, OPPORTUNITY_COLUMNS, _OPTIONAL_OPPORTUNITY_COLUMNS, "opportunities")
    lead = (
        _epoch_us(frame, "lead_created_at")
        if "lead_created_at" in frame.columns
        else pl.lit(None, dtype=pl.Int64).alias("lead_created_at")
    )
    value = (
        pl.col("value").cast(pl.Float64)
        if "value" in frame.columns
        else pl.lit(None, dtype=pl.Float64).alias("value")
    )
    opportunities = frame.select(
        pl.col("opportunity_id").cast(pl.Int64),
        pl.col("amount").cast(pl.Int64),
        _epoch_us(frame, "created_at"),
        _epoch_us(frame, "closed_at"),
        pl.col("is_closed").cast(pl.Boolean).fill_null(False),
        pl.col("is_won").cast(pl.Boolean).fill_null(False),
        lead,
        value,
    ).sort("opportunity_id")
    _no_nulls(opportunities, ("opportunity_id", "created_at"), "opportunities")
    ids = opportunities["opportunity_id"].to_numpy()
    if ids.size > 1 and bool(np.any(ids[1:] == ids[:-1])):
        raise InputFrameError("the opportunities frame repeats an opportunity_id")
    return opportunities


def _read_touches(frame: pl.DataFrame) -> pl.DataFrame:
    _require(frame, TOUCH_COLUMNS, _OPTIONAL_TOUCH_COLUMNS, "touches")
    program = (
        pl.col("program").cast(pl.String).fill_null(NO_PROGRAM)
        if "program" in frame.columns
        else pl.lit(NO_PROGRAM).alias("program")
    )
    weight = (
        pl.col("weight").cast(pl.Float64).fill_null(0.0)
        if "weight" in frame.columns
        else pl.lit(1.0).alias("weight")
    )
    touches = frame.select(
        pl.col("opportunity_id").cast(pl.Int64),
        pl.col("touch_id").cast(pl.Int64),
        _epoch_us(frame, "occurred_at"),
        pl.col("source").cast(pl.String).fill_null(""),
        pl.col("external_id").cast(pl.String).fill_null(""),
        pl.col("activity_type").cast(pl.String),
        pl.col("category").cast(pl.String),
        program,
        pl.col("is_community").cast(pl.Boolean).fill_null(False),
        pl.col("is_staff").cast(pl.Boolean).fill_null(False),
        pl.col("person").cast(pl.String),
        weight,
    )
    _no_nulls(
        touches,
        ("opportunity_id", "touch_id", "occurred_at", "activity_type", "category"),
        "touches",
    )
    if touches.height and float(touches["weight"].min()) < 0:  # type: ignore[arg-type]
        raise InputFrameError("activity-type weights must not be negative")
    return touches


def _vocabulary(values: pl.Series, leading: tuple[str, ...] = ()) -> ChannelCodes:
    present = set(values.unique().to_list())
    labels = tuple(v for v in leading if v in present) + tuple(
        sorted(v for v in present if v not in leading)
    )
    codes = values.cast(pl.Enum(list(labels))).to_physical().cast(pl.Int64).to_numpy()
    return ChannelCodes(labels=labels, codes=codes)


def _dense_codes(values: pl.Series) -> IntArray:
    """Equal values get equal codes; nulls get codes of their own."""
    physical = values.cast(pl.Categorical).to_physical().cast(pl.Int64)
    nulls = physical.is_null().to_numpy()
    raw = physical.fill_null(0).to_numpy()
    _, codes = np.unique(raw, return_inverse=True)
    codes = codes.astype(np.int64)
    if nulls.any():
        start = int(codes.max(initial=-1)) + 1
        codes[nulls] = start + np.arange(int(nulls.sum()), dtype=np.int64)
    return codes


def duplicate_mask(group: IntArray, time_us: IntArray, window_us: int) -> BoolArray:
    """Which touches are duplicates, given touches sorted by (group, touch order).

    Per group, the earliest touch is kept and every touch within ``window_us`` (inclusive)
    of that kept touch is dropped; the first touch beyond it starts a new group (no chaining
    from a dropped touch). A touch further than the window from its predecessor is always
    kept, so only runs of close touches need the greedy chain, which is followed by binary
    lifting (a loop over powers of two, not over touches).
    """
    n = group.size
    dropped = np.zeros(n, dtype=np.bool_)
    if n < 2:
        return dropped
    close = np.zeros(n, dtype=np.bool_)
    close[1:] = (group[1:] == group[:-1]) & (time_us[1:] - time_us[:-1] <= window_us)
    if not close.any():
        return dropped
    cluster = np.cumsum(~close) - 1
    member = np.bincount(cluster)[cluster] >= 2
    index = np.flatnonzero(member)
    c = cluster[index]
    t = time_us[index]
    m = index.size
    same = np.zeros(m, dtype=np.bool_)
    same[1:] = c[1:] == c[:-1]
    # A clock that follows real time inside a run and jumps past the window between runs,
    # so that one sorted search finds, for every touch, the first touch beyond its window.
    step = np.zeros(m, dtype=np.int64)
    step[1:] = np.where(same[1:], t[1:] - t[:-1], window_us + 1)
    clock = np.cumsum(step)
    beyond = np.searchsorted(clock, clock + window_us, side="right").astype(np.int64)
    inside = beyond < m
    inside[inside] = c[beyond[inside]] == c[inside]
    jump = np.append(np.where(inside, beyond, m), m)
    heads = np.flatnonzero(~same)
    x = heads[np.cumsum(~same) - 1].astype(np.int64)
    levels = [jump]
    longest = int(np.bincount(c).max())
    while (1 << len(levels)) < longest:
        previous = levels[-1]
        levels.append(previous[previous])
    here = np.arange(m, dtype=np.int64)
    for level in reversed(levels):
        y = level[x]
        x = np.where(y <= here, y, x)
    dropped[index[x != here]] = True
    return dropped


def prepare(
    touches: pl.DataFrame, opportunities: pl.DataFrame, settings: JourneySettings
) -> PreparedJourneys:
    """Sort, encode, deduplicate and window the touches once for every model of a run.

    ``touches`` has one row per (opportunity, touch, reaching person); a touch reached
    through several people counts once. Rows of unknown opportunities are ignored, but their
    touches still take part in removing duplicates (which happens over all touches, before
    any window). See the package documentation for the columns.
    """
    opps = _read_opportunities(opportunities)
    raw = _read_touches(touches)
    as_of = settings.as_of_us

    opportunity_id = opps["opportunity_id"].to_numpy().astype(np.int64)
    amount_in = opps["amount"]
    amount = amount_in.fill_null(0).to_numpy().astype(np.int64)
    amount_negative = amount < 0
    created = opps["created_at"].to_numpy().astype(np.int64)
    is_closed_in = opps["is_closed"].to_numpy().astype(np.bool_)
    is_won = opps["is_won"].to_numpy().astype(np.bool_)
    is_closed = is_closed_in | is_won
    closed = opps["closed_at"].fill_null(as_of).to_numpy().astype(np.int64)
    lead_series = opps["lead_created_at"]
    has_lead = lead_series.is_not_null().to_numpy().astype(np.bool_)
    lead_created = lead_series.fill_null(0).to_numpy().astype(np.int64)
    value = (
        opps["value"].fill_null(amount_in.cast(pl.Float64)).fill_null(0.0).to_numpy()
    ).astype(np.float64)

    distinct = (
        raw.drop("opportunity_id")
        .unique(subset="touch_id", keep="any")
        .sort(["occurred_at", "source", "external_id", "touch_id"])
    )
    d_touch = distinct["touch_id"].to_numpy().astype(np.int64)
    d_time = distinct["occurred_at"].to_numpy().astype(np.int64)
    n_distinct = d_touch.size
    channels_all = {
        "category": _vocabulary(distinct["category"], CATEGORIES),
        "activity_type": _vocabulary(distinct["activity_type"]),
        "program": _vocabulary(distinct["program"]),
    }

    # Duplicates: same person and activity type, over every touch, before any window.
    n_types = len(channels_all["activity_type"].labels)
    group = _dense_codes(distinct["person"]) * max(n_types, 1) + channels_all["activity_type"].codes
    rank = np.arange(n_distinct, dtype=np.int64)
    by_group = np.argsort(group * max(n_distinct, 1) + rank, kind="stable")
    dropped = np.zeros(n_distinct, dtype=np.bool_)
    dropped[by_group] = duplicate_mask(
        group[by_group], d_time[by_group], settings.duplicate_window_us
    )
    staff = distinct["is_staff"].to_numpy().astype(np.bool_)
    excluded = staff & ~dropped if settings.exclude_staff else np.zeros(n_distinct, np.bool_)
    kept = ~dropped & ~excluded

    # Pairs (opportunity, kept touch), each once, sorted by opportunity then touch order.
    raw_opp = raw["opportunity_id"].to_numpy().astype(np.int64)
    raw_touch = raw["touch_id"].to_numpy().astype(np.int64)
    by_id = np.argsort(d_touch, kind="stable")
    touch_rank = by_id[np.searchsorted(d_touch[by_id], raw_touch)] if raw_touch.size else raw_touch
    opp_index = np.searchsorted(opportunity_id, raw_opp).astype(np.int64)
    known = opp_index < opportunity_id.size
    known[known] = opportunity_id[opp_index[known]] == raw_opp[known]
    keep_row = known & kept[touch_rank] if raw_touch.size else known
    keys = np.unique(opp_index[keep_row] * max(n_distinct, 1) + touch_rank[keep_row])
    pair_opp = (keys // max(n_distinct, 1)).astype(np.int64)
    pair_rank = (keys % max(n_distinct, 1)).astype(np.int64)

    time_us = d_time[pair_rank]
    community = (
        distinct["is_community"].to_numpy().astype(np.bool_)
        & (distinct["category"] != "marketing").to_numpy().astype(np.bool_)
    )[pair_rank]
    weight = distinct["weight"].to_numpy().astype(np.float64)[pair_rank]
    channels = {
        kind: ChannelCodes(labels=codes.labels, codes=codes.codes[pair_rank])
        for kind, codes in channels_all.items()
    }

    # Windows, both ends inclusive (Fine print).
    start = (created - settings.lookback_us)[pair_opp]
    created_p = created[pair_opp]
    closed_p = closed[pair_opp]
    in_pipeline = (time_us >= start) & (time_us <= created_p)
    in_revenue = is_won[pair_opp] & (time_us >= start) & (time_us <= closed_p)
    in_fit = (
        is_closed[pair_opp]
        & ~amount_negative[pair_opp]
        & (time_us >= start)
        & (time_us <= closed_p)
    )
    accelerated_end = np.where(is_closed, closed, as_of)[pair_opp]
    accelerating = community & (time_us > created_p) & (time_us <= accelerated_end)

    n_opps = opportunity_id.size
    all_pipeline = journeys_from_mask(in_pipeline, pair_opp)
    sourced = np.zeros(n_opps, dtype=np.bool_)
    sourced[all_pipeline.opp] = community[all_pipeline.element[all_pipeline.starts]]

    def any_per_opportunity(mask: BoolArray) -> BoolArray:
        return np.bincount(pair_opp[mask], minlength=n_opps)[:n_opps] > 0

    flags = pl.DataFrame(
        {
            "opportunity_id": opportunity_id,
            "pipeline_influenced": any_per_opportunity(in_pipeline & community),
            "revenue_influenced": any_per_opportunity(in_revenue & community),
            "sourced": sourced,
            "accelerated": any_per_opportunity(accelerating),
        },
        schema={
            "opportunity_id": pl.Int64,
            "pipeline_influenced": pl.Boolean,
            "revenue_influenced": pl.Boolean,
            "sourced": pl.Boolean,
            "accelerated": pl.Boolean,
        },
    )
    creditable = ~amount_negative[pair_opp]
    return PreparedJourneys(
        settings=settings,
        opportunity_id=opportunity_id,
        amount=amount,
        amount_negative=amount_negative,
        created_us=created,
        closed_us=closed,
        is_closed=is_closed,
        is_won=is_won,
        lead_created_us=lead_created,
        has_lead_created=has_lead,
        value=value,
        pair_opp=pair_opp,
        touch_id=d_touch[pair_rank],
        time_us=time_us,
        is_community=community,
        weight=weight,
        channels=channels,
        pipeline=journeys_from_mask(in_pipeline & creditable, pair_opp),
        revenue=journeys_from_mask(in_revenue & creditable, pair_opp),
        fit=journeys_from_mask(in_fit, pair_opp),
        flags=flags,
        stats={
            "touch_rows": raw.height,
            "touches": n_distinct,
            "duplicates_dropped": int(dropped.sum()),
            "staff_excluded": int(excluded.sum()),
            "pairs": int(pair_opp.size),
            "negative_amounts": int(amount_negative.sum()),
        },
    )
