"""Largest-remainder rounding of fractions to integer minor units, vectorized by segment."""

from __future__ import annotations

import numpy as np

from ._types import FloatArray, IntArray

# Remainders closer than this (in minor units, relative to the amount) are ties, resolved by
# position: float noise must not overturn the rule "ties by touch order".
_RELATIVE_TIE = 1e-12
_ABSOLUTE_TIE = 1e-9


def largest_remainder(
    fraction: FloatArray,
    seg: IntArray,
    starts: IntArray,
    pos: IntArray,
    amount: IntArray,
) -> IntArray:
    """Split each segment's ``amount`` over its elements in proportion to ``fraction``.

    Elements are sorted by segment and, within one, by position (``pos``). Each element
    gets the floor of ``amount * fraction``; the units left over go one each to the largest
    remainders, ties by position. Fractions of a segment are expected to sum to 1.
    """
    n = fraction.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    seg_amount = amount[seg].astype(np.float64)
    quota = seg_amount * fraction
    floor = np.floor(quota)
    remainder = quota - floor
    cents = floor.astype(np.int64)
    leftover = amount - np.add.reduceat(cents, starts)
    np.clip(leftover, 0, None, out=leftover)
    needy = leftover > 0
    if not needy.any():
        return cents
    # Segments whose remainders are all equal rank by position alone: no sort needed.
    uniform = np.maximum.reduceat(remainder, starts) == np.minimum.reduceat(remainder, starts)
    simple = (needy & uniform)[seg]
    cents[simple] += pos[simple] < leftover[seg[simple]]
    hard_segments = needy & ~uniform
    if not hard_segments.any():
        return cents
    index = np.flatnonzero(hard_segments[seg])
    h_seg = seg[index]
    h_rem = remainder[index]
    # Rank by remainder (descending) inside each segment with one integer sort: segment
    # number in the high bits, the remainder quantized in the low bits.
    local = np.cumsum(np.r_[True, h_seg[1:] != h_seg[:-1]]) - 1
    seg_bits = max(1, int(local[-1]).bit_length())
    rem_bits = 62 - seg_bits
    scale = float(1 << rem_bits)
    quantized = np.minimum(((1.0 - h_rem) * scale).astype(np.int64), (1 << rem_bits) - 1)
    order = np.argsort((local.astype(np.int64) << rem_bits) | quantized, kind="stable")
    s_rem = h_rem[order]
    s_local = local[order]
    tolerance = np.maximum(_ABSOLUTE_TIE, seg_amount[index][order] * _RELATIVE_TIE)
    tolerance = np.maximum(tolerance, 2.0 / scale)
    new_class = np.ones(index.size, dtype=np.bool_)
    new_class[1:] = (s_local[1:] != s_local[:-1]) | (s_rem[:-1] - s_rem[1:] > tolerance[1:])
    if not np.all(new_class | (s_rem == np.roll(s_rem, 1))):
        # Near-equal remainders form one tie class, ordered by position inside it.
        tie_class = np.cumsum(new_class) - 1
        order = order[np.argsort(tie_class * index.size + order, kind="stable")]
        s_local = local[order]
    first = np.flatnonzero(np.r_[True, s_local[1:] != s_local[:-1]])
    rank = np.arange(index.size) - first[np.cumsum(np.r_[True, s_local[1:] != s_local[:-1]]) - 1]
    winners = index[order][rank < leftover[h_seg[order]]]
    cents[winners] += 1
    return cents
