"""The golden dataset, loaded through the API, gives exactly expected.json's linear results."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.conftest import Api
from tests.golden import loader

MODEL = "linear"


@pytest.fixture
def golden_run(api: Api) -> int:
    loader.load(api)
    return int(loader.run(api, MODEL)["id"])


def test_linear_credits_equal_the_golden_credits_to_the_cent(api: Api, golden_run: int) -> None:
    got = {
        (
            c["opportunity_external_id"],
            c["stage"],
            f"{c['touchpoint_source']}/{c['touchpoint_external_id']}",
        ): c
        for c in loader.all_pages(api, f"/v1/attribution-runs/{golden_run}/credits")
        if c["fraction"] > 0
    }
    want = {
        (opportunity, stage, credit["touch"]): credit
        for opportunity, details in loader.expected()["opportunities"].items()
        for stage, stage_details in details["stages"].items()
        if stage_details is not None
        for credit in stage_details["models"][MODEL]["credits"]
        if Fraction(credit["fraction"]) > 0
    }
    assert sorted(got) == sorted(want)
    for key, credit in want.items():
        assert got[key]["amount_minor"] == credit["cents"], key
        assert got[key]["fraction"] == pytest.approx(float(Fraction(credit["fraction"])), abs=1e-12)


def test_flags_equal_the_golden_flags(api: Api, golden_run: int) -> None:
    got = {
        o["external_id"]: o
        for o in loader.all_pages(api, f"/v1/attribution-runs/{golden_run}/opportunities")
    }
    expected = loader.expected()["opportunities"]
    assert sorted(got) == sorted(expected)
    for external_id, details in expected.items():
        stages = details["stages"]
        assert got[external_id]["sourced"] is details["sourced"], external_id
        assert got[external_id]["accelerated"] is details["accelerated"], external_id
        assert got[external_id]["pipeline_influenced"] is stages["pipeline"]["influenced"], (
            external_id
        )
        revenue_influenced = bool(stages["revenue"] and stages["revenue"]["influenced"])
        assert got[external_id]["revenue_influenced"] is revenue_influenced, external_id


def test_summary_equals_the_golden_summary(api: Api, golden_run: int) -> None:
    expected = loader.expected()["summary"]
    response = api.get(
        "/v1/reports/summary",
        params={
            "from": expected["period"]["from"],
            "to": expected["period"]["to"],
            "run": golden_run,
        },
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    for stage in ("pipeline", "revenue"):
        for figure in ("total", "influenced", "sourced", "accelerated"):
            got = summary[stage][figure]
            want = expected[stage][figure]
            assert (got["amount_minor"], got["opportunities"]) == (
                want["usd_cents"],
                want["opportunities"],
            ), (stage, figure)
        attributed = expected[stage]["attributed"][MODEL]
        got = summary[stage]["attributed"]
        assert (got["amount_minor"], got["opportunities"]) == (
            attributed["usd_cents"],
            attributed["opportunities"],
        ), stage
