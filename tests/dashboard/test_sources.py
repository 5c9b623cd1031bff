"""Where it comes from: SPACES categories, activity types, programs and every model, each row the
API's for the same period and model, each table's CSV the report endpoint's."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.dashboard.conftest import DemoWorkspace, sign_in

QUERY = {"period": "last_fiscal_year", "model": "first_touch"}


def table_rows(html: str, report: str) -> list[tuple[str, int, int]]:
    """(key, attributed pipeline, attributed revenue) of each row of a page's table."""
    table = html[html.index(f'data-report="{report}"') :].split("</table>")[0]
    found = re.findall(
        r'data-key="([^"]+)" data-pipeline-attributed-minor="(\d+)" '
        r'data-revenue-attributed-minor="(\d+)"',
        table,
    )
    return [(key, int(pipeline), int(revenue)) for key, pipeline, revenue in found]


def api(client: TestClient, key: str, path: str) -> Any:
    answer = client.get(path, params=QUERY, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    return answer


@pytest.mark.parametrize("dimension", ["category", "activity-type"])
def test_each_breakdown_row_is_the_apis(
    app_client: TestClient, demo: DemoWorkspace, dimension: str
) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard/sources", params=QUERY)
    assert page.status_code == 200, page.text
    report = api(app_client, demo.read_key, f"/v1/reports/by-{dimension}").json()
    expected = [
        (row["key"], row["pipeline_attributed_minor"], row["revenue_attributed_minor"])
        for row in report["rows"]
    ]
    assert table_rows(page.text, f"by-{dimension}") == expected
    assert any(revenue for _, _, revenue in expected)


def test_the_models_side_by_side_are_the_apis_comparison(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard/sources", params=QUERY)
    report = api(app_client, demo.read_key, "/v1/reports/models/compare").json()
    expected = [
        (row["model"], row["pipeline_attributed_minor"], row["revenue_attributed_minor"])
        for row in report["rows"]
    ]
    assert table_rows(page.text, "models-compare") == expected
    assert [model for model, _, _ in expected] == ["first_touch", "linear"]


def test_programs_show_cost_beside_revenue(app_client: TestClient, demo: DemoWorkspace) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard/sources", params=QUERY)
    report = api(app_client, demo.read_key, "/v1/reports/by-program").json()
    table = page.text[page.text.index('data-report="by-program"') :].split("</table>")[0]
    shown = re.findall(
        r'data-key="([^"]+)" data-revenue-attributed-minor="(\d+)" data-cost-minor="(\d*)"', table
    )
    assert shown == [
        (row["key"], str(row["revenue_attributed_minor"]), str(row["cost_minor"] or ""))
        for row in report["rows"]
    ]
    assert shown, "the demo has programs"


@pytest.mark.parametrize(
    ("report", "path"),
    [
        ("by-category", "/v1/reports/by-category"),
        ("by-activity-type", "/v1/reports/by-activity-type"),
        ("by-program", "/v1/reports/by-program"),
        ("models-compare", "/v1/reports/models/compare"),
    ],
)
def test_every_table_downloads_as_the_report_endpoints_csv(
    app_client: TestClient, demo: DemoWorkspace, report: str, path: str
) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard/sources", params=QUERY)
    assert f'href="/dashboard/csv/{report}?' in page.text
    mine = app_client.get(f"/dashboard/csv/{report}", params=QUERY)
    theirs = app_client.get(
        path,
        params={**QUERY, "format": "csv"},
        headers={"Authorization": f"Bearer {demo.read_key}"},
    )
    assert mine.status_code == 200
    assert mine.text == theirs.text
