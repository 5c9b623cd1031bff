"""Markov-chain attribution, solved exactly as an absorbing chain (no simulation)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from ._channels import won_value
from ._errors import ModelParameterError
from ._journeys import PreparedJourneys
from ._memory import small_pages
from ._settings import DEFAULT_MAX_MARKOV_STATES
from ._types import BoolArray, FloatArray, IndexArray, IntArray

START = "(start)"
CONVERSION = "(conversion)"
NULL = "(null)"
STATE_SEPARATOR = ">"
MAX_STATES = DEFAULT_MAX_MARKOV_STATES
_DENSE_CODES = 20_000_000


@dataclass(frozen=True, eq=False)
class MarkovFit:
    """A fitted chain: states, transition counts and probabilities, removal effects.

    ``removal_effects`` and ``p_without`` have an entry for every channel label (a channel
    absent from the fit has removal effect 0). ``total_value`` is in integer minor units of
    the reporting currency (the won journeys' values, rounded half up once), leaving out
    the ``unconverted_opportunities`` (won, with no value), listed apart.
    """

    channel: str
    order: int
    channels: tuple[str, ...]
    states: tuple[str, ...]
    transitions: pl.DataFrame
    conversion_probability: float
    p_without: Mapping[str, float]
    removal_effects: Mapping[str, float]
    journeys: int
    total_conversions: int
    total_value: int
    removal_effect_array: FloatArray
    unconverted_opportunities: tuple[int, ...] = ()


def _state_codes(
    codes: IntArray, seg: IndexArray, n_channels: int, order: int
) -> tuple[IntArray, IntArray, int]:
    """Encode each collapsed step as the tuple of its last ``order`` channels.

    Returns the state of every step, each state's channel digits (states x order, most
    recent first, -1 for "before the journey") and the number of states.
    """
    if order == 1:
        digits = np.arange(n_channels, dtype=np.int64).reshape(-1, 1)
        return codes, digits, n_channels
    base = n_channels + 1
    if base**order >= 2**62:
        raise ModelParameterError("order", f"order {order} over {n_channels} channels is too large")
    m = codes.size
    code = codes + 1
    weight = 1
    for back in range(1, order):
        weight *= base
        earlier = np.arange(m) - back
        valid = earlier >= 0
        valid[valid] = seg[earlier[valid]] == seg[valid]
        code = code + np.where(valid, codes[np.maximum(earlier, 0)] + 1, 0) * weight
    if base**order <= _DENSE_CODES:
        present = np.bincount(code, minlength=base**order) > 0
        unique = np.flatnonzero(present).astype(np.int64)
        mapping = np.cumsum(present) - 1
        state = mapping[code].astype(np.int64)
    else:
        unique, inverse = np.unique(code, return_inverse=True)
        state = inverse.astype(np.int64)
    digits = np.empty((unique.size, order), dtype=np.int64)
    rest = unique.copy()
    for back in range(order):
        digits[:, back] = rest % base - 1
        rest //= base
    return state, digits, int(unique.size)


def _absorption(q: FloatArray, r: FloatArray, keep: BoolArray) -> float:
    """P(conversion) from the start (index 0) when only ``keep`` states remain.

    Transitions into removed states go to null: solve (I - Q_kk) x = r_k.
    """
    index = np.flatnonzero(keep)
    sub = q[np.ix_(index, index)]
    system = np.eye(index.size) - sub
    solution = np.linalg.solve(system, r[index])
    return float(solution[0])


@small_pages
def fit_markov(
    prepared: PreparedJourneys,
    channel: str = "category",
    order: int = 1,
    max_states: int = MAX_STATES,
) -> MarkovFit:
    """Fit the chain on the closed opportunities' paths and compute removal effects.

    Consecutive repeats of a channel collapse; every transition of every journey counts 1
    (not weighted by value); removing a channel sends the transitions into every state
    that contains it to null.
    """
    if order < 1:
        raise ModelParameterError("order", "must be at least 1")
    coding = prepared.channels[channel]
    labels = coding.labels
    n_channels = len(labels)
    fit = prepared.fit
    won_journey = prepared.is_won[fit.opp]
    codes = coding.codes[fit.element]
    seg = fit.seg
    step = np.ones(codes.size, dtype=np.bool_)
    if codes.size > 1:
        step[1:] = (codes[1:] != codes[:-1]) | (seg[1:] != seg[:-1])
    c_codes = codes[step].astype(np.int64)
    c_seg = seg[step]
    state, digits, n_states = _state_codes(c_codes, c_seg, n_channels, order)
    if n_states > max_states:
        raise ModelParameterError(
            "order", f"{n_states} Markov states exceed the exact solver's limit of {max_states}"
        )
    # Nodes: 0 start, 1..S states, S+1 conversion, S+2 null.
    size = n_states + 3
    node = state + 1
    m = node.size
    first = np.ones(m, dtype=np.bool_)
    last = np.ones(m, dtype=np.bool_)
    if m > 1:
        first[1:] = c_seg[1:] != c_seg[:-1]
        last[:-1] = first[1:]
    # Transitions as source * size + target: from the start (0) to each journey's first
    # step, from each step to the next one of its journey or, at its end, to conversion or
    # null. Built in one array (a run's fit has millions of steps).
    counts = np.bincount(node[first], minlength=size * size)
    edge = np.empty(m, dtype=np.int64)
    edge[:-1] = node[1:]
    edge[last] = np.where(won_journey[c_seg[last]], n_states + 1, n_states + 2)
    node *= size
    edge += node
    del node
    counts += np.bincount(edge, minlength=size * size)
    del edge
    counts = counts.reshape(size, size)
    outgoing = counts.sum(axis=1).astype(np.float64)
    probability = counts / np.where(outgoing > 0, outgoing, 1.0)[:, None]
    transient = n_states + 1
    q = probability[:transient, :transient]
    r = probability[:transient, n_states + 1]
    everything = np.ones(transient, dtype=np.bool_)
    p = _absorption(q, r, everything) if fit.n_journeys else 0.0

    p_without = np.full(n_channels, p)
    removal = np.zeros(n_channels, dtype=np.float64)
    visited = outgoing[1:transient] > 0
    for channel_code in range(n_channels):
        contains = (digits == channel_code).any(axis=1) & visited
        if not contains.any() or p <= 0:
            continue
        keep = np.concatenate([[True], ~contains])
        p_without[channel_code] = _absorption(q, r, keep)
        removal[channel_code] = (p - p_without[channel_code]) / p

    state_labels = tuple(
        STATE_SEPARATOR.join(labels[d] for d in reversed(row) if d >= 0) for row in digits
    )
    names = (START, *state_labels, CONVERSION, NULL)
    src, dst = np.nonzero(counts)
    transitions = pl.DataFrame(
        {
            "from_state": [names[i] for i in src],
            "to_state": [names[j] for j in dst],
            "count": counts[src, dst].astype(np.int64),
            "probability": probability[src, dst],
        },
        schema={
            "from_state": pl.String,
            "to_state": pl.String,
            "count": pl.Int64,
            "probability": pl.Float64,
        },
    )
    total_value, unconverted = won_value(prepared, fit.opp[won_journey])
    return MarkovFit(
        channel=channel,
        order=order,
        channels=labels,
        states=tuple(state_labels),
        transitions=transitions,
        conversion_probability=p,
        p_without=dict(zip(labels, p_without.tolist(), strict=True)),
        removal_effects=dict(zip(labels, removal.tolist(), strict=True)),
        journeys=fit.n_journeys,
        total_conversions=int(won_journey.sum()),
        total_value=total_value,
        unconverted_opportunities=unconverted,
        removal_effect_array=removal,
    )
