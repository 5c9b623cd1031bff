"""Rule-based models: per-touch fractions of one stage's journeys (DESIGN.md section 3).

Every function is vectorized over all journeys of a stage at once: elements are sorted by
journey then touch order, journey-wise sums are ``np.add.reduceat`` over ``starts``, and
per-journey values reach the touches through ``seg`` (or through ``starts`` and ``ends``
for the first and last touches).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import cast

import numpy as np
import polars as pl

from ._errors import ModelParameterError
from ._journeys import Journeys, PreparedJourneys
from ._rounding import MAX_DENOMINATOR, Shares, tolerance_quanta
from ._types import BoolArray, FloatArray, IntArray

_MICROSECONDS_PER_DAY = 86_400_000_000.0
_PARAMETER_DENOMINATOR = 10**9


def first_touch(journeys: Journeys) -> FloatArray:
    fraction = np.zeros(journeys.n_elements, dtype=np.float64)
    fraction[journeys.starts] = 1.0
    return fraction


def last_touch(journeys: Journeys) -> FloatArray:
    fraction = np.zeros(journeys.n_elements, dtype=np.float64)
    fraction[journeys.ends] = 1.0
    return fraction


def linear(journeys: Journeys) -> FloatArray:
    return (1.0 / journeys.lengths.astype(np.float64))[journeys.seg]


def _ratio(value: float) -> Fraction:
    """A parameter read as the exact decimal it was written as (0.1 is 1/10); one with
    more than nine decimal places as the nearest fraction whose denominator is at most
    10^9 (0.3333333333333333 is 1/3)."""
    return Fraction(repr(float(value))).limit_denominator(_PARAMETER_DENOMINATOR)


def _integers(named: Mapping[str, Fraction]) -> dict[str, int]:
    """The fractions as integers over their least common denominator."""
    common = math.lcm(*(f.denominator for f in named.values()))
    return {key: int(f * common) for key, f in named.items()}


def _check_denominator(largest: int, field: str) -> None:
    if largest >= MAX_DENOMINATOR:
        raise ModelParameterError(
            field,
            "its fractions have too large a common denominator for exact cents; "
            "use fewer decimal places",
        )


def _per_journey(journeys: Journeys, num: IntArray, den: IntArray) -> Shares:
    """Shares whose denominator is the journey's: ``den`` per journey, broadcast."""
    return Shares(num=num, den=np.take(den, journeys.seg))


def _normalize(journeys: Journeys, weight: IntArray) -> Shares:
    """Integer weights over their journey's total; journeys whose weights are all 0 become
    linear."""
    total = np.add.reduceat(weight, journeys.starts)
    zero = total <= 0
    if zero.any():
        weight = np.where(zero[journeys.seg], 1, weight)
        total = np.where(zero, journeys.lengths, total)
    return _per_journey(journeys, weight, total)


def time_decay(journeys: Journeys, half_life_days: float, amount: IntArray) -> Shares:
    """Weight 2^(-days to the window end / half-life), normalized.

    Normalizing cancels the window end, so the days are counted to the journey's last touch:
    the same fractions, and no underflow however long the window is (R14). The weights are
    irrational: they are computed in float64, then held as integers (the last touch's is
    2^bits); each journey's ``reach`` covers the error both steps can make, so that
    remainders closer than what float arithmetic can tell apart are ties, by touch order.
    """
    if journeys.n_elements == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Shares(num=empty, den=empty, reach=empty)
    longest = int(journeys.lengths.max())
    bits = min(52, 60 - longest.bit_length())
    time = journeys.time
    behind = (time[journeys.ends][journeys.seg] - time).astype(np.float64)
    behind *= -1.0 / (_MICROSECONDS_PER_DAY * half_life_days)
    weight = np.exp2(behind)
    weight *= float(1 << bits)
    num = np.rint(weight).astype(np.int64)
    del weight, behind
    den = np.add.reduceat(num, journeys.starts)
    # Float error of a weight (the exponent's rounding, exp2's) is a few units of 2^-53 of
    # the journey's total weight (at least 1), rounding to integers half a unit of 2^-bits
    # of it: each quota can be off by the amount times both, for every touch.
    n = journeys.lengths.astype(np.float64)
    error = amount.astype(np.float64) * (n + 2.0) * (2.0**-bits + 2.0**-49)
    return Shares(num=num, den=np.take(den, journeys.seg), reach=tolerance_quanta(error))


def position_based(journeys: Journeys, first: float, middle: float, last: float) -> Shares:
    """``first`` and ``last`` to the ends, ``middle`` shared by the rest.

    One touch gets 1; two touches split in proportion first:last (R11), half each when both
    are 0. The split is read as exact fractions.
    """
    parts = _integers({"first": _ratio(first), "middle": _ratio(middle), "last": _ratio(last)})
    f, m, z = parts["first"], parts["middle"], parts["last"]
    total = f + m + z
    lengths = journeys.lengths
    _check_denominator(total * int(lengths.max(initial=1)), "first")
    inner = np.maximum(lengths - 2, 1)
    den = np.where(lengths >= 3, total * inner, 1)
    num = np.full(journeys.n_elements, m, dtype=np.int64)
    ends = f + z
    pair = lengths == 2
    if ends > 0:
        den = np.where(pair, ends, den)
        num[journeys.ends] = np.where(pair, z, z * inner)
        num[journeys.starts] = np.where(pair, f, f * inner)
    else:
        den = np.where(pair, 2, den)
        num[journeys.ends] = np.where(pair, 1, 0)
        num[journeys.starts] = np.where(pair, 1, 0)
    num[journeys.starts[lengths == 1]] = 1
    return _per_journey(journeys, num, den)


def _count_at_or_before(journeys: Journeys, bound: IntArray, has_bound: BoolArray) -> IntArray:
    """Per journey, how many of its touches occur at or before its ``bound``."""
    hits = journeys.time <= np.take(bound, journeys.seg)
    counts = np.bincount(journeys.seg[hits], minlength=journeys.n_journeys)
    return np.where(has_bound, counts, 0)


def _milestone_positions(
    prepared: PreparedJourneys, journeys: Journeys, stage: str
) -> dict[str, IntArray]:
    """Per milestone, the position of its touch in each journey (-1: unreached).

    Derived from the journeys alone, so computed once and shared by the milestone models.
    """
    key = f"milestones:{stage}"
    cached = journeys.memo.get(key)
    if cached is not None:
        return cast("dict[str, IntArray]", cached)
    opp = journeys.opp
    last = journeys.lengths - 1
    lead = _count_at_or_before(
        journeys, prepared.lead_created_us[opp], prepared.has_lead_created[opp]
    )
    if stage == "pipeline":
        creation = last
        close = np.full(journeys.n_journeys, -1, dtype=np.int64)
    else:
        creation = _count_at_or_before(
            journeys, prepared.created_us[opp], np.ones(journeys.n_journeys, dtype=np.bool_)
        )
        creation -= 1
        close = last
    positions = {
        "first_touch": np.zeros(journeys.n_journeys, dtype=np.int64),
        "lead_creation": lead - 1,
        "opportunity_creation": creation,
        "close": close,
    }
    journeys.memo[key] = positions
    return positions


def milestones(
    prepared: PreparedJourneys,
    journeys: Journeys,
    stage: str,
    shares: Mapping[str, float],
    other: float,
) -> Shares:
    """W-shaped and full-path credit (DESIGN.md section 3, Fine print, R12 and R13).

    ``shares`` maps each milestone of the model (first_touch, lead_creation,
    opportunity_creation and, for full path, close) to its nominal share. A reached
    milestone's holder is a touch; unreached shares go to the reached milestones in
    proportion to their shares, and so does ``other`` when no touch is left over for it
    (equally, when every reached share is 0). Shares are read as exact fractions, so a
    single touch gets exactly 1.
    """
    if journeys.n_elements == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Shares(num=empty, den=empty)
    known = _milestone_positions(prepared, journeys, stage)
    names = list(shares)
    for name in names:
        if name not in known:  # pragma: no cover - guarded by parameter validation
            raise ValueError(f"unknown milestone {name}")
    parts = _integers({**{k: _ratio(v) for k, v in shares.items()}, "other": _ratio(other)})
    share = [parts[name] for name in names]
    other_part = parts["other"]
    milestone_total = sum(share)
    total = milestone_total + other_part
    _check_denominator(total * total * int(journeys.lengths.max()), names[0])
    position = [known[name] for name in names]
    reached = [p >= 0 for p in position]

    # Distinct holders per journey (a touch may hold several milestones): count each holder
    # once, at its first milestone (unreached positions are -1, never a reached one's).
    distinct = np.zeros(journeys.n_journeys, dtype=np.int64)
    reached_share = np.zeros(journeys.n_journeys, dtype=np.int64)
    reached_count = np.zeros(journeys.n_journeys, dtype=np.int64)
    holders = []
    for i in range(len(names)):
        new = reached[i].copy()
        for earlier in range(i):
            new &= position[earlier] != position[i]
        distinct += new
        reached_share += share[i] * reached[i]
        reached_count += reached[i]
        holders.append((journeys.starts + position[i])[reached[i]])
    others = journeys.lengths - distinct
    # Per journey: each reached milestone's numerator per unit of its share (or, when every
    # reached share is 0, its equal part), the others' numerator, and the denominator.
    proportional = reached_share > 0
    weight = np.where(proportional, reached_share, reached_count)
    has_others = others > 0
    den = np.where(has_others, total * weight * others, weight)
    per_share = np.where(has_others, milestone_total * others, 1)
    other_num = np.where(has_others, other_part * weight, 0)

    num = np.take(other_num, journeys.seg)
    for index in holders:
        num[index] = 0
    for i, index in enumerate(holders):
        part = np.where(proportional, share[i] * per_share, per_share)
        num[index] += part[reached[i]]
    return _per_journey(journeys, num, den)


def _weight_codes(
    prepared: PreparedJourneys, weights: Mapping[str, float] | None
) -> tuple[list[int], IntArray]:
    """The distinct weights as integers over their common denominator, and each prepared
    pair's index into them: by activity type when ``weights`` are given, else from the
    touches' own weights (found once per run)."""
    activity = prepared.channels["activity_type"]
    if weights is not None:
        values = [weights.get(label, 0.0) for label in activity.labels]
        codes: IntArray = activity.codes.astype(np.int64)
    else:
        cached = prepared.memo.get("custom_weights")
        if cached is None:
            # np.unique's inverse sorts every pair (an argsort); the distinct weights are
            # few, so they are found by hashing and each pair's index by a search among them.
            found = pl.Series(prepared.weight).unique().to_numpy()
            distinct = np.unique(found + 0.0)  # -0.0 and 0.0 are one weight
            inverse = np.searchsorted(distinct, prepared.weight).astype(np.int64)
            cached = (distinct.tolist(), inverse)
            prepared.memo["custom_weights"] = cached
        values, codes = cast("tuple[list[float], IntArray]", cached)
    integers = _integers({str(i): _ratio(w) for i, w in enumerate(values)})
    return [integers[str(i)] for i in range(len(values))], codes


def custom(
    prepared: PreparedJourneys,
    journeys: Journeys,
    weights: Mapping[str, float] | None,
    position_multipliers: Mapping[str, float] | None,
) -> Shares:
    """Activity-type weights (from the touches, or ``weights`` by activity type), normalized.

    Optional position multipliers scale the first, middle and last touches (a journey of
    one touch is its own first touch). A journey whose weights are all 0 falls back to
    linear. Weights and multipliers are read as exact fractions.
    """
    table_int, codes = _weight_codes(prepared, weights)
    element_codes = np.take(codes, journeys.element)
    largest = max(table_int, default=0)
    factor = 1
    if position_multipliers is not None:
        multiplier = _integers({k: _ratio(v) for k, v in position_multipliers.items()})
        factor = max(multiplier.values())
    _check_denominator(
        largest * factor * int(journeys.lengths.max(initial=1)),
        "position_multipliers" if position_multipliers is not None else "weights",
    )
    num = np.take(np.array(table_int, dtype=np.int64), element_codes)
    if position_multipliers is not None:
        scale = np.full(journeys.n_elements, multiplier["middle"], dtype=np.int64)
        scale[journeys.ends] = multiplier["last"]
        scale[journeys.starts] = multiplier["first"]
        num *= scale
    return _normalize(journeys, num)
