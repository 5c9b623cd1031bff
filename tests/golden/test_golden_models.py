"""Every model, run through the service on the golden dataset, gives exactly expected.json:
every fraction (to 1e-12), every cent, every summary figure, removal effect and Shapley value."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from tests.conftest import Api
from tests.golden import loader

# expected.json's model names, as (service model, parameters)
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "first_touch": ("first_touch", {}),
    "last_touch": ("last_touch", {}),
    "linear": ("linear", {}),
    "time_decay": ("time_decay", {"half_life_days": 7}),
    "position_based": ("position_based", {"first": 0.4, "middle": 0.2, "last": 0.4}),
    "w_shaped": ("w_shaped", {}),
    "full_path": ("full_path", {}),
    "custom": ("custom", {}),
    "markov": ("markov", {"order": 1, "channel": "category"}),
    "shapley_conversions": ("shapley", {"channel": "category", "characteristic": "conversions"}),
    "shapley_conversion_rate": (
        "shapley",
        {"channel": "category", "characteristic": "conversion_rate"},
    ),
}


@pytest.fixture(scope="module")
def golden_api(client_module: Api) -> Api:
    loader.load(client_module)
    return client_module


def _expected_credits(model: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {
        (opportunity, stage, credit["touch"]): credit
        for opportunity, details in loader.expected()["opportunities"].items()
        for stage, stage_details in details["stages"].items()
        if stage_details is not None
        for credit in stage_details["models"][model]["credits"]
    }


@pytest.mark.parametrize("model", list(MODELS))
def test_every_credit_matches(golden_api: Api, model: str) -> None:
    name, parameters = MODELS[model]
    run = loader.run(golden_api, name, parameters)
    got = {
        (
            c["opportunity_external_id"],
            c["stage"],
            f"{c['touchpoint_source']}/{c['touchpoint_external_id']}",
        ): c
        for c in loader.all_pages(golden_api, f"/v1/attribution-runs/{run['id']}/credits")
    }
    want = _expected_credits(model)
    assert sorted(got) == sorted(want)
    for key, credit in want.items():
        assert got[key]["amount_minor"] == credit["cents"], key
        assert got[key]["fraction"] == pytest.approx(credit["fraction_float"], abs=1e-12), key

    summary = golden_api.get(
        "/v1/reports/summary",
        params={**loader.expected()["summary"]["period"], "run": run["id"]},
    ).json()
    programs = golden_api.get(
        "/v1/reports/by-program",
        params={**loader.expected()["summary"]["period"], "run": run["id"]},
    ).json()["rows"]
    got_programs = {row["key"]: row for row in programs}
    for program, want_program in loader.expected()["summary"]["programs_revenue"][model].items():
        got_program = got_programs[program]
        assert (got_program["cost_minor"], got_program["revenue_attributed_minor"]) == (
            want_program["cost_usd_cents"],
            want_program["attributed_revenue_usd_cents"],
        ), program
        assert got_program["roi"] == pytest.approx(want_program["roi_float"], abs=1e-12)
        assert got_program["revenue_multiple"] == pytest.approx(
            want_program["revenue_multiple_float"], abs=1e-12
        )

    for stage in ("pipeline", "revenue"):
        want_figure = loader.expected()["summary"][stage]["attributed"][model]
        got_figure = summary[stage]["attributed"]
        assert (got_figure["amount_minor"], got_figure["opportunities"]) == (
            want_figure["usd_cents"],
            want_figure["opportunities"],
        ), stage


def test_markov_removal_effects_and_global_allocation(golden_api: Api) -> None:
    run = loader.run(golden_api, "markov", {"order": 1, "channel": "category"})
    channels = {c["channel"]: c for c in run["channel_summary"]["channels"]}
    expected = loader.expected()["markov"]
    assert sorted(channels) == sorted(expected["removal"])
    for channel, want in expected["removal"].items():
        assert channels[channel]["removal_effect"] == pytest.approx(
            float(Fraction(want["removal_effect"])), abs=1e-12
        ), channel
        assert channels[channel]["global_conversions"] == pytest.approx(
            float(Fraction(expected["global"]["conversions"][channel])), abs=1e-12
        ), channel
        assert channels[channel]["global_value"] == int(
            expected["global"]["value_usd_cents"][channel]
        )


@pytest.mark.parametrize("characteristic", ["conversions", "conversion_rate"])
def test_shapley_values(golden_api: Api, characteristic: str) -> None:
    run = loader.run(
        golden_api, "shapley", {"channel": "category", "characteristic": characteristic}
    )
    channels = {c["channel"]: c for c in run["channel_summary"]["channels"]}
    expected = loader.expected()["shapley"][characteristic]["values"]
    assert sorted(channels) == sorted(expected)
    for channel, value in expected.items():
        assert channels[channel]["shapley_value"] == pytest.approx(
            float(Fraction(value)), abs=1e-12
        ), channel
