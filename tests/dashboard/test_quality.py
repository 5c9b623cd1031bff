"""Data quality: the coverage report's figures, the last sync of each connection, failed jobs."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.dashboard.conftest import DemoWorkspace, sign_in

QUERY = {"period": "last_12_months", "model": "linear"}


def test_the_figures_are_the_coverage_reports(app_client: TestClient, demo: DemoWorkspace) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard/quality", params=QUERY)
    assert page.status_code == 200, page.text
    report = app_client.get(
        "/v1/reports/coverage", params=QUERY, headers={"Authorization": f"Bearer {demo.read_key}"}
    ).json()
    assert f'data-figure="members.match_rate" data-value="{report["members"]["match_rate"]}"' in (
        page.text
    )
    assert f'data-figure="contact_role_share" data-value="{report["contact_role_share"]}"' in (
        page.text
    )
    shown = dict(re.findall(r'data-metric="(\w+)" data-value="(\d+)"', page.text))
    for name, value in report["members"].items():
        if name != "match_rate":
            assert shown[name] == str(value), name
    assert shown["opportunities"] == str(report["opportunities"])
    assert shown["with_contact_roles"] == str(report["with_contact_roles"])
    assert "No CRM is connected" in page.text  # the demo's records were imported
    unmatched = app_client.get(
        "/v1/members",
        params={"matched": "unmatched", "limit": 100},
        headers={"Authorization": f"Bearer {demo.read_key}"},
    ).json()
    rows = re.findall(r'<tr data-member="([^"]+)">', page.text)
    assert rows == [member["external_id"] for member in unmatched["items"]]
    assert rows, "the demo has unmatched members"


def test_the_coverage_downloads_as_the_report_endpoints_csv(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    sign_in(app_client, demo.read_key)
    mine = app_client.get("/dashboard/csv/coverage", params=QUERY)
    theirs = app_client.get(
        "/v1/reports/coverage",
        params={**QUERY, "format": "csv"},
        headers={"Authorization": f"Bearer {demo.read_key}"},
    )
    assert mine.status_code == 200
    assert mine.text == theirs.text
