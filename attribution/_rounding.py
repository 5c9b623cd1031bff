"""Largest-remainder rounding to integer minor units, exact, vectorized by journey.

A model gives every touch its share as an exact ratio of integers, ``num / den`` (int64,
``0 <= num <= den < 2**61``). Every touch gets the floor of ``amount * num / den``; the
units left over go one each to the largest remainders, ties by touch order. Quotients and
remainders are exact: a float estimate of the quotient is corrected with wrapping int64
arithmetic (the true residue is within a few ``den`` of the estimate's, so its value
modulo 2**64 is the value itself), which holds for amounts up to ``MAX_AMOUNT`` (10^15).

Remainders are quantized into a packed integer sort key (journey | remainder descending |
position), one sort orders every journey at once, and the first ``leftover`` slots of each
journey win. Two remainders that fall in one quantum are compared exactly where they
differ (rare: only when a denominator exceeds 2**34). A model whose shares are not
rational (time decay) gives, per journey, the float error its shares can carry: remainders
that close are ties, by touch order.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import cast

import numpy as np

from ._journeys import Journeys
from ._types import FloatArray, IntArray

MAX_DENOMINATOR = 1 << 61
"""Shares' denominators stay below this, so that residues fit in int64."""

# Bits of the packed sort key: journey | remainder quantized descending | position.
_KEY_BITS = 63
_REMAINDER_BITS = 34
_TOP = (1 << _REMAINDER_BITS) - 1


@dataclass(frozen=True, slots=True, eq=False)
class Shares:
    """Each element's share of its journey, ``num / den`` (both int64, per element).

    ``reach``: per journey, how many remainder quanta apart two remainders may be and still
    tie (models whose shares carry float error); ``None`` for exact shares.
    """

    num: IntArray
    den: IntArray
    reach: IntArray | None = None

    def fraction(self) -> FloatArray:
        return self.num / self.den


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


def mul_div(a: IntArray, num: IntArray, den: IntArray) -> tuple[IntArray, IntArray]:
    """Exact ``floor(a * num / den)`` and ``a * num mod den``, elementwise.

    Requires ``0 <= a <= 2**50``, ``0 <= num <= den < 2**61``. The float estimate is within
    one of the quotient, so the residue ``a*num - estimate*den``, computed modulo 2**64, is
    below 2 * den < 2**63 in size and therefore exact; one step each way settles it.
    """
    estimate = np.divide(num, den)
    estimate *= a
    np.floor(estimate, out=estimate)
    quotient = estimate.astype(np.int64)
    del estimate
    with np.errstate(over="ignore"):
        residue = np.multiply(a, num)
        residue -= quotient * den
    low = residue < 0
    if low.any():
        quotient -= low
        residue += np.where(low, den, 0)
    high = residue >= den
    if high.any():
        quotient += high
        residue -= np.where(high, den, 0)
    return quotient, residue


def _quanta(residue: IntArray, den: IntArray) -> IntArray:
    """``floor(residue / den * 2**34)``, in float: monotone in the exact remainder, so only
    remainders within one quantum of each other can come out of order."""
    quantum = np.divide(residue, den)
    quantum *= float(1 << _REMAINDER_BITS)
    np.floor(quantum, out=quantum)
    return quantum.astype(np.int64)


def sort_layout(journeys: Journeys) -> tuple[int, int]:
    """The packed key's layout for these journeys: position bits and journeys per sort.

    The key of an element is (its journey counted within its run of ``chunk`` journeys,
    its quantum, its position); it is packed anew on each call rather than kept per
    journeys (8 bytes per element for a whole run).
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


def tolerance_quanta(tolerance: FloatArray) -> IntArray:
    """Remainder quanta two remainders may be apart and tie, given each journey's error
    bound in minor units (either remainder may be off by it; one more for quantization)."""
    return np.ceil(2.0 * tolerance * float(1 << _REMAINDER_BITS)).astype(np.int64) + 1


def largest_remainder(journeys: Journeys, amount: IntArray, shares: Shares) -> IntArray:
    """Split each journey's ``amount`` (0..MAX_AMOUNT) in proportion to ``shares``.

    The shares of a journey sum to exactly 1. Each touch gets the floor of its exact quota;
    the units left over go one each to the largest remainders, ties by touch order (for
    shares with a ``reach``, remainders that close are ties).
    """
    n = journeys.n_elements
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    seg = journeys.seg
    starts = journeys.starts
    cents, residue = mul_div(np.take(amount, seg), shares.num, shares.den)
    leftover = amount - np.add.reduceat(cents, starts)
    if not leftover.any():
        return cents
    if bool(np.any((leftover < 0) | (leftover >= np.maximum(journeys.lengths, 1) + 1))):
        raise AssertionError("shares of a journey must sum to exactly 1")

    pos_bits, chunk = sort_layout(journeys)
    quantum = _quanta(residue, shares.den)
    key = np.subtract(_TOP, quantum)  # descending: 0 for the largest remainder
    del quantum
    scratch = np.bitwise_and(seg, np.int64(chunk - 1), dtype=np.int64)
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
    if shares.reach is not None:
        _settle_near_ties(key, journeys, shares.reach, leftover, pos_bits, scratch)
    elif int(shares.den.max()) > 1 << _REMAINDER_BITS:
        _settle_one_quantum(key, journeys, residue, shares.den, leftover, pos_bits)
    # The winners of a journey are its first ``leftover`` slots.
    start_of_win = np.repeat(starts, leftover)
    win = np.arange(start_of_win.size, dtype=np.int64)
    win -= np.repeat(np.cumsum(leftover) - leftover, leftover)
    win += start_of_win
    element = key[win]
    del win
    element &= (1 << pos_bits) - 1
    element += start_of_win
    cents[element] += 1
    return cents


def _settle_one_quantum(
    key: IntArray,
    journeys: Journeys,
    residue: IntArray,
    den: IntArray,
    leftover: IntArray,
    pos_bits: int,
) -> None:
    """Order by exact remainder, in place, the journeys whose last winner and first loser
    share a quantum but not their remainder.

    Remainders with denominators above 2**34 can differ inside one quantum (or, through
    float rounding, come out of order between neighbouring quanta), and only at the cut
    between winners and losers does their order matter. Those journeys (rare) are sorted
    again by exact fraction, one at a time.
    """
    count = leftover
    cut = np.flatnonzero((count > 0) & (count < journeys.lengths))
    if cut.size == 0:
        return
    last = journeys.starts[cut] + count[cut] - 1
    same = (key[last + 1] >> pos_bits) - (key[last] >> pos_bits) <= 1
    cut, last = cut[same], last[same]
    if cut.size == 0:
        return
    pos_mask = (1 << pos_bits) - 1
    a = journeys.starts[cut] + (key[last] & pos_mask)
    b = journeys.starts[cut] + (key[last + 1] & pos_mask)
    zero = (residue[a] == 0) & (residue[b] == 0)
    differ = ((residue[a] != residue[b]) | (den[a] != den[b])) & ~zero
    for journey in cut[differ].tolist():
        begin = int(journeys.starts[journey])
        end = begin + int(journeys.lengths[journey])
        slots = key[begin:end]
        order = sorted(
            (int(k) & pos_mask for k in slots.tolist()),
            key=lambda p: (-Fraction(int(residue[begin + p]), int(den[begin + p])), p),
        )
        key[begin:end] = np.array(order, dtype=np.int64)  # only position bits are read


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
    order, so only journeys with a near tie between different quanta are touched, and of
    those only the ones whose ``leftover`` winners end inside a tie class: elsewhere
    reordering within classes leaves the set of winners, all that is read, unchanged.
    ``scratch`` is a buffer the size of ``key``.
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
    top = _TOP
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
