"""The Overview page shows the API's own figures for the same period and model."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.dashboard.conftest import DemoWorkspace, sign_in

MEASURES = ("total", "influenced", "sourced", "accelerated", "attributed")


def shown_figures(html: str) -> dict[str, tuple[int, int]]:
    """{"pipeline.total": (amount_minor, opportunities), ...} from the page's figure cards."""
    cards = re.findall(
        r'data-figure="(\w+\.\w+)" data-amount-minor="(-?\d+)" data-opportunities="(\d+)"', html
    )
    return {name: (int(amount), int(count)) for name, amount, count in cards}


def api_figures(summary: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {
        f"{stage}.{measure}": (
            summary[stage][measure]["amount_minor"],
            summary[stage][measure]["opportunities"],
        )
        for stage in ("pipeline", "revenue")
        for measure in MEASURES
    }


def api_get(client: TestClient, key: str, path: str, **params: Any) -> Any:
    answer = client.get(path, params=params, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    return answer


@pytest.mark.parametrize(
    ("query", "model"),
    [({"period": "last_fiscal_year"}, "linear"), ({"period": "this_quarter"}, "first_touch")],
)
def test_the_figures_shown_are_the_apis_for_the_same_period_and_model(
    app_client: TestClient, demo: DemoWorkspace, query: dict[str, str], model: str
) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard", params={**query, "model": model})
    assert page.status_code == 200, page.text
    summary = api_get(app_client, demo.read_key, "/v1/reports/summary", **query, model=model).json()
    shown = shown_figures(page.text)
    assert shown == api_figures(summary)
    assert any(amount > 0 for amount, _ in shown.values()), "the demo should show some money"
    assert f"run {summary['run_id']}" in page.text


def test_the_change_is_against_the_apis_figures_of_the_period_before(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard", params={"from": "2025-04-01", "to": "2025-06-30"})
    before = api_get(
        app_client,
        demo.read_key,
        "/v1/reports/summary",
        **{"from": "2025-01-01", "to": "2025-03-31"},
    ).json()
    table = page.text[page.text.index('id="summary-table"') :]
    amount = before["pipeline"]["total"]["amount_minor"]
    dollars = f"${amount // 100:,}.{amount % 100:02d}"
    row = table[table.index('data-figure="pipeline.total"') :].split("</tr>")[0]
    assert dollars in row, f"the previous quarter's total pipeline {dollars} is not in {row}"


def test_the_trend_table_holds_every_bucket_of_the_apis_timeseries(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    sign_in(app_client, demo.read_key)
    query = {"period": "last_fiscal_year", "interval": "fiscal_quarter"}
    page = app_client.get("/dashboard", params=query)
    series = api_get(app_client, demo.read_key, "/v1/reports/timeseries", **query).json()
    buckets = re.findall(r'<tr data-bucket="([^"]+)">', page.text)
    expected = [row["bucket"] for row in series["rows"]]
    assert buckets == expected * 2  # one table per stage
    assert len(expected) == 4


@pytest.mark.parametrize("report", ["summary", "timeseries"])
def test_the_csv_download_is_the_report_endpoints_csv(
    app_client: TestClient, demo: DemoWorkspace, report: str
) -> None:
    sign_in(app_client, demo.read_key)
    query = {"period": "last_quarter", "model": "first_touch"}
    mine = app_client.get(f"/dashboard/csv/{report}", params=query)
    theirs = api_get(app_client, demo.read_key, f"/v1/reports/{report}", **query, format="csv")
    assert mine.status_code == 200
    assert mine.headers["content-type"].startswith("text/csv")
    assert mine.text == theirs.text
    assert "attachment" in mine.headers["content-disposition"]


def test_amounts_follow_the_readers_locale(app_client: TestClient, demo: DemoWorkspace) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get(
        "/dashboard", params={"period": "last_fiscal_year"}, headers={"Accept-Language": "de-DE"}
    )
    assert '<html lang="de-DE">' in page.text
    assert re.search(r"\d\.\d{3},\d{2}\s\$", page.text), "German grouping and decimals expected"


def test_an_unknown_model_is_a_page_saying_so(app_client: TestClient, demo: DemoWorkspace) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard", params={"model": "markov"})
    assert page.status_code == 404
    assert "no successful attribution run of model &#39;markov&#39;" in page.text
