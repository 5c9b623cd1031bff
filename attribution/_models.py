"""Rule-based models: per-touch fractions of one stage's journeys (DESIGN.md section 3).

Every function is vectorized over all journeys of a stage at once: elements are sorted by
journey then touch order, journey-wise sums are ``np.add.reduceat`` over ``starts``, and
per-journey values reach the touches through ``seg`` (or through ``starts`` and ``ends``
for the first and last touches).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import numpy as np

from ._journeys import Journeys, PreparedJourneys
from ._types import BoolArray, FloatArray, IntArray

_MICROSECONDS_PER_DAY = 86_400_000_000.0


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


def _normalize(journeys: Journeys, weight: FloatArray) -> FloatArray:
    """``weight`` over its journey's total; journeys whose weights are all 0 become linear."""
    if weight.size == 0:
        return weight
    total = np.add.reduceat(weight, journeys.starts)
    zero = total <= 0
    if zero.any():
        weight = np.where(zero[journeys.seg], 1.0, weight)
        total = np.where(zero, journeys.lengths.astype(np.float64), total)
    weight *= (1.0 / total)[journeys.seg]
    return weight


def time_decay(journeys: Journeys, half_life_days: float) -> FloatArray:
    """Weight 2^(-days to the window end / half-life), normalized.

    Normalizing cancels the window end, so the days are counted to the journey's last touch:
    the same fractions, and no underflow however long the window is (R14).
    """
    if journeys.n_elements == 0:
        return np.zeros(0, dtype=np.float64)
    time = journeys.time
    behind = (time[journeys.ends][journeys.seg] - time).astype(np.float64)
    behind *= -1.0 / (_MICROSECONDS_PER_DAY * half_life_days)
    return _normalize(journeys, np.exp2(behind))


def position_based(journeys: Journeys, first: float, middle: float, last: float) -> FloatArray:
    """``first`` and ``last`` to the ends, ``middle`` shared by the rest.

    One touch gets 1; two touches split in proportion first:last (R11), half each when both
    are 0.
    """
    lengths = journeys.lengths
    ends = first + last
    pair_first, pair_last = (first / ends, last / ends) if ends > 0 else (0.5, 0.5)
    middle_share = np.where(lengths >= 3, middle / np.maximum(lengths - 2, 1), 0.0)
    fraction = middle_share[journeys.seg]
    fraction[journeys.ends] = np.where(lengths == 2, pair_last, last)
    fraction[journeys.starts] = np.where(lengths == 2, pair_first, first)
    single = journeys.starts[lengths == 1]
    fraction[single] = 1.0
    return fraction


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
) -> FloatArray:
    """W-shaped and full-path credit (DESIGN.md section 3, Fine print, R12 and R13).

    ``shares`` maps each milestone of the model (first_touch, lead_creation,
    opportunity_creation and, for full path, close) to its nominal share. A reached
    milestone's holder is a touch; unreached shares go to the reached milestones in
    proportion to their shares, and so does ``other`` when no touch is left over for it.
    """
    if journeys.n_elements == 0:
        return np.zeros(0, dtype=np.float64)
    known = _milestone_positions(prepared, journeys, stage)
    names = list(shares)
    for name in names:
        if name not in known:  # pragma: no cover - guarded by parameter validation
            raise ValueError(f"unknown milestone {name}")
    position = [known[name] for name in names]
    reached = [p >= 0 for p in position]

    # Distinct holders per journey (a touch may hold several milestones): count each holder
    # once, at its first milestone (unreached positions are -1, never a reached one's).
    distinct = reached[0].astype(np.int64)
    reached_share = np.zeros(journeys.n_journeys, dtype=np.float64)
    reached_share += shares[names[0]] * reached[0]
    reached_count = reached[0].astype(np.int64)
    for i in range(1, len(names)):
        new = reached[i].copy()
        for earlier in range(i):
            new &= position[earlier] != position[i]
        distinct += new
        reached_share += shares[names[i]] * reached[i]
        reached_count += reached[i]
    others = journeys.lengths - distinct
    milestone_total = float(sum(shares.values()))
    mass = np.where(others > 0, milestone_total, milestone_total + other)
    proportional = reached_share > 0
    scale = mass / np.where(proportional, reached_share, 1.0)
    equal = mass / np.maximum(reached_count, 1)

    count = journeys.n_elements
    fraction = np.empty(count + 1, dtype=np.float64)
    np.take(
        np.where(others > 0, other / np.maximum(others, 1), 0.0),
        journeys.seg,
        out=fraction[:count],
    )
    # Every holder is written once, with its parts added in milestone order (a milestone
    # on the touch of an earlier one adds to it); the later ones write to a scratch slot.
    parts = [
        np.where(reached[i], np.where(proportional, shares[name] * scale, equal), 0.0)
        for i, name in enumerate(names)
    ]
    for i in range(len(names)):
        first = reached[i].copy()
        for earlier in range(i):
            first &= position[earlier] != position[i]
        for later in range(i + 1, len(names)):
            same = (position[later] == position[i]) & first
            if same.any():
                parts[i] += np.where(same, parts[later], 0.0)
        fraction[np.where(first, journeys.starts + position[i], count)] = parts[i]
    return fraction[:count]


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
        table = np.array([weights.get(label, 0.0) for label in activity.labels], dtype=np.float64)
        weight = table[activity.codes[journeys.element]]
    if position_multipliers is not None:
        multiplier = np.full(journeys.n_elements, position_multipliers["middle"])
        multiplier[journeys.ends] = position_multipliers["last"]
        multiplier[journeys.starts] = position_multipliers["first"]
        weight = weight * multiplier
    return _normalize(journeys, weight)
