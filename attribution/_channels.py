"""Channel bookkeeping shared by the data-driven models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from ._journeys import Journeys
from ._models import linear
from ._rounding import largest_remainder
from ._types import CodeArray, FloatArray, IntArray

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
    """The distinct (journey, channel) pairs, given each element's channel code."""
    seg = journeys.seg
    width = max(n_channels, 1)
    key = seg * width
    key += codes
    cells = journeys.n_journeys * width
    if cells <= _DENSE_LIMIT:
        counts = np.bincount(key, minlength=cells)
        multiplicity = np.take(counts, key)
        present = np.flatnonzero(counts)
    else:
        present, inverse, tally = np.unique(key, return_inverse=True, return_counts=True)
        multiplicity = np.take(tally, inverse)
    journey, channel = np.divmod(present, width)
    return ChannelPairs(
        journey=journey.astype(np.int64, copy=False),
        channel=channel.astype(np.int64, copy=False),
        multiplicity=multiplicity.astype(np.int64, copy=False),
    )


def _element_channels(
    journeys: Journeys, kind: str, codes: CodeArray, n_channels: int
) -> tuple[IntArray, ChannelPairs]:
    """Each element's channel code and the (journey, channel) pairs, once per channel kind."""
    key = f"channels:{kind}:{n_channels}"
    cached = journeys.memo.get(key)
    if cached is None:
        element_codes = np.take(codes, journeys.element).astype(np.int64)
        cached = (element_codes, channel_pairs(journeys, element_codes, n_channels))
        journeys.memo[key] = cached
    return cast("tuple[IntArray, ChannelPairs]", cached)


def split_by_channel_value(
    journeys: Journeys, codes: CodeArray, values: FloatArray, kind: str = ""
) -> FloatArray:
    """Per-journey credit of the data-driven models (DESIGN.md section 3).

    Each journey's credit goes to the channels on its path in proportion to their values
    (negative values count as 0), then equally over each channel's touches; a journey whose
    channels are all 0 falls back to linear. ``codes`` are the prepared pairs' codes of the
    channel ``kind`` (the name under which the journeys keep what derives from them).
    """
    if journeys.n_elements == 0:
        return np.zeros(0, dtype=np.float64)
    positive = np.maximum(values, 0.0)
    element_codes, pairs = _element_channels(journeys, kind, codes, values.size)
    total = np.bincount(
        pairs.journey, weights=positive[pairs.channel], minlength=journeys.n_journeys
    )
    zero = total <= 0
    denominator = pairs.multiplicity.astype(np.float64)
    denominator *= np.take(np.where(zero, 1.0, total), journeys.seg)
    fraction = np.take(positive, element_codes)
    fraction /= denominator
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
        pair_time=np.zeros(n, dtype=np.int64),
        seg=np.zeros(n, dtype=np.int64),
        pos=np.arange(n, dtype=np.int64),
        starts=np.zeros(1, dtype=np.int64),
        ends=np.array([n - 1], dtype=np.int64),
        lengths=np.array([n], dtype=np.int64),
        opp=np.zeros(1, dtype=np.int64),
    )
    value = largest_remainder(share, one, np.array([total_value], dtype=np.int64))
    return share * total_conversions, value
