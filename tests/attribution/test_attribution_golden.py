"""The engine against the golden dataset (tests/fixtures/golden, README R1..R24)."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from typing import Any

import polars as pl
import pytest

from attribution import (
    CATEGORIES,
    AttributionResult,
    ModelSpec,
    PreparedJourneys,
    attribute,
    fit_markov,
    fit_shapley,
)
from tests.attribution.golden_frames import Golden

GOLDEN_SPECS = {
    "first_touch": ModelSpec("first_touch"),
    "last_touch": ModelSpec("last_touch"),
    "linear": ModelSpec("linear"),
    "time_decay": ModelSpec("time_decay", {"half_life_days": 7}),
    "position_based": ModelSpec("position_based", {"first": 0.4, "middle": 0.2, "last": 0.4}),
    "w_shaped": ModelSpec("w_shaped"),
    "full_path": ModelSpec("full_path"),
    "custom": ModelSpec("custom"),
    "markov": ModelSpec("markov", {"order": 1, "channel": "category"}),
    "shapley_conversions": ModelSpec("shapley", {"characteristic": "conversions"}),
    "shapley_conversion_rate": ModelSpec("shapley", {"characteristic": "conversion_rate"}),
}


def exact(text: str) -> float:
    """A golden fraction ("p/q", an integer or a 12-digit decimal) as a float."""
    return float(Fraction(text))


@pytest.fixture(scope="module")
def results(golden_prepared: PreparedJourneys) -> dict[str, AttributionResult]:
    return {name: attribute(golden_prepared, spec) for name, spec in GOLDEN_SPECS.items()}


def test_every_golden_model_is_covered(golden_data: Golden) -> None:
    assert set(golden_data.expected["model_names"]) == set(GOLDEN_SPECS)


def test_dropped_touches_are_in_the_input(golden_data: Golden) -> None:
    ids = set(golden_data.touches["touch_id"].to_list())
    for key in (
        "discourse/dsc-1015",  # duplicate of dsc-1014
        "discourse/dsc-1013",  # staff
        "bevy/ev-3004",  # staff
        "discourse/dsc-1009",  # one second before O05's window
        "discourse/dsc-1019",  # after O10's close
        "advocacy_hub/adv-5004",  # after O04's close
    ):
        assert golden_data.touch_ids[key] in ids
    # O03's touches reach it through two contact records, and count once.
    o03 = golden_data.touches.filter(pl.col("opportunity_id") == 3)
    assert o03.height > o03["touch_id"].n_unique()


def test_prepare_counts_duplicates_and_staff(golden_prepared: PreparedJourneys) -> None:
    assert golden_prepared.stats["duplicates_dropped"] == 1
    assert golden_prepared.stats["staff_excluded"] == 2


def test_flags(golden_data: Golden, golden_prepared: PreparedJourneys) -> None:
    flags = {row["opportunity_id"]: row for row in golden_prepared.flags.iter_rows(named=True)}
    assert len(flags) == len(golden_data.expected["opportunities"])
    for key, opp in golden_data.expected["opportunities"].items():
        row = flags[golden_data.opportunity_ids[key]]
        revenue = opp["stages"]["revenue"]
        assert row["pipeline_influenced"] is opp["stages"]["pipeline"]["influenced"], key
        assert row["revenue_influenced"] is (revenue is not None and revenue["influenced"]), key
        assert row["sourced"] is opp["sourced"], key
        assert row["accelerated"] is opp["accelerated"], key


@pytest.mark.parametrize("model", list(GOLDEN_SPECS))
def test_per_touch_fractions_and_cents(
    model: str, golden_data: Golden, results: dict[str, AttributionResult]
) -> None:
    credits = results[model].credits
    checked = 0
    for key, opp in golden_data.expected["opportunities"].items():
        opp_id = golden_data.opportunity_ids[key]
        for stage in ("pipeline", "revenue"):
            rows = credits.filter((pl.col("stage") == stage) & (pl.col("opportunity_id") == opp_id))
            expected_stage = opp["stages"][stage]
            if expected_stage is None:
                assert rows.height == 0, (key, stage)
                continue
            expected = expected_stage["models"][model]["credits"]
            assert [golden_data.touch_key(t) for t in rows["touch_id"]] == [
                c["touch"] for c in expected
            ], (key, stage)
            for got, want in zip(rows.iter_rows(named=True), expected, strict=True):
                assert got["fraction"] == pytest.approx(exact(want["fraction"]), abs=1e-12), (
                    key,
                    stage,
                    want["touch"],
                )
                assert got["amount"] == want["cents"], (key, stage, want["touch"])
                checked += 1
    assert checked == credits.height


def test_stage_touch_lists_and_milestones(golden_data: Golden, results: dict[str, Any]) -> None:
    credits = results["linear"].credits
    for key, opp in golden_data.expected["opportunities"].items():
        for stage in ("pipeline", "revenue"):
            expected = opp["stages"][stage]
            if expected is None:
                continue
            got = credits.filter(
                (pl.col("stage") == stage)
                & (pl.col("opportunity_id") == golden_data.opportunity_ids[key])
            )
            assert [golden_data.touch_key(t) for t in got["touch_id"]] == [
                t["touch"] for t in expected["touches"]
            ]


def test_markov_fit(golden_prepared: PreparedJourneys, golden_data: Golden) -> None:
    expected = golden_data.expected["markov"]
    fit = fit_markov(golden_prepared, channel="category", order=1)
    assert fit.journeys == len(expected["journeys"])
    got = {
        (row["from_state"], row["to_state"]): row["probability"]
        for row in fit.transitions.iter_rows(named=True)
    }
    want = {
        (source, target): exact(p)
        for source, targets in expected["transition_probabilities"].items()
        for target, p in targets.items()
    }
    assert got.keys() == want.keys()
    for edge, probability in want.items():
        assert got[edge] == pytest.approx(probability, abs=1e-15)
    assert fit.conversion_probability == pytest.approx(exact("7/9"), abs=1e-14)
    for channel, removal in expected["removal"].items():
        assert fit.p_without[channel] == pytest.approx(exact(removal["p_without"]), abs=1e-14)
        assert fit.removal_effects[channel] == pytest.approx(
            exact(removal["removal_effect"]), abs=1e-14
        )


def test_markov_global_allocation(
    golden_data: Golden, results: dict[str, AttributionResult]
) -> None:
    expected = golden_data.expected["markov"]["global"]
    channels = results["markov"].channels
    assert channels is not None
    assert channels["channel"].to_list() == list(CATEGORIES)
    rows = {row["channel"]: row for row in channels.iter_rows(named=True)}
    assert sum(channels["global_value"]) == int(expected["total_value_usd_cents"])
    for channel in CATEGORIES:
        assert rows[channel]["global_conversions"] == pytest.approx(
            exact(expected["conversions"][channel]), abs=1e-12
        )
        assert rows[channel]["global_value"] == expected["value_usd_cents"][channel]


@pytest.mark.parametrize("characteristic", ["conversions", "conversion_rate"])
def test_shapley_values_and_coalitions(
    characteristic: str, golden_prepared: PreparedJourneys, golden_data: Golden
) -> None:
    expected = golden_data.expected["shapley"][characteristic]
    fit = fit_shapley(golden_prepared, channel="category", characteristic=characteristic)
    for channel, value in expected["values"].items():
        assert fit.values[channel] == pytest.approx(exact(value), abs=1e-13)
    coalitions = expected["coalition_values"]
    assert len(coalitions) == 2 ** len(CATEGORIES)
    for size in range(len(CATEGORIES) + 1):
        for members in combinations(CATEGORIES, size):
            label = "+".join(members) if members else "(empty)"
            assert fit.coalition_value(members) == pytest.approx(
                exact(coalitions[label]), abs=1e-14
            ), label


def test_time_decay_tie_goes_to_the_earlier_touch(
    golden_data: Golden, results: dict[str, AttributionResult]
) -> None:
    # O07 revenue: bevy/ev-7730 and discourse/dsc-0100 share an instant, so their weights
    # are equal; the cut falls between them and the earlier (by source) gets the cent.
    rows = results["time_decay"].credits.filter(
        (pl.col("stage") == "revenue") & (pl.col("opportunity_id") == 7)
    )
    by_key = {golden_data.touch_key(r["touch_id"]): r for r in rows.iter_rows(named=True)}
    assert by_key["bevy/ev-7730"]["fraction"] == by_key["discourse/dsc-0100"]["fraction"]
    assert by_key["bevy/ev-7730"]["amount"] == 122_524
    assert by_key["discourse/dsc-0100"]["amount"] == 122_523
