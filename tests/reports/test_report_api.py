"""The report endpoints on the golden dataset: filters, breakdowns, time buckets, CSV and ETags."""

from __future__ import annotations

import csv
import io
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


def report(api: Api, name: str, **params: Any) -> Any:
    response = api.get(f"/v1/reports/{name}", params={**PERIOD, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_type_filter_keeps_only_that_type(golden: Api) -> None:
    # expansion: O02 15,000.00 + O06 (no amount) + O08 8,000.00 + O11 12,000.00, all USD
    pipeline = report(golden, "summary", type="expansion")["pipeline"]
    assert (pipeline["total"]["amount_minor"], pipeline["total"]["opportunities"]) == (3_500_000, 4)


def test_an_account_filter_keeps_only_its_opportunities(golden: Api) -> None:
    # Globex: O01 48,000.00 + O02 15,000.00 + O12 9,500.00
    pipeline = report(golden, "summary", account="001-GLOBEX")["pipeline"]
    assert (pipeline["total"]["amount_minor"], pipeline["total"]["opportunities"]) == (7_250_000, 3)


def test_an_amount_range_is_in_the_reporting_currency(golden: Api) -> None:
    # O09 is 25,000.00 EUR = 27,245.00 USD at creation: inside 27,000-28,000 USD
    pipeline = report(golden, "summary", amount_min="27000", amount_max="28000")["pipeline"]
    assert (pipeline["total"]["amount_minor"], pipeline["total"]["opportunities"]) == (2_724_500, 1)


def test_category_credits_add_up_to_the_attributed_figure(golden: Api) -> None:
    rows = report(golden, "by-category", type="expansion")["rows"]
    summary = report(golden, "summary", type="expansion")
    community = [row for row in rows if row["key"] != "marketing"]
    for stage in ("pipeline", "revenue"):
        assert (
            sum(row[f"{stage}_attributed_minor"] for row in community)
            == (summary[stage]["attributed"]["amount_minor"])
        )


def test_influenced_columns_are_marked_non_additive(golden: Api) -> None:
    breakdown = report(golden, "by-activity-type")
    assert breakdown["non_additive_columns"] == [
        "pipeline_influenced_minor",
        "pipeline_influenced_opportunities",
        "revenue_influenced_minor",
        "revenue_influenced_opportunities",
    ]
    # an opportunity touched by several types counts under each: the column sums past the total
    total = report(golden, "summary")["pipeline"]["influenced"]["amount_minor"]
    assert (
        sum(
            r["pipeline_influenced_minor"]
            for r in breakdown["rows"]
            if r["category"] != "marketing"
        )
        > total
    )


def test_community_and_marketing_channels_split_every_credited_cent(golden: Api) -> None:
    rows = {row["key"]: row for row in report(golden, "by-channel", type="expansion")["rows"]}
    # expansion pipeline with touches: O02 15,000.00 + O06 0 + O11 12,000.00 (O08 has none)
    assert (
        rows["community"]["pipeline_attributed_minor"]
        + rows["marketing"]["pipeline_attributed_minor"]
        == 2_700_000
    )


def test_fiscal_quarters_follow_the_fiscal_year(golden: Api) -> None:
    series = report(golden, "timeseries", interval="fiscal_quarter")
    assert [row["bucket"] for row in series["rows"]] == [
        "FY2025-Q3",
        "FY2025-Q4",
        "FY2026-Q1",
        "FY2026-Q2",
        "FY2026-Q3",
    ]
    summary = report(golden, "summary")
    for stage in ("pipeline", "revenue"):
        assert (
            sum(r[f"{stage}_total_minor"] for r in series["rows"])
            == summary[stage]["total"]["amount_minor"]
        )
        assert (
            sum(r[f"{stage}_opportunities"] for r in series["rows"])
            == summary[stage]["total"]["opportunities"]
        )


def test_accounts_report_their_pipeline(golden: Api) -> None:
    rows = {row["account_external_id"]: row for row in report(golden, "by-account")["rows"]}
    assert (
        rows["001-GLOBEX"]["pipeline_total_minor"],
        rows["001-GLOBEX"]["pipeline_opportunities"],
    ) == (
        7_250_000,
        3,
    )
    assert rows["001-GLOBEX"]["account_name"] == "Globex Corporation"


def test_csv_is_a_flat_table_with_stable_columns(golden: Api) -> None:
    response = golden.get("/v1/reports/summary", params={**PERIOD, "format": "csv"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert list(table[0]) == [
        "run_id",
        "model",
        "currency",
        "from",
        "to",
        "stage",
        "measure",
        "amount_minor",
        "opportunities",
    ]
    assert {(r["stage"], r["measure"], r["amount_minor"]) for r in table} >= {
        ("pipeline", "total", "25544501"),
        ("revenue", "attributed", "14942661"),
    }


def test_accept_text_csv_asks_for_csv(golden: Api) -> None:
    response = golden.client.get(
        "/v1/reports/by-category", params=PERIOD, headers={**golden.headers, "Accept": "text/csv"}
    )
    assert response.text.splitlines()[0].startswith(
        "run_id,model,currency,from,to,key,name,category,"
    )


def test_an_unchanged_report_answers_304_to_its_etag(golden: Api) -> None:
    first = golden.get("/v1/reports/summary", params=PERIOD)
    again = golden.client.get(
        "/v1/reports/summary",
        params=PERIOD,
        headers={**golden.headers, "If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304


def test_a_period_ending_before_it_starts_is_rejected(golden: Api) -> None:
    response = golden.get("/v1/reports/summary", params={"from": "2025-02-01", "to": "2025-01-01"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "to"]


def _all_opportunities(api: Api, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = "0"
    while cursor is not None:
        page = report(api, "opportunities", cursor=cursor, limit=5, **params)
        items += page["items"]
        cursor = page["next_cursor"]
    return items


def test_opportunities_page_through_every_one_of_the_period(golden: Api) -> None:
    pipeline = _all_opportunities(golden)
    assert sorted(o["external_id"] for o in pipeline) == [f"006-O{n:02d}" for n in range(1, 13)]
    o09 = next(o for o in pipeline if o["external_id"] == "006-O09")
    assert (o09["currency"], o09["amount_minor"], o09["amount_reporting_minor"]) == (
        "EUR",
        2_500_000,
        2_724_500,
    )
    revenue = _all_opportunities(golden, basis="revenue")
    assert len(revenue) == 7 and all(o["is_won"] for o in revenue)


def test_a_journey_lists_each_stage_touches_with_their_credit(golden: Api) -> None:
    o01 = next(o for o in _all_opportunities(golden) if o["external_id"] == "006-O01")
    journey = golden.get(f"/v1/reports/opportunities/{o01['id']}/journey").json()
    expected = loader.expected()["opportunities"]["006-O01"]["stages"]
    for stage in ("pipeline", "revenue"):
        assert [
            (f"{t['touchpoint_source']}/{t['touchpoint_external_id']}", t["credit_minor"])
            for t in journey[stage]
        ] == [(c["touch"], c["cents"]) for c in expected[stage]["models"]["linear"]["credits"]]
    assert journey["pipeline"][0]["person"] == "member:mem-alice"
    assert journey["pipeline"][1]["person"] == "contact:003-ALICE"


def test_models_compare_side_by_side(golden: Api) -> None:
    loader.run(golden, "first_touch")
    rows = {row["model"]: row for row in report(golden, "models/compare")["rows"]}
    attributed = loader.expected()["summary"]["pipeline"]["attributed"]
    assert {model: row["pipeline_attributed_minor"] for model, row in rows.items()} == {
        "first_touch": attributed["first_touch"]["usd_cents"],
        "linear": attributed["linear"]["usd_cents"],
    }
