"""Hand-computed cases for every model; each comment shows the arithmetic."""

from __future__ import annotations

from datetime import timedelta

import pytest

from attribution import ModelSpec, fit_markov, fit_shapley, prepare
from tests.attribution.builders import SETTINGS as settings
from tests.attribution.builders import (
    amounts,
    at,
    fractions,
    frames,
    opportunity,
    run,
    touch,
    touch_ids,
)

CREATED = at(100)


def three_touches() -> list[dict[str, object]]:
    return [
        touch(1, 11, at(10)),
        touch(1, 12, at(20), "webinar_attended", source="salesforce"),
        touch(1, 13, at(30), "blog_post"),
    ]


def test_first_and_last_touch() -> None:
    opps = [opportunity(1, 1000, CREATED)]
    # All credit to t1 (first) or t3 (last).
    assert amounts(run(three_touches(), opps, "first_touch"), "pipeline", 1) == [1000, 0, 0]
    assert amounts(run(three_touches(), opps, "last_touch"), "pipeline", 1) == [0, 0, 1000]


def test_linear_leftover_cents_go_to_the_first_touches() -> None:
    # 1000 / 3 = 333.33..: floors 333 x 3 = 999, the 1 cent left goes to t1 (equal remainders,
    # touch order decides).
    result = run(three_touches(), [opportunity(1, 1000, CREATED)], "linear")
    assert fractions(result, "pipeline", 1) == pytest.approx([1 / 3] * 3, abs=1e-15)
    assert amounts(result, "pipeline", 1) == [334, 333, 333]


def test_time_decay_halves_per_half_life() -> None:
    # Half-life 1 day; the touches are 2, 1 and 0 days before the last one, so weights
    # 1/4, 1/2, 1 (sum 7/4) -> fractions 1/7, 2/7, 4/7; 700 -> 100, 200, 400. The window end
    # (created_at, 70 days after the last touch) multiplies every weight by the same 2^-70.
    touches = [touch(1, 1, at(28)), touch(1, 2, at(29)), touch(1, 3, at(30))]
    result = run(
        touches, [opportunity(1, 700, CREATED)], ModelSpec("time_decay", {"half_life_days": 1})
    )
    assert fractions(result, "pipeline", 1) == pytest.approx([1 / 7, 2 / 7, 4 / 7], abs=1e-15)
    assert amounts(result, "pipeline", 1) == [100, 200, 400]
    assert result.parameters["half_life_days"] == 1.0


def test_position_based_u_shape_and_tie_by_order() -> None:
    touches = [touch(1, i, at(10 * i)) for i in range(1, 5)]
    # 40% first, 40% last, 20% / 2 = 10% to each of the two middle touches.
    # 1001 cents: quotas 400.4, 100.1, 100.1, 400.4; floors sum to 1000; the cent left goes to
    # the larger remainders .4 (t1 and t4 tie), so to t1 by touch order.
    result = run(touches, [opportunity(1, 1001, CREATED)], "position_based")
    assert fractions(result, "pipeline", 1) == pytest.approx([0.4, 0.1, 0.1, 0.4], abs=1e-15)
    assert amounts(result, "pipeline", 1) == [401, 100, 100, 400]


def test_position_based_two_touches_in_proportion_and_one_touch() -> None:
    spec = ModelSpec("position_based", {"first": 0.5, "middle": 0.2, "last": 0.3})
    two = run([touch(1, 1, at(1)), touch(1, 2, at(2))], [opportunity(1, 800, CREATED)], spec)
    # n = 2: first:last = 0.5:0.3 -> 5/8 and 3/8 -> 500 and 300.
    assert fractions(two, "pipeline", 1) == pytest.approx([5 / 8, 3 / 8], abs=1e-15)
    assert amounts(two, "pipeline", 1) == [500, 300]
    one = run([touch(1, 1, at(1))], [opportunity(1, 800, CREATED)], spec)
    assert amounts(one, "pipeline", 1) == [800]


def test_w_shaped_all_milestones_reached() -> None:
    # Lead created at day 25: LC is t2 (day 20), the last touch at or before it.
    # FT t1, LC t2, OC t5 (the last touch at or before created_at): 30% each; t3 and t4 share
    # 10% -> 5% each. 1000 -> 300, 300, 50, 50, 300.
    touches = [touch(1, i, at(10 * i)) for i in range(1, 6)]
    opps = [opportunity(1, 1000, CREATED, lead_created_at=at(25))]
    result = run(touches, opps, "w_shaped")
    assert fractions(result, "pipeline", 1) == pytest.approx([0.3, 0.3, 0.05, 0.05, 0.3])
    assert amounts(result, "pipeline", 1) == [300, 300, 50, 50, 300]


def test_w_shaped_milestone_with_no_touch_before_it() -> None:
    # Lead created before the first touch: LC is unreached and its 30% goes to FT and OC
    # (15% each): 45%, 5%, 5%, 45%.
    touches = [touch(1, i, at(10 * i)) for i in range(1, 5)]
    opps = [opportunity(1, 1000, CREATED, lead_created_at=at(5))]
    assert fractions(run(touches, opps, "w_shaped"), "pipeline", 1) == pytest.approx(
        [0.45, 0.05, 0.05, 0.45]
    )
    # No lead creation time at all: the same.
    opps = [opportunity(1, 1000, CREATED, lead_created_at=None)]
    assert fractions(run(touches, opps, "w_shaped"), "pipeline", 1) == pytest.approx(
        [0.45, 0.05, 0.05, 0.45]
    )


def test_w_shaped_two_touches_no_other_touch() -> None:
    # R12/O04: FT = LC on t1, OC on t2; no "other" touch, so the 10% goes a third to each
    # milestone: t1 = 30 + 30 + 3 1/3 + 3 1/3 = 66 2/3 %, t2 = 33 1/3 %. 22,500.00 -> 1,500,000
    # and 750,000.
    touches = [touch(1, 1, at(10)), touch(1, 2, at(20))]
    opps = [opportunity(1, 2_250_000, CREATED, lead_created_at=at(15))]
    result = run(touches, opps, "w_shaped")
    assert fractions(result, "pipeline", 1) == pytest.approx([2 / 3, 1 / 3], abs=1e-15)
    assert amounts(result, "pipeline", 1) == [1_500_000, 750_000]


def test_full_path_both_stages() -> None:
    # Revenue: t1 FT, t2 LC (lead created day 25), t3 OC (last at or before created_at, day
    # 100), t4 after creation (an "other" touch), t5 the close: 22.5% to each milestone and
    # 10% to t4. 2000 -> 450, 450, 450, 200, 450.
    touches = [
        touch(1, 1, at(10)),
        touch(1, 2, at(20)),
        touch(1, 3, at(30)),
        touch(1, 4, at(110)),
        touch(1, 5, at(120)),
    ]
    opps = [opportunity(1, 2000, CREATED, closed_at=at(130), lead_created_at=at(25))]
    result = run(touches, opps, "full_path")
    assert fractions(result, "revenue", 1) == pytest.approx([0.225, 0.225, 0.225, 0.1, 0.225])
    assert amounts(result, "revenue", 1) == [450, 450, 450, 200, 450]
    # Pipeline: t1..t3 hold FT, LC, OC; the close is not reached (its 22.5% -> 7.5% each) and
    # there is no other touch (its 10% -> 1/30 each): 1/3 each; 2000 -> 667, 667, 666.
    assert fractions(result, "pipeline", 1) == pytest.approx([1 / 3] * 3, abs=1e-15)
    assert amounts(result, "pipeline", 1) == [667, 667, 666]


def test_w_shaped_revenue_touches_after_creation_are_other_touches() -> None:
    # Revenue t1 FT, t2 OC (lead creation unreached: before t1) so FT and OC hold 45% each; t3
    # and t4 (after creation) share 10%.
    touches = [touch(1, 1, at(10)), touch(1, 2, at(20)), touch(1, 3, at(110)), touch(1, 4, at(120))]
    opps = [opportunity(1, 1000, CREATED, closed_at=at(130), lead_created_at=at(1))]
    result = run(touches, opps, "w_shaped")
    assert fractions(result, "revenue", 1) == pytest.approx([0.45, 0.45, 0.05, 0.05])


def test_custom_weights_multipliers_and_zero_fallback() -> None:
    touches = [
        touch(1, 1, at(10), weight=1.0),
        touch(1, 2, at(20), weight=2.0),
        touch(1, 3, at(30), weight=1.0),
    ]
    opps = [opportunity(1, 1000, CREATED)]
    # Weights 1, 2, 1 (sum 4) -> 1/4, 1/2, 1/4.
    assert fractions(run(touches, opps, "custom"), "pipeline", 1) == pytest.approx(
        [0.25, 0.5, 0.25]
    )
    # First x 2 and last x 0: 2, 2, 0 -> 1/2, 1/2, 0.
    spec = ModelSpec("custom", {"position_multipliers": {"first": 2, "middle": 1, "last": 0}})
    assert fractions(run(touches, opps, spec), "pipeline", 1) == pytest.approx([0.5, 0.5, 0])
    # Every weight 0 -> linear.
    zero = [dict(t, weight=0.0) for t in touches]
    assert fractions(run(zero, opps, "custom"), "pipeline", 1) == pytest.approx([1 / 3] * 3)
    # Weights given by activity type override the frame's: forum_question 3 -> all equal.
    spec = ModelSpec("custom", {"weights": {"forum_question": 3}})
    assert fractions(run(touches, opps, spec), "pipeline", 1) == pytest.approx([1 / 3] * 3)


def markov_case() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Three closed journeys over channels support (S) and product (P).

    O1 won: S, P   O2 won: P   O3 lost: S, S (repeats collapse to S)
    """
    touches = [
        touch(1, 1, at(10), "forum_question"),
        touch(1, 2, at(20), "beta_feedback"),
        touch(2, 3, at(10), "beta_feedback"),
        touch(3, 4, at(10), "forum_question"),
        touch(3, 5, at(11), "forum_answer"),
    ]
    opps = [
        opportunity(1, 300, CREATED),
        opportunity(2, 600, CREATED),
        opportunity(3, 500, CREATED, status="lost"),
    ]
    return touches, opps


def test_markov_by_hand() -> None:
    # Transitions: start->S 2/3, start->P 1/3; S->P 1/2, S->null 1/2; P->conversion 1.
    # P(conversion) = 2/3 * 1/2 + 1/3 = 2/3.
    # Without S (start->S goes to null): 1/3 -> RE(S) = (2/3 - 1/3) / (2/3) = 1/2.
    # Without P: 0 -> RE(P) = 1.
    touches, opps = markov_case()
    prepared = prepare(*frames(touches, opps), settings)
    fit = fit_markov(prepared)
    assert fit.conversion_probability == pytest.approx(2 / 3, abs=1e-15)
    assert fit.removal_effects["support"] == pytest.approx(0.5, abs=1e-15)
    assert fit.removal_effects["product"] == pytest.approx(1.0, abs=1e-15)
    assert fit.p_without["support"] == pytest.approx(1 / 3, abs=1e-15)
    result = run(touches, opps, "markov")
    # O1 (S, P): 1/2 : 1 -> 1/3, 2/3 of 300 -> 100, 200.
    assert fractions(result, "revenue", 1) == pytest.approx([1 / 3, 2 / 3], abs=1e-15)
    assert amounts(result, "revenue", 1) == [100, 200]
    # O3 (S, S): one channel, shared equally by its two touches.
    assert fractions(result, "pipeline", 3) == pytest.approx([0.5, 0.5])
    # Global: 2 conversions x (1/2, 1) / (3/2) -> 2/3 and 4/3; value 900 -> 300 and 600.
    assert result.channels is not None
    rows = {r["channel"]: r for r in result.channels.iter_rows(named=True)}
    assert rows["support"]["global_conversions"] == pytest.approx(2 / 3)
    assert rows["product"]["global_conversions"] == pytest.approx(4 / 3)
    assert (rows["support"]["global_value"], rows["product"]["global_value"]) == (300, 600)


def test_markov_order_two() -> None:
    # Order 2 keeps the last two channels: states S, P, S>P. Journeys: S>P won, P won, S lost.
    # start->S 2/3, start->P 1/3, S->S>P 1/2, S->null 1/2, S>P->conv, P->conv: P = 2/3.
    # Removing S removes the states S and S>P: 1/3 -> RE 1/2. Removing P: 0 -> RE 1.
    touches, opps = markov_case()
    prepared = prepare(*frames(touches, opps), settings)
    fit = fit_markov(prepared, order=2)
    assert set(fit.states) >= {"support", "product", "support>product"}
    assert fit.conversion_probability == pytest.approx(2 / 3)
    assert fit.removal_effects["support"] == pytest.approx(0.5)
    assert fit.removal_effects["product"] == pytest.approx(1.0)


def test_shapley_by_hand() -> None:
    # Journey channel sets: {S, P} won, {P} won, {S} lost.
    touches, opps = markov_case()
    prepared = prepare(*frames(touches, opps), settings)
    # conversions: each won journey split equally over its channels: S = 1/2, P = 1/2 + 1.
    conversions = fit_shapley(prepared, characteristic="conversions")
    assert conversions.values["support"] == pytest.approx(0.5)
    assert conversions.values["product"] == pytest.approx(1.5)
    # conversion_rate: v({S}) = 0/1, v({P}) = 1/1, v({S,P}) = 2/3.
    # phi_S = 1/2 (v(S) - 0) + 1/2 (v(SP) - v(P)) = 1/2 * 0 + 1/2 * (2/3 - 1) = -1/6
    # phi_P = 1/2 (1 - 0) + 1/2 (2/3 - 0) = 5/6   (sum 2/3 = v({S,P}))
    rate = fit_shapley(prepared, characteristic="conversion_rate")
    assert rate.values["support"] == pytest.approx(-1 / 6, abs=1e-15)
    assert rate.values["product"] == pytest.approx(5 / 6, abs=1e-15)
    assert rate.coalition_value(["support", "product"]) == pytest.approx(2 / 3)
    assert rate.coalition_value([]) == 0.0
    result = run(touches, opps, ModelSpec("shapley", {"characteristic": "conversion_rate"}))
    # O1 (S, P): S's negative value counts as 0, so P gets everything.
    assert fractions(result, "revenue", 1) == [0.0, 1.0]
    # O3 (S, S): every channel at 0 -> linear.
    assert fractions(result, "pipeline", 3) == pytest.approx([0.5, 0.5])
    result = run(touches, opps, "shapley")
    # conversions: O1 (S, P) -> 1/2 : 3/2 -> 1/4, 3/4 of 300 -> 75, 225.
    assert amounts(result, "revenue", 1) == [75, 225]


def test_program_channel_names_touches_without_program() -> None:
    touches, opps = markov_case()
    touches[0]["program"] = "summit"
    prepared = prepare(*frames(touches, opps), settings)
    fit = fit_markov(prepared, channel="program")
    assert set(fit.channels) == {"summit", "(none)"}


def test_time_decay_tie_at_the_cut_goes_to_the_earlier_touch() -> None:
    # Two touches at one instant have equal weights; with 1 cent left for them it goes to
    # the earlier in touch order: source "bevy" before "discourse".
    touches = [
        touch(1, 2, at(10), source="discourse", external_id="a"),
        touch(1, 1, at(10), source="bevy", external_id="z"),
    ]
    result = run(touches, [opportunity(1, 101, CREATED)], "time_decay")
    assert touch_ids(result, "pipeline", 1) == [1, 2]
    assert amounts(result, "pipeline", 1) == [51, 50]


def test_parameters_are_explicit() -> None:
    result = run(three_touches(), [opportunity(1, 1000, CREATED)], "position_based")
    assert result.parameters["first"] == 0.4
    assert result.parameters["middle"] == 0.2
    assert result.parameters["last"] == 0.4
    assert result.parameters["two_touches"] == "first_and_last_in_proportion"
    assert result.channels is None
    window = timedelta(days=365)
    assert settings.lookback == window
