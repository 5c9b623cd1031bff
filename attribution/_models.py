"""Rule-based models: per-touch fractions of one stage's journeys (DESIGN.md section 3).

Every function is vectorized over all journeys of a stage at once: elements are sorted by
journey then touch order, journey-wise sums are ``np.add.reduceat`` over ``starts``, and
per-journey values reach the touches through ``seg`` (or through ``starts`` and ``ends``
for the first and last touches).
"""

from __future__ import annotations

from collections.abc import Mapping

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
    hits = journeys.time <= bound[journeys.seg]
    counts = np.add.reduceat(hits.astype(np.int64), journeys.starts)
    return np.where(has_bound, counts, 0)


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
    opp = journeys.opp
    starts = journeys.starts
    ends = journeys.ends
    lengths = journeys.lengths
    everyone = np.ones(journeys.n_journeys, dtype=np.bool_)
    reached: dict[str, BoolArray] = {}
    holder: dict[str, IntArray] = {}
    for name in shares:
        if name == "first_touch":
            reached[name], holder[name] = everyone, starts
        elif name == "lead_creation":
            hits = _count_at_or_before(
                journeys, prepared.lead_created_us[opp], prepared.has_lead_created[opp]
            )
            reached[name], holder[name] = hits > 0, starts + hits - 1
        elif name == "opportunity_creation" and stage == "pipeline":
            reached[name], holder[name] = everyone, ends
        elif name == "opportunity_creation":
            hits = _count_at_or_before(journeys, prepared.created_us[opp], everyone)
            reached[name], holder[name] = hits > 0, starts + hits - 1
        elif name == "close":
            reached[name], holder[name] = (everyone if stage == "revenue" else ~everyone), ends
        else:  # pragma: no cover - guarded by parameter validation
            raise ValueError(f"unknown milestone {name}")

    # Distinct holders per journey (a touch may hold several milestones): count each holder
    # once, at its first milestone. Unreached milestones point at a scratch slot past the end.
    count = journeys.n_elements
    names = list(shares)
    target = {name: np.where(reached[name], holder[name], count) for name in names}
    distinct = np.zeros(journeys.n_journeys, dtype=np.int64)
    reached_share = np.zeros(journeys.n_journeys, dtype=np.float64)
    reached_count = np.zeros(journeys.n_journeys, dtype=np.int64)
    for i, name in enumerate(names):
        new = reached[name].copy()
        for earlier in names[:i]:
            new &= target[earlier] != target[name]
        distinct += new
        reached_share += shares[name] * reached[name]
        reached_count += reached[name]
    others = lengths - distinct
    milestone_total = float(sum(shares.values()))
    mass = np.where(others > 0, milestone_total, milestone_total + other)
    proportional = reached_share > 0
    scale = mass / np.where(proportional, reached_share, 1.0)
    equal = mass / np.maximum(reached_count, 1)
    # A touch holding several milestones gets their parts added: fold each part into the
    # first milestone on the same touch, so that every touch is written once.
    parts: dict[str, FloatArray] = {}
    for i, name in enumerate(names):
        part = np.where(reached[name], np.where(proportional, shares[name] * scale, equal), 0.0)
        for earlier in names[:i]:
            same = target[earlier] == target[name]
            if same.any():
                parts[earlier] += np.where(same, part, 0.0)
                part = np.where(same, 0.0, part)
                target[name] = np.where(same, count, target[name])
        parts[name] = part

    fraction = np.empty(count + 1, dtype=np.float64)
    np.take(
        np.where(others > 0, other / np.maximum(others, 1), 0.0),
        journeys.seg,
        out=fraction[:count],
    )
    for name in names:
        fraction[target[name]] = parts[name]
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
