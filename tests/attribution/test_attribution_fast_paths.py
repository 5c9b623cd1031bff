"""The engine's fast paths give what the plain definitions give."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from attribution import _rounding
from attribution._journeys import Journeys, _by_touch_id, _touch_order, journeys_from_mask
from attribution._rounding import largest_remainder


def shaped(lengths: list[int]) -> Journeys:
    opp = np.repeat(np.arange(len(lengths)), lengths).astype(np.int64)
    return journeys_from_mask(np.ones(opp.size, dtype=np.bool_), opp, np.zeros_like(opp))


def test_largest_remainder_in_several_sorts(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 12, 500).tolist()
    journeys = shaped(lengths)
    weights = rng.integers(0, 4, journeys.n_elements).astype(np.float64) + 1e-15
    totals = np.add.reduceat(weights, journeys.starts)
    fraction = weights / totals[journeys.seg]
    amount = rng.integers(0, 10**7, len(lengths))
    whole = largest_remainder(fraction, journeys, amount)
    monkeypatch.setattr(_rounding, "_KEY_BITS", _rounding._REMAINDER_BITS + 4 + 3)
    chunked = shaped(lengths)  # fresh journeys: no layout kept from the first call
    assert _rounding.sort_layout(chunked)[1] == 8  # 8 journeys per sort
    assert largest_remainder(fraction, chunked, amount).tolist() == whole.tolist()


def _largest_remainder_by_journey(
    fraction: np.ndarray, lengths: list[int], amount: np.ndarray
) -> list[int]:
    """The rounding's definition, one journey at a time: floors, then the leftover units to
    the first slots of the order by (tie class, position), where a tie class chains
    neighbours (by quantized remainder) at most the journey's tolerance apart."""
    cents: list[int] = []
    start = 0
    for journey, length in enumerate(lengths):
        quota = float(amount[journey]) * fraction[start : start + length]
        floor = quota.astype(np.int64)
        top = float(_rounding._TOP)
        quantum = ((quota - floor) * -_rounding._SCALE + top).astype(np.int64)
        reach = int(_rounding._tolerance_quanta(amount[journey : journey + 1])[0])
        leftover = min(max(int(amount[journey]) - int(floor.sum()), 0), length)
        order = sorted(range(length), key=lambda i: (quantum[i], i))
        tie_class, classes = 0, []
        for rank, i in enumerate(order):
            if rank and quantum[i] - quantum[order[rank - 1]] > reach:
                tie_class += 1
            classes.append((tie_class, i))
        winners = {i for _, i in sorted(classes)[:leftover]}
        cents.extend(int(floor[i]) + (i in winners) for i in range(length))
        start += length
    return cents


def test_largest_remainder_near_ties_match_the_definition() -> None:
    """Near ties (float noise, tiny remainders) settle as the definition says, whether or
    not the winners end inside a tie class."""
    rng = np.random.default_rng(11)
    lengths = rng.integers(1, 9, 3000).tolist()
    journeys = shaped(lengths)
    n = journeys.n_elements
    # Few distinct weights, each nudged by float noise or made vanishingly small, so that
    # remainders tie exactly, nearly, or sit a hair above 0.
    weights = rng.integers(1, 4, n).astype(np.float64)
    weights *= 1.0 + rng.choice([0.0, 1e-15, -1e-15, 3e-13], n)
    weights[rng.random(n) < 0.2] = 2.0**-50
    totals = np.add.reduceat(weights, journeys.starts)
    fraction = weights / totals[journeys.seg]
    amount = rng.choice([7, 100, 999, 10**6 + 1, 10**7 - 3], len(lengths))
    got = largest_remainder(fraction, journeys, amount)
    assert got.tolist() == _largest_remainder_by_journey(fraction, lengths, amount)


def test_touch_order_with_a_coarsened_instant() -> None:
    """Instants spanning more bits than the packed key holds are coarsened, then settled."""
    rng = np.random.default_rng(5)
    n = 300
    time = rng.choice(np.array([0, 1, 2, 2**61, 2**61 + 1, 2**62 - 7]), n).astype(np.int64)
    source = rng.choice(["b", "a", "c"], n)
    external = rng.choice(["x", "y", "10", "9"], n)
    frame = pl.DataFrame({"source": source, "external_id": external})
    order, ordered = _touch_order(time, lambda index: frame.gather(pl.Series(index)))
    expected = sorted(range(n), key=lambda i: (time[i], source[i], external[i], i))
    assert order.tolist() == expected
    assert ordered.tolist() == sorted(time.tolist())


def test_representative_rows_by_touch_id() -> None:
    rows, row_distinct = _by_touch_id(np.array([7, 3, 7, 2**62, 3, 1], dtype=np.int64))
    assert rows is not None and row_distinct is not None
    assert rows.tolist() == [5, 1, 0, 3]  # the first row of touches 1, 3, 7, 2**62
    assert row_distinct.tolist() == [2, 1, 2, 3, 1, 0]
    packed, _ = _by_touch_id(np.array([7, 3, 7, 100, 3, 1], dtype=np.int64))
    assert packed is not None and packed.tolist() == [5, 1, 0, 3]
    assert _by_touch_id(np.array([1, 2, 5], dtype=np.int64)) == (None, None)


def test_categorical_text_columns_give_the_same_credits() -> None:
    """Text columns given as categoricals are read as such, with the same results."""
    from attribution import MODEL_NAMES, ModelSpec, attribute, prepare
    from tests.attribution.golden_frames import golden

    data = golden()
    text = ["source", "external_id", "activity_type", "category", "program", "person"]
    categorical = data.touches.with_columns(
        pl.col(c).cast(pl.String).cast(pl.Categorical) for c in text if c in data.touches.columns
    )
    plain = prepare(data.touches, data.opportunities, data.settings)
    coded = prepare(categorical, data.opportunities, data.settings)
    assert coded.stats == plain.stats
    assert coded.flags.equals(plain.flags)
    for name in MODEL_NAMES:
        spec = ModelSpec(
            name, {"channel": "activity_type"} if name in ("markov", "shapley") else {}
        )
        assert attribute(coded, spec).credits.equals(attribute(plain, spec).credits), name
