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
