"""Does it work: lift and retention with their intervals, each figure the API's for the same
period and model, each table's CSV the report endpoint's."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.dashboard.conftest import DemoWorkspace, sign_in

QUERY = {"period": "last_12_months", "model": "linear", "band_by": "employees"}


def api(client: TestClient, key: str, path: str, **extra: str) -> Any:
    answer = client.get(path, params={**QUERY, **extra}, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    return answer


def shown(html: str, report: str, *attributes: str) -> list[tuple[str, ...]]:
    table = html[html.index(f'data-report="{report}"') :].split("</table>")[0]
    pattern = r'data-band="([^"]+)" data-group="(\w+)" ' + " ".join(
        f'data-{name}="(-?\\d+)"' for name in attributes
    )
    return re.findall(pattern, table)


def test_the_lift_rows_are_the_apis(app_client: TestClient, demo: DemoWorkspace) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard/impact", params=QUERY)
    assert page.status_code == 200, page.text
    report = api(app_client, demo.read_key, "/v1/reports/lift").json()
    expected = [
        (segment["band"], group, str(segment[group]["opportunities"]), str(segment[group]["won"]))
        for segment in (report["overall"], *report["bands"])
        for group in ("influenced", "not_influenced")
    ]
    assert shown(page.text, "lift", "opportunities", "won") == expected
    difference = report["overall"]["win_rate_difference"]
    assert f'data-figure="lift.win_rate_difference" data-value="{difference}"' in page.text


def test_the_retention_rows_are_the_apis(app_client: TestClient, demo: DemoWorkspace) -> None:
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard/impact", params=QUERY)
    report = api(app_client, demo.read_key, "/v1/reports/retention").json()
    expected = [
        (segment["band"], group, str(segment[group]["accounts"]), str(segment[group]["base_minor"]))
        for segment in (report["overall"], *report["bands"])
        for group in ("engaged", "not_engaged")
    ]
    assert shown(page.text, "retention", "accounts", "base-minor") == expected
    assert any(int(row[3]) > 0 for row in expected), "the demo has renewals"


@pytest.mark.parametrize("report", ["lift", "retention"])
def test_lift_and_retention_download_as_the_report_endpoints_csv(
    app_client: TestClient, demo: DemoWorkspace, report: str
) -> None:
    sign_in(app_client, demo.read_key)
    mine = app_client.get(f"/dashboard/csv/{report}", params=QUERY)
    theirs = api(app_client, demo.read_key, f"/v1/reports/{report}", format="csv")
    assert mine.status_code == 200
    assert mine.text == theirs.text
