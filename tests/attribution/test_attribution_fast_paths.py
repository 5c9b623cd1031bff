"""The engine's fast paths give what the plain definitions give."""

from __future__ import annotations

import importlib
import math
from fractions import Fraction

import numpy as np
import polars as pl
import pytest

from attribution import PreparedJourneys, _journeys, _rounding, prepare
from attribution._journeys import Journeys, _by_touch_id, _touch_order, journeys_from_mask
from attribution._memory import small_pages
from attribution._rounding import Shares, largest_remainder
from tests.attribution.builders import CATEGORY_OF, SETTINGS


def shaped(lengths: list[int]) -> Journeys:
    opp = np.repeat(np.arange(len(lengths)), lengths).astype(np.int64)
    return journeys_from_mask(np.ones(opp.size, dtype=np.bool_), opp, np.zeros_like(opp))


def integer_shares(
    journeys: Journeys, weights: np.ndarray, reach: np.ndarray | None = None
) -> Shares:
    totals = np.add.reduceat(weights, journeys.starts)
    return Shares(num=weights, den=totals[journeys.seg], reach=reach)


def test_largest_remainder_in_several_sorts(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 12, 500).tolist()
    journeys = shaped(lengths)
    weights = rng.integers(1, 5, journeys.n_elements).astype(np.int64)
    shares = integer_shares(journeys, weights)
    amount = rng.integers(0, 10**7, len(lengths))
    whole = largest_remainder(journeys, amount, shares)
    monkeypatch.setattr(_rounding, "_KEY_BITS", _rounding._REMAINDER_BITS + 4 + 3)
    chunked = shaped(lengths)  # fresh journeys: no layout kept from the first call
    assert _rounding.sort_layout(chunked)[1] == 8  # 8 journeys per sort
    assert largest_remainder(chunked, amount, shares).tolist() == whole.tolist()


def _largest_remainder_by_journey(
    weights: np.ndarray, lengths: list[int], amount: np.ndarray, reach: np.ndarray
) -> list[int]:
    """The rounding's definition, one journey at a time, in exact fractions: floors, then
    the leftover units to the first slots of the order by (tie class, position), where a
    tie class chains neighbours (by quantized remainder) at most the journey's reach apart."""
    cents: list[int] = []
    start = 0
    for journey, length in enumerate(lengths):
        w = [int(x) for x in weights[start : start + length]]
        quota = [Fraction(int(amount[journey]) * x, sum(w)) for x in w]
        floor = [math.floor(q) for q in quota]
        quantum = [
            _rounding._TOP - math.floor((q - f) * 2**34) for q, f in zip(quota, floor, strict=True)
        ]
        leftover = int(amount[journey]) - sum(floor)
        order = sorted(range(length), key=lambda i: (quantum[i], i))
        tie_class, classes = 0, []
        for rank, i in enumerate(order):
            if rank and quantum[i] - quantum[order[rank - 1]] > reach[journey]:
                tie_class += 1
            classes.append((tie_class, i))
        winners = {i for _, i in sorted(classes)[:leftover]}
        cents.extend(floor[i] + (i in winners) for i in range(length))
        start += length
    return cents


def test_largest_remainder_near_ties_match_the_definition() -> None:
    """Shares with a float error (time decay's) tie within their reach, as the definition
    says, whether or not the winners end inside a tie class."""
    rng = np.random.default_rng(11)
    lengths = rng.integers(1, 9, 3000).tolist()
    journeys = shaped(lengths)
    n = journeys.n_elements
    # Few distinct weights, nudged by a few units in 2^52, or made vanishingly small, so
    # that remainders tie exactly, nearly, or sit a hair above 0.
    weights = rng.integers(1, 4, n).astype(np.int64) << 50
    weights += rng.choice([0, 1, -1, 3000], n)
    weights[rng.random(n) < 0.2] = 1
    amount = rng.choice([7, 100, 999, 10**6 + 1, 10**7 - 3, 10**15], len(lengths))
    reach = rng.choice([1, 2, 50, 10**6], len(lengths)).astype(np.int64)
    got = largest_remainder(journeys, amount, integer_shares(journeys, weights, reach))
    assert got.tolist() == _largest_remainder_by_journey(weights, lengths, amount, reach)


def test_remainders_within_one_quantum_are_compared_exactly() -> None:
    """Denominators above 2^34 can put different remainders in one quantum: the larger
    one still wins (here 2/3 + 1e-17 against 2/3)."""
    journeys = shaped([2, 2])
    big = 3 * 10**17
    num = np.array([big // 3 * 2 - 1, big // 3 + 1, 2, 1], dtype=np.int64)
    den = np.array([big, big, 3, 3], dtype=np.int64)
    amount = np.array([1, 1], dtype=np.int64)
    # Journey 0: quotas 2/3 - 1/3e17 and 1/3 + 1/3e17; journey 1: 2/3 and 1/3.
    got = largest_remainder(journeys, amount, Shares(num=num, den=den))
    assert got.tolist() == [1, 0, 1, 0]
    num = np.array([1, big - 1], dtype=np.int64)
    den = np.array([big, big], dtype=np.int64)
    got = largest_remainder(shaped([2]), np.array([10**15], dtype=np.int64), Shares(num, den))
    # 10^15 / 3e17 = 1/300: floors 0 and 10^15 - 1, the unit to the larger remainder 299/300.
    assert got.tolist() == [0, 10**15]


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


def _crowded_touches(seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Touches of few people and activity types, minutes apart (many duplicates), some
    without a person, some reached through two opportunities."""
    rng = np.random.default_rng(seed)
    n, opportunities = 4000, 300
    kinds = list(CATEGORY_OF)
    activity = rng.integers(0, len(kinds), n)
    start = np.datetime64("2025-01-01T00:00:00", "us")
    occurred = start + (rng.integers(0, 60 * 24 * 2, n) * 60_000_000).astype("timedelta64[us]")
    person = [None if rng.random() < 0.05 else f"member:{rng.integers(0, 20)}" for _ in range(n)]
    program = [None if a % 3 else f"program{a}" for a in activity]
    touches = pl.DataFrame(
        {
            "opportunity_id": rng.integers(1, opportunities + 1, n),
            "touch_id": np.arange(1, n + 1),
            "occurred_at": occurred,
            "source": rng.choice(["discourse", "slack"], n),
            "external_id": [f"x{i % 700}" for i in range(n)],
            "activity_type": [kinds[a] for a in activity],
            "category": [CATEGORY_OF[kinds[a]] for a in activity],
            "program": program,
            "is_community": [CATEGORY_OF[kinds[a]] != "marketing" for a in activity],
            "is_staff": rng.random(n) < 0.03,
            "person": person,
            "weight": rng.integers(0, 4, n).astype(np.float64),
        }
    ).with_columns(pl.col("occurred_at").dt.replace_time_zone("UTC"))
    shared = touches.head(500).with_columns(
        (pl.col("opportunity_id") % opportunities + 1).alias("opportunity_id")
    )
    created = start + np.timedelta64(15, "D")
    opportunities_frame = pl.DataFrame(
        {
            "opportunity_id": np.arange(1, opportunities + 1),
            "amount": rng.integers(0, 10**6, opportunities),
            "created_at": np.full(opportunities, created),
            "closed_at": np.full(opportunities, created + np.timedelta64(10, "D")),
            "is_closed": np.ones(opportunities, dtype=np.bool_),
            "is_won": rng.random(opportunities) < 0.6,
            "lead_created_at": np.full(opportunities, start),
        }
    ).with_columns(pl.col("created_at", "closed_at", "lead_created_at").dt.replace_time_zone("UTC"))
    return pl.concat([touches, shared]), opportunities_frame


def _same_prepared(a: PreparedJourneys, b: PreparedJourneys) -> None:
    assert a.stats == b.stats
    assert a.flags.equals(b.flags)
    for name in ("pair_opp", "touch_id", "time_us", "is_community", "weight"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for kind, codes in a.channels.items():
        assert codes.labels == b.channels[kind].labels, kind
        assert np.array_equal(codes.codes, b.channels[kind].codes), kind


@pytest.mark.parametrize("path", ["table", "search", "hashed persons"])
def test_categorical_codes_give_what_text_gives(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Categorical channels are recoded through their own codes (a table, or a search when
    the codes are far apart), and categorical persons group duplicates by their codes (or by
    hashes when the codes leave no room in the sort key): each as with plain text."""
    touches, opportunities = _crowded_touches(17)
    text = ["source", "external_id", "activity_type", "category", "program", "person"]
    coded = touches.with_columns(pl.col(c).cast(pl.Categorical) for c in text)
    if path == "search":
        monkeypatch.setattr(_journeys, "_TABLE_SLACK", -(10**12))
    if path == "hashed persons":
        monkeypatch.setattr(_journeys, "_GROUP_KEY_BITS", 0)
    plain = prepare(touches, opportunities, SETTINGS)
    assert plain.stats["duplicates_dropped"] > 500
    _same_prepared(prepare(coded, opportunities, SETTINGS), plain)


def test_engine_calls_leave_numpy_page_advice_as_they_found_it() -> None:
    """Inside an engine call NumPy gives no huge-page advice; after it, the process's
    setting is back, also when calls nest or raise."""
    setter = importlib.import_module("numpy._core.multiarray")._set_madvise_hugepage
    inside: list[bool] = []

    @small_pages
    def inner() -> None:
        inside.append(bool(setter(False)))

    @small_pages
    def outer() -> None:
        inner()
        inside.append(bool(setter(False)))
        raise RuntimeError("boom")

    previous = setter(True)
    try:
        with pytest.raises(RuntimeError):
            outer()
        assert inside == [False, False]
        assert setter(True) is True
    finally:
        setter(previous)
