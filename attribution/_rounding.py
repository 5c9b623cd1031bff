"""Largest-remainder rounding of fractions to integer minor units, vectorized by journey."""

from __future__ import annotations

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


def exact_split(fraction: FloatArray, journeys: Journeys, amount: IntArray) -> IntArray:
    """Amounts for fractions that are all 0 or 1 (first and last touch): no rounding."""
    return np.where(fraction > 0, amount[journeys.seg], 0).astype(np.int64)


def equal_split(journeys: Journeys, amount: IntArray) -> IntArray:
    """Linear in exact integers: amount // n each, the remainder to the first touches."""
    n = journeys.lengths
    base = np.floor_divide(amount, n)
    extra = amount - base * n
    return (base[journeys.seg] + (journeys.pos < extra[journeys.seg])).astype(np.int64)


def largest_remainder(fraction: FloatArray, journeys: Journeys, amount: IntArray) -> IntArray:
    """Split each journey's ``amount`` in proportion to ``fraction`` (summing to 1 per journey).

    Each touch gets the floor of ``amount * fraction``; the units left over go one each to
    the largest remainders, ties by touch order. Remainders closer than a 10^-12 part of the
    amount (and at least 10^-9 of a unit) count as equal.
    """
    n = fraction.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    seg = journeys.seg
    quota = amount.astype(np.float64)[seg]
    quota *= fraction
    floor = np.floor(quota)
    cents = floor.astype(np.int64)
    remainder = np.subtract(quota, floor, out=quota)
    leftover = amount - np.add.reduceat(cents, journeys.starts)
    np.clip(leftover, 0, journeys.lengths, out=leftover)
    if not leftover.any():
        return cents
    pos_bits = max(1, int(journeys.lengths.max() - 1).bit_length())
    seg_bits = _KEY_BITS - _REMAINDER_BITS - pos_bits
    if seg_bits < 1:
        raise ValueError(f"a journey of {int(journeys.lengths.max())} touches is too long")
    top = (1 << _REMAINDER_BITS) - 1
    remainder *= -float(1 << _REMAINDER_BITS)
    remainder += float(top)
    np.maximum(remainder, 0.0, out=remainder)
    quantum = remainder.astype(np.int64)
    quantum <<= pos_bits
    quantum |= journeys.pos
    scale = float(1 << _REMAINDER_BITS)
    tolerance = np.maximum(amount.astype(np.float64) * _RELATIVE_TIE, _ABSOLUTE_TIE)
    reach = np.ceil(tolerance * scale).astype(np.int64) + 1
    pos_mask = (1 << pos_bits) - 1
    chunk = 1 << seg_bits
    starts = journeys.starts
    for first_journey in range(0, journeys.n_journeys, chunk):
        last_journey = min(first_journey + chunk, journeys.n_journeys)
        begin = int(starts[first_journey])
        end = int(starts[last_journey]) if last_journey < journeys.n_journeys else n
        local = seg[begin:end] - first_journey
        key = local << (_REMAINDER_BITS + pos_bits)
        key |= quantum[begin:end]
        key.sort()
        s_local = key >> (_REMAINDER_BITS + pos_bits)
        s_local, key = _merge_near_ties(
            key, s_local, reach[first_journey:last_journey], pos_bits, top
        )
        # Sorting keeps each journey's block in place, so a touch's rank in its journey is
        # the position stored in the slot it now occupies.
        rank = journeys.pos[begin:end]
        win = np.flatnonzero(rank < leftover[first_journey:last_journey][local])
        s_pos = key[win] & pos_mask
        cents[starts[first_journey + s_local[win]] + s_pos] += 1
    return cents


def _merge_near_ties(
    key: IntArray, s_local: IntArray, reach: IntArray, pos_bits: int, top: int
) -> tuple[IntArray, IntArray]:
    """Reorder by position the runs of sorted keys whose remainders are within ``reach``.

    ``key`` is sorted (journey, quantized remainder, position); neighbours of one journey
    whose quantized remainders differ by at most the journey's ``reach`` form one tie class,
    ordered by position. Only journeys with such a run are touched. Returns the journeys and
    keys by slot (only the keys' position bits are meaningful afterwards).
    """
    quantum = (key >> pos_bits) & top
    gap = quantum[1:] - quantum[:-1]
    near = (gap <= reach[s_local[1:]]) & (s_local[1:] == s_local[:-1])
    trigger = near & (gap > 0)
    if not trigger.any():
        return s_local, key
    affected = np.zeros(reach.size, dtype=np.bool_)
    affected[s_local[1:][trigger]] = True
    slots = np.flatnonzero(affected[s_local])
    joined = np.zeros(slots.size, dtype=np.bool_)
    joined[1:] = near[slots[1:] - 1]
    tie_class = np.cumsum(~joined) - 1
    pos_mask = (1 << pos_bits) - 1
    second = (tie_class << pos_bits) | (key[slots] & pos_mask)
    second.sort()
    first_of_class = np.flatnonzero(~joined)
    s_local = s_local.copy()
    s_local[slots] = s_local[slots][first_of_class][second >> pos_bits]
    key[slots] = second
    return s_local, key
