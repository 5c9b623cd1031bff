"""Channel bookkeeping shared by the data-driven models."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np

from ._journeys import Journeys, PreparedJourneys
from ._rounding import Shares
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


def channel_integers(values: FloatArray, bits: int) -> IntArray:
    """Channel values as integers: negatives count as 0, the largest is 2^bits.

    The data-driven models' values are float64 results of an exact method (an absorbing
    chain's solve, Shapley sums); held as integers at the precision of a float64 relative
    to the largest, every split of them is an exact ratio of integers.
    """
    positive = np.maximum(values, 0.0)
    top = float(positive.max(initial=0.0))
    if top <= 0:
        return np.zeros(values.size, dtype=np.int64)
    return np.rint(positive * (float(1 << bits) / top)).astype(np.int64)


def split_by_channel_value(
    journeys: Journeys, codes: CodeArray, values: FloatArray, kind: str = ""
) -> Shares:
    """Per-journey credit of the data-driven models (DESIGN.md section 3).

    Each journey's credit goes to the channels on its path in proportion to their values
    (negative values count as 0), then equally over each channel's touches; a journey whose
    channels are all 0 falls back to linear. ``codes`` are the prepared pairs' codes of the
    channel ``kind`` (the name under which the journeys keep what derives from them). The
    share of a touch is value / (multiplicity * the journey's total value), in integers.
    """
    if journeys.n_elements == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Shares(num=empty, den=empty)
    longest = int(journeys.lengths.max())
    bits = min(52, 60 - longest.bit_length() - max(values.size, 1).bit_length())
    integer = channel_integers(values, bits)
    element_codes, pairs = _element_channels(journeys, kind, codes, values.size)
    # Pairs are sorted by journey, and every journey has one: sum each journey's run.
    first_pair = np.flatnonzero(np.r_[True, pairs.journey[1:] != pairs.journey[:-1]])
    total = np.add.reduceat(integer[pairs.channel], first_pair)
    zero = total <= 0
    num = np.take(integer, element_codes)
    den = np.take(np.where(zero, 1, total), journeys.seg)
    den *= pairs.multiplicity
    if zero.any():
        flat = zero[journeys.seg]
        num[flat] = 1
        den[flat] = np.take(journeys.lengths, journeys.seg)[flat]
    return Shares(num=num, den=den)


def global_allocation(
    values: FloatArray, total_conversions: float, total_value: int
) -> tuple[FloatArray, IntArray]:
    """Total conversions and total value shared by channel value (negatives count as 0).

    The value is split in integer minor units by largest remainder over the channel values
    held as integers (exact in Python integers, whatever the total), ties in channel order.
    """
    n = values.size
    if n == 0:
        return np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.int64)
    positive = np.maximum(values, 0.0)
    mass = float(positive.sum())
    share = positive / mass if mass > 0 else np.full(n, 1.0 / n)
    integer = [int(v) for v in channel_integers(values, 52).tolist()]
    if sum(integer) == 0:
        integer = [1] * n
    parts = [divmod(total_value * v, sum(integer)) for v in integer]
    value = [quotient for quotient, _ in parts]
    for channel in sorted(range(n), key=lambda c: (-parts[c][1], c))[: total_value - sum(value)]:
        value[channel] += 1
    return share * total_conversions, np.array(value, dtype=np.int64)


def won_value(prepared: PreparedJourneys, won_opp: IntArray) -> tuple[int, tuple[int, ...]]:
    """The won fit journeys' total value (rounded half up once) and the opportunity ids
    whose value is unknown (not converted): those are left out of it, listed apart."""
    known = prepared.value_known[won_opp]
    total = math.fsum(prepared.value[won_opp[known]].tolist())
    unconverted = prepared.opportunity_id[won_opp[~known]]
    return math.floor(total + 0.5), tuple(int(i) for i in np.unique(unconverted).tolist())
