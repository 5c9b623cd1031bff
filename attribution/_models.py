"""Rule-based models: per-touch fractions of one stage's journeys (DESIGN.md section 3).

Every function is vectorized over all journeys of a stage at once: elements are sorted by
journey then touch order, so journey-wise sums are ``np.add.reduceat`` over ``starts``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._journeys import Journeys, PreparedJourneys
from ._types import BoolArray, FloatArray, IntArray

_MICROSECONDS_PER_DAY = 86_400_000_000.0


def _per_element(journeys: Journeys, per_journey: FloatArray) -> FloatArray:
    return per_journey[journeys.seg]


def first_touch(journeys: Journeys) -> FloatArray:
    return np.equal(journeys.pos, 0).astype(np.float64)


def last_touch(journeys: Journeys) -> FloatArray:
    return np.equal(journeys.pos, journeys.lengths[journeys.seg] - 1).astype(np.float64)


def linear(journeys: Journeys) -> FloatArray:
    return 1.0 / journeys.lengths[journeys.seg].astype(np.float64)


def _normalize(journeys: Journeys, weight: FloatArray) -> FloatArray:
    """``weight`` over its journey's total; journeys whose weights are all 0 become linear."""
    if weight.size == 0:
        return weight
    total = np.add.reduceat(weight, journeys.starts)
    zero = total <= 0
    safe = np.where(zero, 1.0, total)
    fraction = weight / safe[journeys.seg]
    if zero.any():
        flat = zero[journeys.seg]
        fraction[flat] = linear(journeys)[flat]
    return fraction


def time_decay(prepared: PreparedJourneys, journeys: Journeys, half_life_days: float) -> FloatArray:
    """Weight 2^(-days to the window end / half-life), normalized.

    Normalizing cancels the window end, so the days are counted to the journey's last touch:
    the same fractions, and no underflow however long the window is (R14).
    """
    if journeys.n_elements == 0:
        return np.zeros(0, dtype=np.float64)
    time = prepared.time_us[journeys.element]
    last = time[journeys.starts + journeys.lengths - 1]
    days = (last[journeys.seg] - time).astype(np.float64) / _MICROSECONDS_PER_DAY
    return _normalize(journeys, np.exp2(-days / half_life_days))


def position_based(journeys: Journeys, first: float, middle: float, last: float) -> FloatArray:
    """``first`` and ``last`` to the ends, ``middle`` shared by the rest.

    One touch gets 1; two touches split in proportion first:last (R11), half each when both
    are 0.
    """
    n = journeys.lengths[journeys.seg]
    pos = journeys.pos
    fraction = np.zeros(journeys.n_elements, dtype=np.float64)
    one = n == 1
    fraction[one] = 1.0
    two = n == 2
    ends = first + last
    if ends > 0:
        fraction[two & (pos == 0)] = first / ends
        fraction[two & (pos == 1)] = last / ends
    else:
        fraction[two] = 0.5
    many = n >= 3
    fraction[many & (pos == 0)] = first
    fraction[many & (pos == n - 1)] = last
    middle_touch = many & (pos > 0) & (pos < n - 1)
    fraction[middle_touch] = middle / (n[middle_touch] - 2).astype(np.float64)
    return fraction


def _count_at_or_before(
    journeys: Journeys, time: IntArray, bound: IntArray, has_bound: BoolArray
) -> IntArray:
    """Per journey, how many of its touches occur at or before its ``bound``."""
    hits = ((time <= bound[journeys.seg]) & has_bound[journeys.seg]).astype(np.int64)
    return np.add.reduceat(hits, journeys.starts)


def milestones(
    prepared: PreparedJourneys,
    journeys: Journeys,
    stage: str,
    shares: Mapping[str, float],
    other: float,
) -> FloatArray:
    """W-shaped and full-path credit (DESIGN.md section 3, Fine print, R12 and R13).

    ``shares`` maps each milestone of the model (first_touch, lead_creation,
    opportunity_creation and, for full path, close) to its nominal share. A reached
    milestone's holder is a touch; unreached shares go to the reached milestones in
    proportion to their shares, and so does ``other`` when no touch is left over for it.
    """
    count = journeys.n_elements
    if count == 0:
        return np.zeros(0, dtype=np.float64)
    time = prepared.time_us[journeys.element]
    opp = journeys.opp
    starts = journeys.starts
    lengths = journeys.lengths
    n_journeys = journeys.n_journeys
    reached: dict[str, BoolArray] = {}
    holder: dict[str, IntArray] = {}
    everyone = np.ones(n_journeys, dtype=np.bool_)
    for name in shares:
        if name == "first_touch":
            reached[name] = everyone
            holder[name] = starts
        elif name == "lead_creation":
            hits = _count_at_or_before(
                journeys, time, prepared.lead_created_us[opp], prepared.has_lead_created[opp]
            )
            reached[name] = hits > 0
            holder[name] = starts + hits - 1
        elif name == "opportunity_creation":
            if stage == "pipeline":
                reached[name] = everyone
                holder[name] = starts + lengths - 1
            else:
                hits = _count_at_or_before(journeys, time, prepared.created_us[opp], everyone)
                reached[name] = hits > 0
                holder[name] = starts + hits - 1
        elif name == "close":
            reached[name] = everyone if stage == "revenue" else ~everyone
            holder[name] = starts + lengths - 1
        else:  # pragma: no cover - guarded by parameter validation
            raise ValueError(f"unknown milestone {name}")

    is_holder = np.zeros(count, dtype=np.bool_)
    reached_share = np.zeros(n_journeys, dtype=np.float64)
    reached_count = np.zeros(n_journeys, dtype=np.int64)
    for name, share in shares.items():
        is_holder[holder[name][reached[name]]] = True
        reached_share += share * reached[name]
        reached_count += reached[name]
    others = lengths - np.add.reduceat(is_holder.astype(np.int64), starts)
    milestone_total = float(sum(shares.values()))
    mass = np.where(others > 0, milestone_total, milestone_total + other)

    fraction = np.zeros(count, dtype=np.float64)
    proportional = reached_share > 0
    for name, share in shares.items():
        part = np.where(
            proportional,
            share * mass / np.where(proportional, reached_share, 1.0),
            mass / np.maximum(reached_count, 1),
        )
        hit = reached[name]
        fraction[holder[name][hit]] += part[hit]
    rest = ~is_holder
    fraction[rest] = other / others[journeys.seg[rest]].astype(np.float64)
    return fraction


def custom(
    prepared: PreparedJourneys,
    journeys: Journeys,
    weights: Mapping[str, float] | None,
    position_multipliers: Mapping[str, float] | None,
) -> FloatArray:
    """Activity-type weights (from the touches, or ``weights`` by activity type), normalized.

    Optional position multipliers scale the first, middle and last touches (a journey of
    one touch is its own first touch). A journey whose weights are all 0 falls back to linear.
    """
    if weights is None:
        weight = prepared.weight[journeys.element]
    else:
        activity = prepared.channels["activity_type"]
        table = np.array(
            [weights.get(label, 0.0) for label in activity.labels], dtype=np.float64
        )
        weight = table[activity.codes[journeys.element]]
    if position_multipliers is not None:
        n = journeys.lengths[journeys.seg]
        pos = journeys.pos
        multiplier = np.where(
            pos == 0,
            position_multipliers["first"],
            np.where(pos == n - 1, position_multipliers["last"], position_multipliers["middle"]),
        )
        weight = weight * multiplier
    return _normalize(journeys, weight)
