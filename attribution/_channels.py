"""Channel bookkeeping shared by the data-driven models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._journeys import Journeys
from ._models import linear
from ._rounding import largest_remainder
from ._types import FloatArray, IntArray

_DENSE_LIMIT = 50_000_000


@dataclass(frozen=True, slots=True, eq=False)
class ChannelPairs:
    """The distinct (journey, channel) pairs of some journeys.

    ``journey`` and ``channel`` list the pairs sorted by journey then channel;
    ``multiplicity`` gives, for every element, how many elements of its journey share its
    channel.
    """

    journey: IntArray
    channel: IntArray
    multiplicity: IntArray


def channel_pairs(journeys: Journeys, codes: IntArray, n_channels: int) -> ChannelPairs:
    seg = journeys.seg
    width = max(n_channels, 1)
    key = seg * width + codes
    cells = journeys.n_journeys * width
    if cells <= _DENSE_LIMIT:
        counts = np.bincount(key, minlength=cells)
        multiplicity = counts[key]
        present = np.flatnonzero(counts).astype(np.int64)
    else:
        present, inverse, tally = np.unique(key, return_inverse=True, return_counts=True)
        multiplicity = tally[inverse]
    return ChannelPairs(
        journey=(present // width).astype(np.int64),
        channel=(present % width).astype(np.int64),
        multiplicity=multiplicity.astype(np.int64),
    )


def split_by_channel_value(journeys: Journeys, codes: IntArray, values: FloatArray) -> FloatArray:
    """Per-journey credit of the data-driven models (DESIGN.md section 3).

    Each journey's credit goes to the channels on its path in proportion to their values
    (negative values count as 0), then equally over each channel's touches; a journey whose
    channels are all 0 falls back to linear.
    """
    if journeys.n_elements == 0:
        return np.zeros(0, dtype=np.float64)
    positive = np.maximum(values, 0.0)
    codes = codes[journeys.element]
    pairs = channel_pairs(journeys, codes, values.size)
    total = np.bincount(
        pairs.journey, weights=positive[pairs.channel], minlength=journeys.n_journeys
    )
    zero = total <= 0
    fraction = positive[codes] / (
        pairs.multiplicity.astype(np.float64) * np.where(zero, 1.0, total)[journeys.seg]
    )
    if zero.any():
        flat = zero[journeys.seg]
        fraction[flat] = linear(journeys)[flat]
    return fraction


def global_allocation(
    values: FloatArray, total_conversions: float, total_value: int
) -> tuple[FloatArray, IntArray]:
    """Total conversions and total value shared by channel value (negatives count as 0).

    The value is split in integer minor units by largest remainder, ties in channel order.
    """
    positive = np.maximum(values, 0.0)
    mass = float(positive.sum())
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.int64)
    share = positive / mass if mass > 0 else np.full(n, 1.0 / n)
    one = Journeys(
        element=np.arange(n, dtype=np.int64),
        time=np.zeros(n, dtype=np.int64),
        seg=np.zeros(n, dtype=np.int64),
        pos=np.arange(n, dtype=np.int64),
        starts=np.zeros(1, dtype=np.int64),
        ends=np.array([n - 1], dtype=np.int64),
        lengths=np.array([n], dtype=np.int64),
        opp=np.zeros(1, dtype=np.int64),
    )
    value = largest_remainder(share, one, np.array([total_value], dtype=np.int64))
    return share * total_conversions, value
