"""Exact Shapley values of channels over the closed opportunities' journeys."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ._channels import channel_pairs, won_value
from ._errors import ModelParameterError, TooManyChannelsError
from ._journeys import PreparedJourneys
from ._memory import small_pages
from ._types import FloatArray, IntArray

MAX_CONVERSION_RATE_CHANNELS = 20
_MAX_MASK_CHANNELS = 62


@dataclass(frozen=True, eq=False)
class ShapleyFit:
    """Shapley values of every channel label (0 for a channel absent from the fit).

    ``players`` are the channels present in the fit journeys. ``coalition_value`` gives
    the characteristic function v(S) (0 when no journey lies within S).
    """

    channel: str
    characteristic: str
    channels: tuple[str, ...]
    players: tuple[str, ...]
    values: Mapping[str, float]
    journeys: int
    total_conversions: int
    total_value: int
    value_array: FloatArray
    _set_masks: IntArray
    _set_journeys: FloatArray
    _set_conversions: FloatArray
    unconverted_opportunities: tuple[int, ...] = ()

    def coalition_value(self, coalition: Iterable[str]) -> float:
        """v(S) for a set of channel labels (labels outside the players are ignored)."""
        if len(self.players) > _MAX_MASK_CHANNELS:
            raise TooManyChannelsError(
                "channel", f"coalitions are enumerable up to {_MAX_MASK_CHANNELS} channels"
            )
        wanted = set(coalition)
        mask = sum(1 << i for i, label in enumerate(self.players) if label in wanted)
        within = (self._set_masks & ~np.int64(mask)) == 0
        conversions = float(self._set_conversions[within].sum())
        if self.characteristic == "conversions":
            return conversions
        journeys = float(self._set_journeys[within].sum())
        return conversions / journeys if journeys > 0 else 0.0


def _subset_sums(values: FloatArray, n: int) -> FloatArray:
    """g[S] = sum of values[T] over T within S (zeta transform, a loop over channels)."""
    total = values.copy()
    for bit in range(n):
        view = total.reshape(-1, 2, 1 << bit)
        view[:, 1, :] += view[:, 0, :]
    return total


def _popcount(n: int) -> IntArray:
    counts = np.zeros(1 << n, dtype=np.int64)
    for bit in range(n):
        counts.reshape(-1, 2, 1 << bit)[:, 1, :] += 1
    return counts


def _shapley_from_characteristic(v: FloatArray, n: int) -> FloatArray:
    """phi_i = sum over S without i of |S|!(n-|S|-1)!/n! (v(S+i) - v(S))."""
    size = _popcount(n)
    weights = np.array([1.0 / (n * math.comb(n - 1, s)) for s in range(n)], dtype=np.float64)
    phi = np.zeros(n, dtype=np.float64)
    for bit in range(n):
        grid = v.reshape(-1, 2, 1 << bit)
        without = size.reshape(-1, 2, 1 << bit)[:, 0, :]
        phi[bit] = float(np.sum(weights[without] * (grid[:, 1, :] - grid[:, 0, :])))
    return phi


@small_pages
def fit_shapley(
    prepared: PreparedJourneys, channel: str = "category", characteristic: str = "conversions"
) -> ShapleyFit:
    """Exact Shapley values over the fit journeys' channel sets.

    ``conversions``: v(S) = won journeys whose channels all lie in S; its closed form splits
    each won journey equally over its distinct channels (Zhao et al. 2018), for any number
    of channels. ``conversion_rate``: v(S) = won / all journeys within S (0 when none),
    computed over all 2^n coalitions, so at most 20 channels.
    """
    if characteristic not in ("conversions", "conversion_rate"):
        raise ModelParameterError("characteristic", f"unknown {characteristic!r}")
    coding = prepared.channels[channel]
    labels = coding.labels
    n_channels = len(labels)
    fit = prepared.fit
    won = prepared.is_won[fit.opp].astype(np.float64)
    pairs = channel_pairs(fit, coding.codes[fit.element], n_channels, with_multiplicity=False)
    present = np.bincount(pairs.channel, minlength=n_channels)[:n_channels] > 0
    player_codes = np.flatnonzero(present)
    players = tuple(labels[i] for i in player_codes)
    n = player_codes.size
    if characteristic == "conversion_rate" and n > MAX_CONVERSION_RATE_CHANNELS:
        raise TooManyChannelsError(
            "characteristic",
            f"conversion_rate is exact up to {MAX_CONVERSION_RATE_CHANNELS} channels; the fit "
            f"has {n} {channel} channels (use characteristic 'conversions' or a coarser channel)",
        )

    set_masks = np.zeros(0, dtype=np.int64)
    set_journeys = np.zeros(0, dtype=np.float64)
    set_conversions = np.zeros(0, dtype=np.float64)
    if n <= _MAX_MASK_CHANNELS and fit.n_journeys:
        local = np.full(n_channels, -1, dtype=np.int64)
        local[player_codes] = np.arange(n, dtype=np.int64)
        bits = np.left_shift(np.int64(1), local[pairs.channel])
        pair_starts = np.flatnonzero(np.r_[True, pairs.journey[1:] != pairs.journey[:-1]])
        journey_mask = np.bitwise_or.reduceat(bits, pair_starts)
        set_masks, inverse = np.unique(journey_mask, return_inverse=True)
        set_journeys = np.bincount(inverse, minlength=set_masks.size).astype(np.float64)
        set_conversions = np.bincount(inverse, weights=won, minlength=set_masks.size).astype(
            np.float64
        )

    values = np.zeros(n_channels, dtype=np.float64)
    if characteristic == "conversions":
        distinct = np.bincount(pairs.journey, minlength=fit.n_journeys).astype(np.float64)
        share = won[pairs.journey] / np.maximum(distinct[pairs.journey], 1.0)
        values = np.bincount(pairs.channel, weights=share, minlength=n_channels)[
            :n_channels
        ].astype(np.float64)
    elif n:
        journeys = np.zeros(1 << n, dtype=np.float64)
        conversions = np.zeros(1 << n, dtype=np.float64)
        journeys[set_masks] = set_journeys
        conversions[set_masks] = set_conversions
        within_journeys = _subset_sums(journeys, n)
        within_conversions = _subset_sums(conversions, n)
        rate = np.divide(
            within_conversions,
            within_journeys,
            out=np.zeros_like(within_conversions),
            where=within_journeys > 0,
        )
        values[player_codes] = _shapley_from_characteristic(rate, n)

    won_journeys = won.astype(np.bool_)
    total_value, unconverted = won_value(prepared, fit.opp[won_journeys])
    return ShapleyFit(
        channel=channel,
        characteristic=characteristic,
        channels=labels,
        players=players,
        values=dict(zip(labels, values.tolist(), strict=True)),
        journeys=fit.n_journeys,
        total_conversions=int(won_journeys.sum()),
        total_value=total_value,
        unconverted_opportunities=unconverted,
        value_array=values.astype(np.float64),
        _set_masks=set_masks.astype(np.int64),
        _set_journeys=set_journeys,
        _set_conversions=set_conversions,
    )
