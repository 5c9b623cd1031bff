"""Period presets, clipped buckets, program ROI beside its lifetime and prorated figures, and
``sort``, on the golden dataset (fiscal year from February, America/New_York; the test clock
reads 2025-09-30 local)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.golden import loader

PERIOD = {"from": "2024-10-31", "to": "2025-09-12"}


@pytest.fixture(scope="module")
def golden(client_module: Api) -> Api:
    loader.load(client_module)
    loader.run(client_module, "linear")
    return client_module


def get(api: Api, name: str, **params: Any) -> Any:
    return api.get(f"/v1/reports/{name}", params=params)


def ok(api: Api, name: str, **params: Any) -> Any:
    response = get(api, name, **params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("preset", "first", "last"),
    [
        ("this_quarter", "2025-08-01", "2025-10-31"),  # FY2026-Q3: Aug-Oct
        ("last_quarter", "2025-05-01", "2025-07-31"),
        ("this_fiscal_year", "2025-02-01", "2026-01-31"),  # FY2026
        ("last_fiscal_year", "2024-02-01", "2025-01-31"),
        ("last_12_months", "2024-10-01", "2025-09-30"),
    ],
)
def test_period_presets_are_fiscal_and_local(
    golden: Api, preset: str, first: str, last: str
) -> None:
    by_name = ok(golden, "summary", period=preset)
    assert (by_name["from"], by_name["to"]) == (first, last)
    by_dates = ok(golden, "summary", **{"from": first, "to": last})
    assert by_name == by_dates


def test_a_period_and_dates_together_or_neither_are_errors(golden: Api) -> None:
    both = get(golden, "summary", period="this_quarter", **PERIOD)
    assert both.status_code == 422
    assert both.json()["detail"][0]["loc"] == ["query", "period"]
    neither = get(golden, "summary")
    assert neither.status_code == 422
    assert neither.json()["detail"][0]["loc"] == ["query", "from"]
    unknown = get(golden, "summary", period="this_quater")
    assert unknown.status_code == 422


def test_buckets_cut_by_the_period_show_their_own_dates(golden: Api) -> None:
    rows = ok(golden, "timeseries", interval="fiscal_quarter", **PERIOD)["rows"]
    first, last = rows[0], rows[-1]
    assert (first["bucket"], first["bucket_start"], first["bucket_end"]) == (
        "FY2025-Q3",
        "2024-10-31",
        "2024-10-31",
    )
    assert (last["bucket"], last["bucket_start"], last["bucket_end"]) == (
        "FY2026-Q3",
        "2025-08-01",
        "2025-09-12",
    )
    assert rows[1]["bucket_start"] == "2024-11-01"  # whole buckets stay whole


def _programs(api: Api, **period: str) -> dict[str, Any]:
    return {row["key"]: row for row in ok(api, "by-program", **period)["rows"]}


def test_program_roi_keeps_todays_figure_and_adds_lifetime_and_prorated(golden: Api) -> None:
    rows = _programs(golden, **PERIOD)
    summit, user_group = rows["prg-summit-2024"], rows["prg-ug-2025"]
    # Today's figure (the golden fixture pins it): the period's revenue against the whole cost.
    assert (summit["revenue_attributed_minor"], summit["cost_minor"]) == (1_088_524, 1_200_000)
    assert summit["roi"] == pytest.approx(-27869 / 300000)
    # The summit (2024-09-10..12) has no day in the period: no prorated cost, no prorated ROI.
    assert summit["prorated_cost_minor"] == 0
    assert summit["prorated_roi"] is None
    # The user groups (2025-01-01..06-30, 181 days) lie inside it: prorated = whole.
    assert user_group["prorated_cost_minor"] == 450_000
    assert user_group["prorated_roi"] == pytest.approx(user_group["roi"])
    # Lifetime: every revenue credit of the program's touches; here every close is in period.
    assert summit["lifetime_revenue_attributed_minor"] == 1_088_524
    assert summit["lifetime_roi"] == pytest.approx(summit["roi"])


def test_one_month_of_revenue_is_not_set_against_a_whole_years_cost(golden: Api) -> None:
    # May 2025: 31 of the user groups' 181 days -> 4,500.00 x 31/181 = 770.72 (77,071.8 cents).
    may = _programs(golden, **{"from": "2025-05-01", "to": "2025-05-31"})["prg-ug-2025"]
    assert may["prorated_cost_minor"] == 77_072
    assert may["cost_minor"] == 450_000
    if may["revenue_attributed_minor"]:
        assert may["prorated_roi"] == pytest.approx(
            (may["revenue_attributed_minor"] - 77_072) / 77_072
        )
    # Its lifetime figures do not depend on the period.
    whole = _programs(golden, **PERIOD)["prg-ug-2025"]
    assert may["lifetime_revenue_attributed_minor"] == whole["lifetime_revenue_attributed_minor"]
    assert may["lifetime_roi"] == pytest.approx(whole["lifetime_roi"])


def test_an_undated_programs_cost_converts_at_the_periods_end(golden: Api) -> None:
    # EUR->USD is 1.0479 for December 2024 in the golden rates; no rate exists for today's date,
    # and the report must not depend on the day it is asked.
    created = golden.put(
        "/v1/programs/prg-undated", json={"name": "Undated", "cost": "1000.00", "currency": "EUR"}
    )
    assert created.status_code in (200, 201), created.text
    try:
        row = _programs(golden, **{"from": "2024-12-01", "to": "2024-12-31"})["prg-undated"]
        assert row["cost_minor"] == 104_790
    finally:
        assert golden.delete("/v1/programs/prg-undated").status_code == 204


@pytest.mark.parametrize(
    "name", ["by-activity-type", "by-category", "by-program", "by-channel", "by-account"]
)
def test_every_breakdown_sorts(golden: Api, name: str) -> None:
    column = "pipeline_total_minor" if name == "by-account" else "pipeline_attributed_minor"
    rows = ok(golden, name, sort=f"-{column}", **PERIOD)["rows"]
    values = [row[column] for row in rows]
    assert values == sorted(values, reverse=True)
    rows = ok(golden, name, sort=column, **PERIOD)["rows"]
    assert [row[column] for row in rows] == sorted(values)
    wrong = get(golden, name, sort=column[:-2], **PERIOD)
    assert wrong.status_code == 422
    [error] = wrong.json()["detail"]
    assert error["loc"] == ["query", "sort"]
    assert f"did you mean '{column}'" in error["msg"]


def test_a_journey_by_crm_id_is_the_journey_by_internal_id(golden: Api) -> None:
    by_crm = golden.get("/v1/reports/opportunities/by-crm-id/006-O01/journey")
    assert by_crm.status_code == 200, by_crm.text
    internal = by_crm.json()["opportunity"]["id"]
    assert by_crm.json() == golden.get(f"/v1/reports/opportunities/{internal}/journey").json()
    assert by_crm.json()["opportunity"]["external_id"] == "006-O01"
    with_source = golden.get(
        "/v1/reports/opportunities/by-crm-id/006-O01/journey", params={"source": "salesforce"}
    )
    assert with_source.json() == by_crm.json()
    missing = golden.get("/v1/reports/opportunities/by-crm-id/006-NOPE/journey")
    assert missing.status_code == 404
