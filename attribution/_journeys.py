"""Journeys: touches sorted, encoded, deduplicated and cut into stage windows.

Everything that does not depend on a model happens here once, in :func:`prepare`, so that a
run shares the work across models (DESIGN.md section 2 and its Fine print).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Final, TypeVar, cast

import numpy as np
import polars as pl
from numpy.typing import NDArray

from ._errors import InputFrameError
from ._memory import small_pages
from ._settings import JourneySettings
from ._types import BoolArray, CodeArray, FloatArray, IndexArray, IntArray

T = TypeVar("T", bound=np.generic)

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

MAX_AMOUNT: Final = 10**15
"""The largest amount, in minor units, the engine allocates exactly; a larger one is an
:class:`InputFrameError`."""

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

    ``element`` indexes the prepared pair arrays (``pair_time``: all their instants, shared,
    not copied; ``time`` gathers the elements' instants on demand); the other arrays describe each element (``seg``: its journey, ``pos``: its position in it)
    or each journey (``starts``, ``ends``: first and last element, ``lengths``, ``opp``:
    the opportunity's index). Every journey has at least one element. ``offset`` is the
    index of the first element within the stage's journeys (for a run made by
    :meth:`split`); ``memo`` keeps what models derive from the journeys alone, so that the
    models of a run share it.
    """

    element: IntArray
    pair_time: IntArray
    seg: IndexArray
    pos: IndexArray
    starts: IntArray
    ends: IntArray
    lengths: IntArray
    opp: IntArray
    offset: int = 0
    memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    @property
    def time(self) -> IntArray:
        """Each element's instant (gathered on each call)."""
        return np.take(self.pair_time, self.element)

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
            pair_time=self.pair_time,
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
    element = np.flatnonzero(mask).astype(np.int64, copy=False)
    opp = pair_opp[element]
    n = element.size
    new = np.empty(n, dtype=np.bool_)
    if n:
        new[0] = True
        np.not_equal(opp[1:], opp[:-1], out=new[1:])
    starts = np.flatnonzero(new).astype(np.int64, copy=False)
    lengths = np.diff(np.append(starts, n))
    if n >= 2**31:
        raise ValueError(f"{n} touches in one stage exceed the engine's 32-bit indices")
    # 32-bit: a run keeps one journey number and one position per element.
    seg = np.repeat(np.arange(starts.size, dtype=np.int32), lengths)
    pos = np.arange(n, dtype=np.int32)
    pos -= np.repeat(starts.astype(np.int32), lengths)
    return Journeys(
        element=element,
        pair_time=time_us,
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
    codes: CodeArray


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
    value_known: BoolArray
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


def _whole_amounts(frame: pl.DataFrame) -> pl.Series:
    """The amounts as Int64, or an :class:`InputFrameError` naming the first bad one: not a
    number, not finite, not whole minor units, or above :data:`MAX_AMOUNT`."""
    ids = frame["opportunity_id"]
    raw = frame["amount"]
    if raw.dtype.is_float():
        bad = (~raw.is_finite() | (raw != raw.floor())).fill_null(False)
        if bad.any():
            where = int(bad.arg_true()[0])
            raise InputFrameError(
                f"opportunity {ids[where]}: amount {raw[where]!r} is not a whole number of "
                "minor units",
                field="amount",
            )
    elif not (raw.dtype.is_integer() or raw.dtype == pl.Null):
        raise InputFrameError(f"amount must be a numeric column, got {raw.dtype}", field="amount")
    too_large = (raw > MAX_AMOUNT).fill_null(False)
    if too_large.any():
        where = int(too_large.arg_true()[0])
        raise InputFrameError(
            f"opportunity {ids[where]}: amount {int(raw[where]):,} minor units is above the "
            f"{MAX_AMOUNT:,} the engine allocates exactly",
            field="amount",
        )
    return raw.cast(pl.Int64)


def _values(frame: pl.DataFrame) -> pl.Series:
    """The reporting-currency values (null: unconverted), finite; the amounts when the
    frame has no value column (the amounts are then in the reporting currency)."""
    if "value" not in frame.columns:
        return frame["amount"].cast(pl.Float64).alias("value")
    value = frame["value"].cast(pl.Float64)
    bad = (~value.is_finite()).fill_null(False)
    if bad.any():
        where = int(bad.arg_true()[0])
        raise InputFrameError(
            f"opportunity {frame['opportunity_id'][where]}: value {value[where]!r} is not finite",
            field="value",
        )
    return value


def _read_opportunities(frame: pl.DataFrame) -> pl.DataFrame:
    _require(frame, OPPORTUNITY_COLUMNS, _OPTIONAL_OPPORTUNITY_COLUMNS, "opportunities")
    frame = frame.with_columns(pl.col("opportunity_id").cast(pl.Int64))
    frame = frame.with_columns(_whole_amounts(frame), _values(frame))
    lead = (
        _epoch_us(frame, "lead_created_at")
        if "lead_created_at" in frame.columns
        else pl.lit(None, dtype=pl.Int64).alias("lead_created_at")
    )
    opportunities = frame.select(
        pl.col("opportunity_id"),
        pl.col("amount"),
        _epoch_us(frame, "created_at"),
        _epoch_us(frame, "closed_at"),
        pl.col("is_closed").cast(pl.Boolean).fill_null(False),
        pl.col("is_won").cast(pl.Boolean).fill_null(False),
        lead,
        pl.col("value"),
    ).sort("opportunity_id")
    _no_nulls(opportunities, ("opportunity_id", "created_at"), "opportunities")
    ids = opportunities["opportunity_id"].to_numpy()
    if ids.size > 1 and bool(np.any(ids[1:] == ids[:-1])):
        raise InputFrameError("the opportunities frame repeats an opportunity_id")
    return opportunities


def _text(frame: pl.DataFrame, column: str) -> pl.Expr:
    """A text column as given when categorical (no strings materialized), else as String."""
    if isinstance(frame.schema[column], pl.Categorical | pl.Enum):
        return pl.col(column)
    return pl.col(column).cast(pl.String)


def _read_touches(frame: pl.DataFrame) -> pl.DataFrame:
    """The touch columns the engine reads; text columns stay categorical when given so."""
    _require(frame, TOUCH_COLUMNS, _OPTIONAL_TOUCH_COLUMNS, "touches")
    program = (
        _text(frame, "program").fill_null(NO_PROGRAM)
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
        _text(frame, "source").fill_null(""),
        _text(frame, "external_id").fill_null(""),
        _text(frame, "activity_type"),
        _text(frame, "category"),
        program,
        pl.col("is_community").cast(pl.Boolean).fill_null(False),
        pl.col("is_staff").cast(pl.Boolean).fill_null(False),
        _text(frame, "person"),
        weight,
    )
    _no_nulls(
        touches,
        ("opportunity_id", "touch_id", "occurred_at", "activity_type", "category"),
        "touches",
    )
    weights = touches["weight"]
    if touches.height and not bool((weights.is_finite() & (weights >= 0)).all()):
        raise InputFrameError(
            "activity-type weights must be finite and not negative", field="weight"
        )
    return touches


_CHANNEL_KINDS: Final = ("category", "activity_type", "program")


def _encode_channels(raw: pl.DataFrame, rows: IntArray | None) -> dict[str, ChannelCodes]:
    """Channel labels and codes of the distinct touches (``rows``: their rows, or all rows).

    Labels are those of the distinct touches: the API's categories in their order, other
    kinds sorted. Each column is encoded once over all rows (in parallel by Polars), then
    the codes are taken at the distinct touches' rows.
    """
    if raw.height == 0:
        empty = np.zeros(0, dtype=np.int32)
        return {kind: ChannelCodes(labels=(), codes=empty) for kind in _CHANNEL_KINDS}
    distinct = raw.select(pl.col(kind).unique().implode() for kind in _CHANNEL_KINDS)
    uniques = distinct.row(0)
    coded = {
        kind: distinct[kind].explode()
        for kind in _CHANNEL_KINDS
        if isinstance(raw.schema[kind], pl.Categorical | pl.Enum)
    }
    leading = {"category": CATEGORIES}
    labels = {}
    for kind, values in zip(_CHANNEL_KINDS, uniques, strict=True):
        present = set(values)
        first = leading.get(kind, ())
        labels[kind] = tuple(v for v in first if v in present) + tuple(
            sorted(v for v in present if v not in first)
        )
    text = [kind for kind in _CHANNEL_KINDS if kind not in coded]
    physical = raw.select(
        pl.col(kind).cast(pl.Enum(list(labels[kind]))).to_physical() for kind in text
    )
    channels = {}
    for kind in _CHANNEL_KINDS:
        if kind in coded:
            codes = _recode(raw[kind], coded[kind], labels[kind])
        else:
            codes = physical[kind].to_numpy().astype(np.int32)
        names = labels[kind]
        if rows is not None:
            codes = codes[rows]
            present_codes = np.bincount(codes, minlength=len(names)) > 0
            if not present_codes.all():  # a label only on a repeated row of some touch
                names = tuple(name for name, p in zip(names, present_codes, strict=True) if p)
                codes = (np.cumsum(present_codes) - 1).astype(np.int32)[codes]
        channels[kind] = ChannelCodes(labels=names, codes=codes)
    return channels


_TABLE_SLACK = 1 << 20
"""A categorical column is recoded through a table of its largest code's size when that is
at most 4 entries a row plus this; else by a search among its distinct codes (a process's
global categories can grow far beyond the labels of one frame)."""


def _recode(column: pl.Series, distinct: pl.Series, labels: tuple[str, ...]) -> CodeArray:
    """A categorical column's codes into ``labels``, through a table indexed by the
    column's own codes (no string is read per row)."""
    own = distinct.to_physical().to_numpy().astype(np.int64)
    index = {label: i for i, label in enumerate(labels)}
    target = np.array([index[label] for label in distinct.to_list()], dtype=np.int32)
    physical: NDArray[np.uint32] = column.to_physical().to_numpy()
    if int(own.max(initial=0)) <= 4 * physical.size + _TABLE_SLACK:
        table = np.zeros(int(own.max(initial=0)) + 1, dtype=np.int32)
        table[own] = target
        return table[physical]
    by_code = np.argsort(own)
    return target[by_code][np.searchsorted(own[by_code], physical)]


def duplicate_mask(group: IntArray, time_us: IntArray, window_us: int) -> BoolArray:
    """Which touches are duplicates, given touches sorted by (group, touch order).

    Per group, the earliest touch is kept and every touch within ``window_us`` (inclusive)
    of that kept touch is dropped; the first touch beyond it starts a new group (no chaining
    from a dropped touch). A touch further than the window from its predecessor is always
    kept, so only runs of close touches need the greedy chain, which is followed by binary
    lifting (a loop over powers of two, not over touches).
    """
    n = group.size
    close = np.zeros(n, dtype=np.bool_)
    if n > 1:
        close[1:] = (group[1:] == group[:-1]) & (time_us[1:] - time_us[:-1] <= window_us)
    return _dropped_in_runs(close, time_us, window_us)


def _dropped_in_runs(close: BoolArray, time_us: IntArray, window_us: int) -> BoolArray:
    """:func:`duplicate_mask` given ``close``: whether each touch is of its predecessor's
    group and within the window of it (False for the first)."""
    n = close.size
    dropped = np.zeros(n, dtype=np.bool_)
    if not close.any():
        return dropped
    # Touches in runs of close touches: a close one or the one before it.
    member = close.copy()
    member[:-1] |= close[1:]
    index = np.flatnonzero(member)
    c = np.cumsum(~close[index])
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
    """The distinct touches: per touch (index d, in touch_id order) its attributes; its
    rank in touch order; each input row's rank; which ranks are kept (not duplicates, not
    excluded staff)."""

    touch_id: IntArray
    time: IntArray
    community: BoolArray
    weight: FloatArray
    channels: Mapping[str, ChannelCodes]
    order: IntArray
    kept: BoolArray
    row_rank: IntArray
    duplicates: int
    staff_excluded: int


def _index_bits(n: int) -> int:
    return max(1, (n - 1).bit_length())


def _by_touch_id(row_touch: IntArray) -> tuple[IntArray | None, IntArray | None]:
    """One representative row per distinct touch_id (its first row), in touch_id order,
    and each row's distinct touch; ``(None, None)`` when every row is already one touch in
    touch_id order (the identity)."""
    n = row_touch.size
    if n < 2 or bool(np.all(row_touch[1:] > row_touch[:-1])):
        return None, None
    low = int(row_touch.min())
    row_bits = _index_bits(n)
    if (int(row_touch.max()) - low).bit_length() + row_bits <= 63:
        key = row_touch - low
        key <<= row_bits
        key |= np.arange(n, dtype=np.int64)
        key.sort()  # by touch_id, then row: the first row of a touch comes first
        by_touch = key & ((1 << row_bits) - 1)
        key >>= row_bits
        sorted_touch = key
    else:
        by_touch = np.argsort(row_touch, kind="stable").astype(np.int64, copy=False)
        sorted_touch = row_touch[by_touch]
    first = np.ones(n, dtype=np.bool_)
    first[1:] = sorted_touch[1:] != sorted_touch[:-1]
    rows = by_touch[first]
    row_distinct = np.empty(n, dtype=np.int64)
    row_distinct[by_touch] = np.cumsum(first) - 1
    return rows, row_distinct


def _touch_order(
    time: IntArray, ties: Callable[[IntArray], pl.DataFrame]
) -> tuple[IntArray, IntArray]:
    """Touch order (rank -> touch d) and the instants in that order.

    Order is (occurred_at, source, external_id, touch_id). One sort of packed integers
    (the instant, coarsened when the span needs more bits, and d, which follows touch_id)
    settles everything but equal (coarse) instants; those are sorted apart with the
    strings that ``ties`` gives for some touches.
    """
    n = time.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low = int(time.min())
    index_bits = _index_bits(n)
    shift = max(0, (int(time.max()) - low).bit_length() + index_bits - 63)
    key = time - low
    key >>= shift
    key <<= index_bits
    key |= np.arange(n, dtype=np.int64)
    key.sort()
    order = key & ((1 << index_bits) - 1)
    key >>= index_bits
    tie = np.zeros(n, dtype=np.bool_)
    same = key[1:] == key[:-1]
    tie[1:] = same
    tie[:-1] |= same
    del same
    # The final order sorts by instant first, so the instants in order are simply sorted.
    ordered = np.sort(time) if shift else key + low
    if tie.any():
        slots = np.flatnonzero(tie)
        index = np.sort(order[slots])  # read the strings in row order: far faster
        resolved = (
            ties(index)
            .with_columns(pl.Series("time", time[index]), pl.Series("index", index))
            .sort(["time", "source", "external_id", "index"])
        )
        order[slots] = resolved["index"].to_numpy()
    return order, ordered


def _distinct_touches(raw: pl.DataFrame, settings: JourneySettings) -> _Touches:
    """Distinct touches, ordered, encoded, with duplicates and staff marked (not kept)."""
    row_touch = raw["touch_id"].to_numpy().astype(np.int64, copy=False)
    rows, row_distinct = _by_touch_id(row_touch)

    def at_touches(values: NDArray[T]) -> NDArray[T]:
        return values if rows is None else values[rows]

    def gather(frame: pl.DataFrame, index: IntArray) -> pl.DataFrame:
        return frame.gather(pl.Series(index if rows is None else rows[index]))

    touch_id = at_touches(row_touch)
    n = touch_id.size
    time = at_touches(raw["occurred_at"].to_numpy().astype(np.int64, copy=False))
    order, ordered_time = _touch_order(
        time,
        lambda index: gather(raw.select("source", "external_id"), index).select(
            pl.col("source", "external_id").cast(pl.String)
        ),
    )
    rank_of = np.empty(n, dtype=np.int64)
    rank_of[order] = np.arange(n, dtype=np.int64)

    channels = _encode_channels(raw, rows)
    category = channels["category"]
    community = at_touches(raw["is_community"].to_numpy().astype(np.bool_, copy=False))
    if "marketing" in category.labels:
        community = community & (category.codes != category.labels.index("marketing"))
    dropped = _duplicates(
        raw["person"],
        rows,
        channels["activity_type"].codes,
        order,
        rank_of,
        ordered_time,
        settings.duplicate_window_us,
    )
    if settings.exclude_staff:
        staff = at_touches(raw["is_staff"].to_numpy().astype(np.bool_, copy=False))[order]
        excluded = staff & ~dropped
    else:
        excluded = np.zeros(n, dtype=np.bool_)
    return _Touches(
        touch_id=touch_id,
        time=time,
        community=community,
        weight=at_touches(raw["weight"].to_numpy().astype(np.float64, copy=False)),
        channels=channels,
        order=order,
        kept=~(dropped | excluded),
        row_rank=rank_of if row_distinct is None else rank_of[row_distinct],
        duplicates=int(dropped.sum()),
        staff_excluded=int(excluded.sum()),
    )


_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _duplicates(
    person_rows: pl.Series,
    rows: IntArray | None,
    activity: CodeArray,
    order: IntArray,
    rank_of: IntArray,
    ordered_time: IntArray,
    window: int,
) -> BoolArray:
    """Duplicates by rank: same person and activity type within the window (Fine print).

    Touches are grouped by a hash of (person, activity type) packed with their rank into one
    integer sort key. A hash collision could only matter where two touches of the group are
    within the window of each other; those pairs are checked against the real values, and a
    collision there falls back to exact codes.
    """
    n = order.size
    if n < 2:
        return np.zeros(n, dtype=np.bool_)
    person = person_rows if rows is None else person_rows.gather(pl.Series(rows))
    nulls = person.is_null().to_numpy()
    rank_bits = _index_bits(n)
    groups = _categorical_groups(person, nulls, activity, rank_bits)
    if groups is not None:
        return _dropped_by_group(groups, rank_of, rank_bits, ordered_time, window)[0]
    hashed = person.hash().to_numpy().astype(np.uint64)
    mixed = activity.astype(np.uint64)
    mixed *= _GOLDEN_GAMMA
    hashed ^= mixed
    del mixed
    hashed >>= np.uint64(rank_bits + 1)
    group = hashed.view(np.int64)
    if nulls.any():  # no person: never a duplicate of anything
        group[nulls] = -1 - np.arange(int(nulls.sum()), dtype=np.int64)
    dropped, rank, close_in_group = _dropped_by_group(
        group, rank_of, rank_bits, ordered_time, window
    )
    # Pairs of neighbours within the window must really share person and activity type.
    close = np.flatnonzero(close_in_group) - 1
    if close.size:
        a = order[rank[close]]
        b = order[rank[close + 1]]
        same_person = person.gather(pl.Series(a)) == person.gather(pl.Series(b))
        if not (bool(same_person.all()) and bool(np.all(activity[a] == activity[b]))):
            exact = pl.DataFrame({"p": person, "a": activity}).select(
                pl.struct("p", "a").rank("dense").cast(pl.Int64)
            )
            codes = exact.to_series().to_numpy().astype(np.int64)
            codes[nulls] = -1 - np.arange(int(nulls.sum()), dtype=np.int64)
            dropped, _, _ = _dropped_by_group(codes, rank_of, rank_bits, ordered_time, window)
    return dropped


_GROUP_KEY_BITS = 62
"""Bits of the (group, rank) sort key; exact groups that need more fall back to hashes."""


def _categorical_groups(
    person: pl.Series, nulls: BoolArray, activity: CodeArray, rank_bits: int
) -> IntArray | None:
    """Exact (person, activity type) groups from a categorical person column's codes (no
    hash, so nothing to check); None for text, or when the codes leave no room for the rank
    in the sort key."""
    if not isinstance(person.dtype, pl.Categorical | pl.Enum):
        return None
    code = person.to_physical().fill_null(0).to_numpy().astype(np.int64)
    kinds = int(activity.max(initial=0)) + 1
    if (int(code.max(initial=0)) * kinds + kinds).bit_length() + rank_bits > _GROUP_KEY_BITS:
        return None
    code *= kinds
    code += activity
    if nulls.any():  # no person: never a duplicate of anything
        code[nulls] = -1 - np.arange(int(nulls.sum()), dtype=np.int64)
    return code


def _dropped_by_group(
    group: IntArray, rank_of: IntArray, rank_bits: int, ordered_time: IntArray, window_us: int
) -> tuple[BoolArray, IntArray, BoolArray]:
    """Duplicates by rank, given each touch's group and rank; also the (group, rank) sort's
    ranks, and where a touch is of its predecessor's group and within its window."""
    key = group << rank_bits
    key |= rank_of
    key.sort()
    rank = key & ((1 << rank_bits) - 1)
    key >>= rank_bits
    time = ordered_time[rank]
    close = np.zeros(rank.size, dtype=np.bool_)
    if rank.size > 1:
        close[1:] = (key[1:] == key[:-1]) & (time[1:] - time[:-1] <= window_us)
    dropped = np.zeros(rank.size, dtype=np.bool_)
    dropped[rank] = _dropped_in_runs(close, time, window_us)
    close &= key >= 0
    return dropped, rank, close


def _opportunity_index(opportunity_id: IntArray, raw_opp: IntArray) -> tuple[IntArray, BoolArray]:
    """Each row's opportunity index (into the sorted ids) and whether the id is known."""
    n_opps = opportunity_id.size
    if n_opps == 0:
        return np.zeros(raw_opp.size, dtype=np.int64), np.zeros(raw_opp.size, dtype=np.bool_)
    low = int(opportunity_id[0])
    span = int(opportunity_id[-1]) - low + 1
    if span <= 4 * n_opps + 1024:  # dense ids: a lookup table
        table = np.full(span + 1, -1, dtype=np.int64)
        table[opportunity_id - low] = np.arange(n_opps, dtype=np.int64)
        offset = raw_opp - low
        offset[(offset < 0) | (offset >= span)] = span
        index = table[offset]
        known = index >= 0
        index[~known] = 0
        return index, known
    index = np.searchsorted(opportunity_id, raw_opp).astype(np.int64)
    known = index < n_opps
    known[known] = opportunity_id[index[known]] == raw_opp[known]
    index[~known] = 0
    return index, known


@small_pages
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
    value_known = opps["value"].is_not_null().to_numpy().astype(np.bool_)
    value = opps["value"].fill_null(0.0).to_numpy().astype(np.float64)

    touches_of = _distinct_touches(raw, settings)
    n_distinct = touches_of.touch_id.size

    # Pairs (opportunity, kept touch), each once, sorted by opportunity then touch order.
    raw_opp = raw["opportunity_id"].to_numpy().astype(np.int64, copy=False)
    opp_index, known = _opportunity_index(opportunity_id, raw_opp)
    row_rank = touches_of.row_rank
    keep_row = known & touches_of.kept[row_rank]
    rank_bits = _index_bits(n_distinct)
    keys = opp_index[keep_row]
    keys <<= rank_bits
    keys |= row_rank[keep_row]
    keys.sort()
    if keys.size > 1:
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
    pair_rank = keys & ((1 << rank_bits) - 1)
    keys >>= rank_bits
    pair_opp = keys
    pair_touch = touches_of.order[pair_rank]

    time_us = touches_of.time[pair_touch]
    community = touches_of.community[pair_touch]
    weight = touches_of.weight[pair_touch]
    channels = {
        kind: ChannelCodes(labels=codes.labels, codes=codes.codes[pair_touch])
        for kind, codes in touches_of.channels.items()
    }
    touch_id = touches_of.touch_id[pair_touch]
    dropped_count = touches_of.duplicates
    excluded_count = touches_of.staff_excluded
    del touches_of, pair_touch, pair_rank, keep_row, opp_index, known, row_rank

    # Windows, both ends inclusive (Fine print), in time relative to the creation.
    relative = np.take(created, pair_opp)
    np.subtract(time_us, relative, out=relative)
    bound = np.take(closed - created, pair_opp)
    after_start = relative >= -settings.lookback_us
    in_pipeline = after_start & (relative <= 0)
    in_window = np.less_equal(relative, bound, out=after_start)
    in_window &= relative >= -settings.lookback_us
    in_revenue = in_window & np.take(is_won, pair_opp)
    in_fit = in_window & np.take(is_closed & ~amount_negative, pair_opp)
    del in_window
    np.take(np.where(is_closed, closed, as_of) - created, pair_opp, out=bound)
    accelerating = np.less_equal(relative, bound)
    accelerating &= relative > 0
    accelerating &= community
    del relative, bound

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
        value_known=value_known,
        pair_opp=pair_opp,
        touch_id=touch_id,
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
