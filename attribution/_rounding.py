"""Largest-remainder rounding of fractions to integer minor units, vectorized by journey.

Every touch gets the floor of ``amount * fraction``; the units left over go one each to the
largest remainders, ties by touch order. The remainders are quantized into a packed integer
sort key (journey | remainder descending | position), one sort orders every journey at once,
and the first ``leftover`` slots of each journey win. Remainders that are equal up to float
noise are ties: only where such a near tie exists in a journey is that journey's order
settled again (rare), so the common path is a handful of passes over the touches.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from ._journeys import Journeys
from ._types import FloatArray, IntArray

# Remainders this close (in minor units, relative to the amount, at least the absolute
# floor) are ties: float noise must not overturn "ties by touch order" for remainders that
# are equal in exact arithmetic.
_RELATIVE_TIE = 1e-12
_ABSOLUTE_TIE = 1e-9
# Bits of the packed sort key: journey | remainder quantized descending | position.
_KEY_BITS = 63
_REMAINDER_BITS = 34
_TOP = (1 << _REMAINDER_BITS) - 1
_SCALE = float(1 << _REMAINDER_BITS)


def to_one_touch(journeys: Journeys, amount: IntArray, holder: IntArray) -> IntArray:
    """Each journey's whole amount on one element (``holder``: its index), 0 elsewhere."""
    cents = np.zeros(journeys.n_elements, dtype=np.int64)
    cents[holder] = amount
    return cents


def equal_split(journeys: Journeys, amount: IntArray) -> IntArray:
    """Linear in exact integers: amount // n each, the remainder to the first touches."""
    n = journeys.lengths
    base = np.floor_divide(amount, n)
    extra = amount - base * n
    cents = np.take(base, journeys.seg)
    cents += journeys.pos < np.take(extra, journeys.seg)
    return cents


def _tolerance_quanta(amount: IntArray) -> IntArray:
    """Per journey, how many quanta apart two remainders may be and still tie."""
    tolerance = np.maximum(amount.astype(np.float64) * _RELATIVE_TIE, _ABSOLUTE_TIE)
    return np.ceil(tolerance * _SCALE).astype(np.int64) + 1


def sort_layout(journeys: Journeys) -> tuple[int, int]:
    """The packed key's layout for these journeys: position bits and journeys per sort.

    The key of an element is (its journey counted within its run of ``chunk`` journeys,
    its quantum, its position); it is packed anew on each call, in the buffers the rounding
    needs anyway, rather than kept per journeys (8 bytes per element for a whole run).
    """
    cached = journeys.memo.get("sort_layout")
    if cached is not None:
        return cast("tuple[int, int]", cached)
    longest = int(journeys.lengths.max()) if journeys.n_journeys else 1
    pos_bits = max(1, (longest - 1).bit_length())
    seg_bits = _KEY_BITS - _REMAINDER_BITS - pos_bits
    if seg_bits < 1:
        raise ValueError(f"a journey of {longest} touches is too long")
    layout = (pos_bits, 1 << seg_bits)
    journeys.memo["sort_layout"] = layout
    return layout


def largest_remainder(fraction: FloatArray, journeys: Journeys, amount: IntArray) -> IntArray:
    """Split each journey's ``amount`` in proportion to ``fraction`` (summing to 1 per journey).

    Each touch gets the floor of ``amount * fraction``; the units left over go one each to
    the largest remainders, ties by touch order. Remainders closer than a 10^-12 part of the
    amount (and at least 10^-9 of a unit) count as equal: in a journey's order by remainder,
    neighbours that close form one tie class, ordered by touch order.
    """
    n = fraction.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    seg = journeys.seg
    starts = journeys.starts
    work = np.take(amount.astype(np.float64), seg)
    work *= fraction  # the quota, at least 0: truncation is its floor
    cents = work.astype(np.int64)
    np.subtract(work, cents, out=work, casting="unsafe")  # the remainder, in [0, 1)
    leftover = amount - np.add.reduceat(cents, starts)
    np.clip(leftover, 0, journeys.lengths, out=leftover)
    if not leftover.any():
        return cents

    pos_bits, chunk = sort_layout(journeys)
    # Quantum: the remainder scaled to 34 bits, descending (0 for the largest). A remainder
    # is below 1, so the value is above -1 and truncation gives a quantum in [0, _TOP].
    work *= -_SCALE
    work += float(_TOP)
    key = work.astype(np.int64)
    scratch = work.view(np.int64)  # the remainders are in the key now
    np.bitwise_and(seg, np.int64(chunk - 1), out=scratch)
    scratch <<= _REMAINDER_BITS
    key |= scratch
    key <<= pos_bits
    key |= journeys.pos
    for begin in range(0, journeys.n_journeys, chunk):
        first = int(starts[begin])
        last = int(starts[begin + chunk]) if begin + chunk < journeys.n_journeys else n
        key[first:last].sort()
    # Sorting keeps each journey's block in place: slot s still belongs to journey seg[s],
    # and its rank there is pos[s]; the element it now holds is in the key's position bits.
    _settle_near_ties(key, journeys, _tolerance_quanta(amount), leftover, pos_bits, scratch)
    pos_mask = (1 << pos_bits) - 1
    win = np.flatnonzero(journeys.pos < np.take(leftover, seg))
    element = key[win]
    element &= pos_mask
    element += win
    element -= journeys.pos[win]
    cents[element] += 1
    return cents


def _settle_near_ties(
    key: IntArray,
    journeys: Journeys,
    reach: IntArray,
    leftover: IntArray,
    pos_bits: int,
    scratch: IntArray,
) -> None:
    """Reorder by position, in place, the tie classes of journeys that have a near tie.

    Neighbours of one journey whose quantized remainders differ by at most the journey's
    ``reach`` form one tie class, ordered by position. Exact ties are already in position
    order, so only journeys with a near tie between different quanta (rare: float noise or
    remainders a hair apart) are touched, and of those only the ones whose ``leftover``
    winners end inside a tie class: elsewhere reordering within classes leaves the set of
    winners, all that is read, unchanged. ``scratch`` is a buffer the size of ``key``.
    """
    # Key >> pos_bits is (journey in chunk, quantum): a difference in [1, max reach] between
    # neighbours is a candidate (a change of journey rarely falls in that range; the
    # candidates are then checked exactly).
    np.right_shift(key, pos_bits, out=scratch)
    step = np.subtract(scratch[1:], scratch[:-1])
    step -= 1
    candidate = np.flatnonzero(step.view(np.uint64) < np.uint64(int(reach.max())))
    del step
    if candidate.size == 0:
        return
    seg = journeys.seg
    top = (1 << _REMAINDER_BITS) - 1
    quantum_low = (key[candidate] >> pos_bits) & top
    quantum_high = (key[candidate + 1] >> pos_bits) & top
    journey = seg[candidate]
    real = (
        (seg[candidate + 1] == journey)
        & (quantum_high > quantum_low)
        & (quantum_high - quantum_low <= reach[journey])
    )
    if not real.any():
        return
    journey = journey[real]  # ascending
    affected = journey[np.r_[True, journey[1:] != journey[:-1]]]
    # Winners are the first ``leftover`` slots: only a tie class that holds both the last
    # winner and the first loser (a joined boundary pair) can change who wins.
    count = leftover[affected]
    straddle = (count > 0) & (count < journeys.lengths[affected])
    boundary = np.where(straddle, journeys.starts[affected] + count - 1, 0)
    boundary_gap = ((key[boundary + 1] >> pos_bits) & top) - ((key[boundary] >> pos_bits) & top)
    straddle &= boundary_gap <= reach[affected]
    affected = affected[straddle]
    if affected.size == 0:
        return
    lengths = journeys.lengths[affected]
    first = journeys.starts[affected]
    offsets = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(lengths) - lengths, lengths
    )
    slots = np.repeat(first, lengths) + offsets
    local = np.repeat(np.arange(affected.size, dtype=np.int64), lengths)
    sub = key[slots]
    quantum = (sub >> pos_bits) & top
    joined = np.zeros(slots.size, dtype=np.bool_)
    joined[1:] = (local[1:] == local[:-1]) & (
        quantum[1:] - quantum[:-1] <= reach[affected][local[1:]]
    )
    tie_class = np.cumsum(~joined) - 1
    pos_mask = (1 << pos_bits) - 1
    second = (tie_class << pos_bits) | (sub & pos_mask)
    second.sort()
    # Only the position bits are read afterwards.
    key[slots] = second & pos_mask
