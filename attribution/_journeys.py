"""Journeys: touches sorted, encoded, deduplicated and cut into stage windows.

Everything that does not depend on a model happens here once, in :func:`prepare`, so that a
run shares the work across models (DESIGN.md section 2 and its Fine print).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final, cast

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

    ``element`` indexes the prepared pair arrays and ``time`` repeats their instants; the
    other arrays describe each element (``seg``: its journey, ``pos``: its position in it)
    or each journey (``starts``, ``ends``: first and last element, ``lengths``, ``opp``:
    the opportunity's index). Every journey has at least one element. ``offset`` is the
    index of the first element within the stage's journeys (for a run made by
    :meth:`split`); ``memo`` keeps what models derive from the journeys alone, so that the
    models of a run share it.
    """

    element: IntArray
    time: IntArray
    seg: IntArray
    pos: IntArray
    starts: IntArray
    ends: IntArray
    lengths: IntArray
    opp: IntArray
    offset: int = 0
    memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_journeys(self) -> int:
        return int(self.starts.size)

    @property
    def n_elements(self) -> int:
        return int(self.element.size)

    def split(self, parts: int) -> list[Journeys]:
        """Cut into at most ``parts`` runs of whole journeys of about equal touch counts.

        The runs are kept, so that every model of a run works on the same objects.
        """
        if parts <= 1 or self.n_journeys <= 1:
            return [self]
        key = f"split:{parts}"
        cached = self.memo.get(key)
        if cached is not None:
            return cast("list[Journeys]", cached)
        targets = np.arange(1, parts) * (self.n_elements / parts)
        cuts = np.unique(np.searchsorted(self.starts, targets))
        bounds = [0, *(int(c) for c in cuts if 0 < c < self.n_journeys), self.n_journeys]
        runs = [self._journey_range(a, b) for a, b in pairwise(bounds)]
        self.memo[key] = runs
        return runs

    def _journey_range(self, first: int, last: int) -> Journeys:
        begin = int(self.starts[first])
        end = int(self.starts[last]) if last < self.n_journeys else self.n_elements
        return Journeys(
            element=self.element[begin:end],
            time=self.time[begin:end],
            seg=self.seg[begin:end] - first,
            pos=self.pos[begin:end],
            starts=self.starts[first:last] - begin,
            ends=self.ends[first:last] - begin,
            lengths=self.lengths[first:last],
            opp=self.opp[first:last],
            offset=self.offset + begin,
        )


def journeys_from_mask(mask: BoolArray, pair_opp: IntArray, time_us: IntArray) -> Journeys:
    """The journeys made of the pairs selected by ``mask`` (pairs sorted by opportunity)."""
    element = np.flatnonzero(mask).astype(np.int64)
    opp = pair_opp[element]
    n = element.size
    new = np.empty(n, dtype=np.bool_)
    if n:
        new[0] = True
        np.not_equal(opp[1:], opp[:-1], out=new[1:])
    starts = np.flatnonzero(new).astype(np.int64)
    lengths = np.diff(np.append(starts, n)).astype(np.int64)
    seg = np.repeat(np.arange(starts.size, dtype=np.int64), lengths)
    pos = np.arange(n, dtype=np.int64) - np.repeat(starts, lengths)
    return Journeys(
        element=element,
        time=time_us[element],
        seg=seg,
        pos=pos,
        starts=starts,
        ends=starts + lengths - 1,
        lengths=lengths,
        opp=opp[starts],
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
    memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

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


@dataclass(frozen=True, slots=True, eq=False)
class _Touches:
    """Distinct touches in touch order (index = rank), and each input row's rank."""

    touch_id: IntArray
    time: IntArray
    community: BoolArray
    weight: FloatArray
    kept: BoolArray
    channels: Mapping[str, ChannelCodes]
    row_rank: IntArray
    duplicates: int
    staff_excluded: int


def _touch_order(raw: pl.DataFrame, rows: IntArray, time: IntArray) -> IntArray:
    """Distinct touches (given by a representative row, in touch_id order) in touch order.

    Order is (occurred_at, source, external_id, touch_id); a stable sort on the instant
    settles everything but equal instants, which a string sort settles apart.
    """
    order = np.argsort(time, kind="stable").astype(np.int64)
    if order.size < 2:
        return order
    ordered = time[order]
    tie = np.zeros(order.size, dtype=np.bool_)
    same = ordered[1:] == ordered[:-1]
    tie[1:] |= same
    tie[:-1] |= same
    if tie.any():
        index = order[tie]
        picked = raw.select("source", "external_id").gather(pl.Series(rows[index]))
        resolved = picked.with_columns(
            pl.Series("time", time[index]), pl.Series("index", index)
        ).sort(["time", "source", "external_id", "index"])
        order[tie] = resolved["index"].to_numpy()
    return order


def _distinct_touches(raw: pl.DataFrame, settings: JourneySettings) -> _Touches:
    """Distinct touches, ordered, encoded, with duplicates and staff marked (not kept)."""
    row_touch = raw["touch_id"].to_numpy().astype(np.int64)
    n_rows = row_touch.size
    by_touch = np.argsort(row_touch, kind="stable")
    sorted_touch = row_touch[by_touch]
    first = np.ones(n_rows, dtype=np.bool_)
    if n_rows > 1:
        first[1:] = sorted_touch[1:] != sorted_touch[:-1]
    rows = by_touch[first].astype(np.int64)  # one representative row per touch, by touch_id
    row_distinct = np.empty(n_rows, dtype=np.int64)
    row_distinct[by_touch] = np.cumsum(first) - 1
    n = rows.size

    time_by_id = raw["occurred_at"].to_numpy().astype(np.int64)[rows]
    order = _touch_order(raw, rows, time_by_id)  # rank -> touch (in touch_id order)
    rank_of = np.empty(n, dtype=np.int64)
    rank_of[order] = np.arange(n, dtype=np.int64)
    ranked_rows = rows[order]

    def column(name: str) -> pl.Series:
        return raw[name].gather(pl.Series(ranked_rows)) if n else raw[name].clear()

    channels = {
        "category": _vocabulary(column("category"), CATEGORIES),
        "activity_type": _vocabulary(column("activity_type")),
        "program": _vocabulary(column("program")),
    }
    time = time_by_id[order]
    community = raw["is_community"].to_numpy().astype(np.bool_)[ranked_rows] & (
        column("category") != "marketing"
    ).to_numpy().astype(np.bool_)
    staff = raw["is_staff"].to_numpy().astype(np.bool_)[ranked_rows]
    dropped = _duplicates(column("person"), channels["activity_type"].codes, time, settings)
    excluded = staff & ~dropped if settings.exclude_staff else np.zeros(n, dtype=np.bool_)
    return _Touches(
        touch_id=sorted_touch[first][order],
        time=time,
        community=community,
        weight=raw["weight"].to_numpy().astype(np.float64)[ranked_rows],
        kept=~dropped & ~excluded,
        channels=channels,
        row_rank=rank_of[row_distinct],
        duplicates=int(dropped.sum()),
        staff_excluded=int(excluded.sum()),
    )


_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _duplicates(
    person: pl.Series, activity: IntArray, time: IntArray, settings: JourneySettings
) -> BoolArray:
    """Duplicates among touches in touch order: same person and activity type (Fine print).

    Touches are grouped by a hash of (person, activity type) packed with their rank into one
    integer sort key. A hash collision could only matter where two touches of the group are
    within the window of each other; those pairs are checked against the real values, and a
    collision there falls back to exact codes.
    """
    n = time.size
    if n < 2:
        return np.zeros(n, dtype=np.bool_)
    nulls = person.is_null().to_numpy()
    hashed = person.hash().to_numpy().astype(np.uint64)
    hashed ^= activity.astype(np.uint64) * _GOLDEN_GAMMA
    rank_bits = int(n - 1).bit_length()
    group = (hashed >> np.uint64(rank_bits + 1)).astype(np.int64)
    if nulls.any():  # no person: never a duplicate of anything
        group[nulls] = -1 - np.arange(int(nulls.sum()), dtype=np.int64)
    window = settings.duplicate_window_us
    dropped, rank, sorted_group = _dropped_by_group(group, rank_bits, time, window)
    # Pairs of neighbours within the window must really share person and activity type.
    close = np.flatnonzero(
        (sorted_group[1:] == sorted_group[:-1])
        & (time[rank[1:]] - time[rank[:-1]] <= window)
        & (sorted_group[1:] >= 0)
    )
    if close.size:
        a = rank[close]
        b = rank[close + 1]
        same_person = person.gather(pl.Series(a)) == person.gather(pl.Series(b))
        if not (bool(same_person.all()) and bool(np.all(activity[a] == activity[b]))):
            exact = pl.DataFrame({"p": person, "a": activity}).select(
                pl.struct("p", "a").rank("dense").cast(pl.Int64)
            )
            codes = exact.to_series().to_numpy().astype(np.int64)
            codes[nulls] = -1 - np.arange(int(nulls.sum()), dtype=np.int64)
            dropped, _, _ = _dropped_by_group(codes, rank_bits, time, window)
    return dropped


def _dropped_by_group(
    group: IntArray, rank_bits: int, time: IntArray, window_us: int
) -> tuple[BoolArray, IntArray, IntArray]:
    """Duplicates by group; also the (group, rank) sort: ranks and groups in that order."""
    n = time.size
    key = (group << rank_bits) | np.arange(n, dtype=np.int64)
    key.sort()
    rank = key & ((1 << rank_bits) - 1)
    sorted_group = key >> rank_bits
    dropped = np.zeros(n, dtype=np.bool_)
    dropped[rank] = duplicate_mask(sorted_group, time[rank], window_us)
    return dropped, rank, sorted_group


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
    value = (opps["value"].fill_null(amount_in.cast(pl.Float64)).fill_null(0.0).to_numpy()).astype(
        np.float64
    )

    touches_of = _distinct_touches(raw, settings)
    n_distinct = touches_of.touch_id.size

    # Pairs (opportunity, kept touch), each once, sorted by opportunity then touch order.
    raw_opp = raw["opportunity_id"].to_numpy().astype(np.int64)
    opp_index = np.searchsorted(opportunity_id, raw_opp).astype(np.int64)
    known = opp_index < opportunity_id.size
    known[known] = opportunity_id[opp_index[known]] == raw_opp[known]
    row_rank = touches_of.row_rank
    keep_row = known & touches_of.kept[row_rank]
    width = max(n_distinct, 1)
    keys = np.sort(opp_index[keep_row] * width + row_rank[keep_row])
    if keys.size > 1:
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
    pair_opp = (keys // width).astype(np.int64)
    pair_rank = (keys % width).astype(np.int64)

    time_us = touches_of.time[pair_rank]
    community = touches_of.community[pair_rank]
    weight = touches_of.weight[pair_rank]
    channels = {
        kind: ChannelCodes(labels=codes.labels, codes=codes.codes[pair_rank])
        for kind, codes in touches_of.channels.items()
    }
    dropped_count = touches_of.duplicates
    excluded_count = touches_of.staff_excluded

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
    all_pipeline = journeys_from_mask(in_pipeline, pair_opp, time_us)
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
    if amount_negative.any():
        creditable = ~amount_negative[pair_opp]
        pipeline = journeys_from_mask(in_pipeline & creditable, pair_opp, time_us)
        revenue = journeys_from_mask(in_revenue & creditable, pair_opp, time_us)
    else:
        pipeline = all_pipeline
        revenue = journeys_from_mask(in_revenue, pair_opp, time_us)
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
        touch_id=touches_of.touch_id[pair_rank],
        time_us=time_us,
        is_community=community,
        weight=weight,
        channels=channels,
        pipeline=pipeline,
        revenue=revenue,
        fit=journeys_from_mask(in_fit, pair_opp, time_us),
        flags=flags,
        stats={
            "touch_rows": raw.height,
            "touches": n_distinct,
            "duplicates_dropped": dropped_count,
            "staff_excluded": excluded_count,
            "pairs": int(pair_opp.size),
            "negative_amounts": int(amount_negative.sum()),
        },
    )
