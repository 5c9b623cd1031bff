"""Channel bookkeeping shared by the data-driven models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from ._journeys import Journeys
from ._models import linear
from ._rounding import largest_remainder
from ._types import CodeArray, FloatArray, IndexArray, IntArray

_DENSE_LIMIT = 50_000_000
_NONE: IndexArray = np.zeros(0, dtype=np.int32)


@dataclass(frozen=True, slots=True, eq=False)
class ChannelPairs:
    """The distinct (journey, channel) pairs of some journeys.

    ``journey`` and ``channel`` list the pairs sorted by journey then channel;
    ``multiplicity`` gives, for every element, how many elements of its journey share its
    channel. All three are 32-bit (journeys and channels are counted, never summed), which
    halves what a run keeps for them.
    """

    journey: IndexArray
    channel: CodeArray
    multiplicity: IndexArray


def channel_pairs(
    journeys: Journeys,
    codes: CodeArray | IntArray,
    n_channels: int,
    with_multiplicity: bool = True,
) -> ChannelPairs:
    """The distinct (journey, channel) pairs, given each element's channel code (the
    multiplicities are left empty unless ``with_multiplicity``)."""
    width = max(n_channels, 1)
    key = journeys.seg.astype(np.int64)
    key *= width
    key += codes
    cells = journeys.n_journeys * width
    # Counts and multiplicities are 32-bit (at most a journey's length); temporaries are
    # dropped as soon as they are used, as a first run builds this for several runs at once.
    if cells <= _DENSE_LIMIT:
        counts = np.bincount(key, minlength=cells).astype(np.int32)
        multiplicity = np.take(counts, key) if with_multiplicity else _NONE
        del key
        present = np.flatnonzero(counts)
        del counts
    else:
        unique, inverse, tally = np.unique(key, return_inverse=True, return_counts=True)
        del key
        multiplicity = np.take(tally.astype(np.int32), inverse) if with_multiplicity else _NONE
        present = unique
    journey = (present // width).astype(np.int32)
    channel = (present % width).astype(np.int32)
    return ChannelPairs(journey=journey, channel=channel, multiplicity=multiplicity)


def _element_channels(
    journeys: Journeys, kind: str, codes: CodeArray, n_channels: int
) -> tuple[CodeArray, ChannelPairs]:
    """Each element's channel code, and the (journey, channel) pairs, kept once per channel
    kind (the codes are gathered anew: cheap, and not worth keeping for a whole run)."""
    element_codes = np.take(codes, journeys.element)
    key = f"channels:{kind}:{n_channels}"
    cached = journeys.memo.get(key)
    if cached is None:
        cached = channel_pairs(journeys, element_codes, n_channels)
        journeys.memo[key] = cached
    return element_codes, cast("ChannelPairs", cached)


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
    # positive / (multiplicity * total), with the fraction's buffer holding the total first.
    fraction = np.take(np.where(zero, 1.0, total), journeys.seg)
    denominator = pairs.multiplicity.astype(np.float64)
    denominator *= fraction
    np.take(positive, element_codes, out=fraction)
    fraction /= denominator
    del denominator
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
        seg=np.zeros(n, dtype=np.int32),
        pos=np.arange(n, dtype=np.int32),
        starts=np.zeros(1, dtype=np.int64),
        ends=np.array([n - 1], dtype=np.int64),
        lengths=np.array([n], dtype=np.int64),
        opp=np.zeros(1, dtype=np.int64),
    )
    value = largest_remainder(share, one, np.array([total_value], dtype=np.int64))
    return share * total_conversions, value
