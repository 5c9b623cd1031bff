"""Cents are exact at any size the engine accepts (up to 10^15 minor units), and bad amounts
are the engine's own input errors."""

from __future__ import annotations

import math
from fractions import Fraction

import polars as pl
import pytest

from attribution import (
    MAX_AMOUNT,
    MODEL_NAMES,
    InputFrameError,
    JourneySettings,
    ModelSpec,
    attribute,
    fit_markov,
    prepare,
)
from tests.attribution.builders import AS_OF, amounts, at, credits, frames, opportunity, run, touch

CREATED = at(100)


def exact_largest_remainder(amount: int, shares: list[Fraction]) -> list[int]:
    """The definition: floors of the exact quotas, the units left over to the largest
    remainders, ties by touch order."""
    quotas = [amount * share for share in shares]
    cents = [math.floor(q) for q in quotas]
    order = sorted(range(len(shares)), key=lambda i: (-(quotas[i] - cents[i]), i))
    for i in order[: amount - sum(cents)]:
        cents[i] += 1
    return cents


def four_touches() -> list[dict[str, object]]:
    return [
        touch(1, 1, at(10), "forum_question"),
        touch(1, 2, at(20), "beta_feedback"),
        touch(1, 3, at(30), "blog_post"),
        touch(1, 4, at(40), "meetup_attended"),
    ]


def test_w_shaped_on_rupees_215_702_948_78() -> None:
    """The issue's reproduction: 21,570,294,878 paise, W-shaped 40/20/25 + 15, four touches,
    lead creation unreached. Shares 34/65, 3/40, 3/40, 17/52: remainders .6462 (t1) and
    .6538 (t4); the third leftover paisa goes to t4, the larger remainder (a 1e-12 relative
    tolerance used to call them tied and give it to t1)."""
    amount = 21_570_294_878
    spec = ModelSpec(
        "w_shaped",
        {"first_touch": 0.4, "lead_creation": 0.2, "opportunity_creation": 0.25, "other": 0.15},
    )
    result = run(four_touches(), [opportunity(1, amount, CREATED)], spec)
    shares = [Fraction(34, 65), Fraction(3, 40), Fraction(3, 40), Fraction(17, 52)]
    assert sum(shares) == 1
    expected = exact_largest_remainder(amount, shares)
    assert amounts(result, "pipeline", 1) == expected
    assert expected == [11_282_923_474, 1_617_772_116, 1_617_772_116, 7_051_827_172]


def test_custom_weights_0_1_1_on_500_000_000_001() -> None:
    """A touch with weight 0 gets nothing, however large the amount; the odd unit goes to
    the first of the two tied halves."""
    touches = [
        touch(1, 1, at(10), "forum_question"),
        touch(1, 2, at(20), "beta_feedback"),
        touch(1, 3, at(30), "blog_post"),
    ]
    spec = ModelSpec(
        "custom", {"weights": {"forum_question": 0, "beta_feedback": 1, "blog_post": 1}}
    )
    result = run(touches, [opportunity(1, 500_000_000_001, CREATED)], spec)
    assert amounts(result, "pipeline", 1) == [0, 250_000_000_001, 250_000_000_000]


EXACT_SHARES = {
    # Five touches, lead creation between t2 and t3 (so on t2), revenue adds t6 and t7.
    "position_based": [
        Fraction(2, 5),
        Fraction(1, 15),
        Fraction(1, 15),
        Fraction(1, 15),
        Fraction(2, 5),
    ],
    "w_shaped": [
        Fraction(3, 10),
        Fraction(3, 10),
        Fraction(1, 20),
        Fraction(1, 20),
        Fraction(3, 10),
    ],
    "full_path": [
        Fraction(3, 10),
        Fraction(3, 10),
        Fraction(1, 20),
        Fraction(1, 20),
        Fraction(3, 10),
    ],
    "custom": [Fraction(1, 11), Fraction(2, 11), Fraction(3, 11), Fraction(4, 11), Fraction(1, 11)],
    "linear": [Fraction(1, 5)] * 5,
}


@pytest.mark.parametrize("model", sorted(EXACT_SHARES))
@pytest.mark.parametrize(
    "amount",
    [10**10 + 7, 31_415_926_535_897, 10**13 - 1, 999_999_999_999_989, MAX_AMOUNT],
)
def test_rule_based_models_are_exact_from_10_10_to_10_15(model: str, amount: int) -> None:
    weights = [1.0, 2.0, 3.0, 4.0, 1.0]
    kinds = ["forum_question", "beta_feedback", "blog_post", "referral", "meetup_attended"]
    touches = [
        touch(1, i + 1, at(10 * (i + 1)), kind, weight=weights[i]) for i, kind in enumerate(kinds)
    ]
    opp = opportunity(1, amount, CREATED, lead_created_at=at(25))
    result = run(touches, [opp], model)
    assert amounts(result, "pipeline", 1) == exact_largest_remainder(amount, EXACT_SHARES[model])


@pytest.mark.parametrize("model", ["time_decay", "markov", "shapley"])
@pytest.mark.parametrize("amount", [10**10 + 7, 2**53 // 10 + 1, 999_999_999_999_989, MAX_AMOUNT])
def test_other_models_add_up_to_the_amount_at_any_size(model: str, amount: int) -> None:
    """Every credit is the floor or the ceiling of its quota, and they sum to the amount
    (above 2^53, float quotas used to credit a unit more than the amount)."""
    touches = [
        touch(1, 1, at(10), "forum_question"),
        touch(1, 2, at(10, minutes=1), "beta_feedback"),
        touch(1, 3, at(11), "blog_post"),
        touch(1, 4, at(12), "forum_question"),
        touch(2, 5, at(10), "beta_feedback"),
        touch(3, 6, at(10), "forum_question"),
    ]
    opps = [
        opportunity(1, amount, CREATED),
        opportunity(2, amount - 1, CREATED),
        opportunity(3, 12345, CREATED, status="lost"),
    ]
    result = run(touches, opps, model)
    for stage in ("pipeline", "revenue"):
        rows = credits(result, stage, 1)
        assert sum(row.amount for row in rows) == amount
        for row in rows:
            quota = Fraction(row.fraction) * amount
            assert math.floor(quota) - 1 <= row.amount <= math.ceil(quota) + 1


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_a_single_touch_gets_exactly_one(model: str) -> None:
    result = run([touch(1, 1, at(10))], [opportunity(1, 10**15, CREATED)], model)
    assert [(c.fraction, c.amount) for c in credits(result, "pipeline", 1)] == [(1.0, 10**15)]
    assert [(c.fraction, c.amount) for c in credits(result, "revenue", 1)] == [(1.0, 10**15)]


def test_time_decay_ties_go_by_touch_order() -> None:
    """Half-life 1 day, t1 and t2 at one instant a day before t3: shares 1/4, 1/4, 1/2.
    6 -> quotas 1.5, 1.5, 3: the tied unit goes to t1."""
    same = [touch(1, 1, at(10)), touch(1, 2, at(10)), touch(1, 3, at(11))]
    spec = ModelSpec("time_decay", {"half_life_days": 1})
    result = run(same, [opportunity(1, 6, CREATED)], spec)
    assert [c.fraction for c in credits(result, "pipeline", 1)] == [0.25, 0.25, 0.5]
    assert amounts(result, "pipeline", 1) == [2, 1, 3]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (MAX_AMOUNT + 1, "above the 1,000,000,000,000,000"),
        (float("nan"), "not a whole number"),
        (float("inf"), "not a whole number"),
        (12.5, "not a whole number"),
    ],
)
def test_bad_amounts_are_input_errors(amount: float, message: str) -> None:
    touches, _ = frames([touch(1, 1, at(10))], [])
    opportunities = pl.DataFrame(
        {
            "opportunity_id": [7],
            "amount": [amount],
            "created_at": [CREATED],
            "closed_at": [None],
            "is_closed": [False],
            "is_won": [False],
        },
        schema_overrides={"closed_at": pl.Datetime("us", "UTC")},
    )
    with pytest.raises(InputFrameError, match=message) as caught:
        prepare(touches, opportunities, JourneySettings(as_of=AS_OF))
    assert caught.value.field == "amount"
    assert "opportunity 7" in caught.value.message


@pytest.mark.parametrize("weight", [float("nan"), float("inf"), -1.0])
def test_bad_weights_are_input_errors(weight: float) -> None:
    with pytest.raises(InputFrameError) as caught:
        run([touch(1, 1, at(10), weight=weight)], [opportunity(1, 100, CREATED)], "custom")
    assert caught.value.field == "weight"


def test_a_non_finite_value_is_an_input_error() -> None:
    with pytest.raises(InputFrameError) as caught:
        run([touch(1, 1, at(10))], [opportunity(1, 100, CREATED, value=math.inf)], "markov")
    assert caught.value.field == "value"


def test_markov_global_value_leaves_unconverted_deals_out() -> None:
    """A won deal with no exchange rate (value null) is not added to the reporting-currency
    totals as if its CHF amount were converted: it is listed apart."""
    touches = [
        touch(1, 1, at(10), "forum_question"),
        touch(2, 2, at(10), "beta_feedback"),
        touch(3, 3, at(10), "forum_question"),
    ]
    opps = [
        opportunity(1, 1000, CREATED, value=1100.0),
        opportunity(2, 50_000, CREATED, unconverted=True),
        opportunity(3, 700, CREATED, status="lost"),
    ]
    prepared = prepare(*frames(touches, opps), JourneySettings(as_of=AS_OF))
    fit = fit_markov(prepared)
    assert fit.total_value == 1100
    assert fit.unconverted_opportunities == (2,)
    result = attribute(prepared, ModelSpec("markov"))
    assert result.channels is not None
    assert result.channels["global_value"].sum() == 1100
    assert result.unconverted_opportunities == (2,)
    # Credits are in each deal's own currency, converted or not.
    assert sum(amounts(result, "revenue", 2)) == 50_000
