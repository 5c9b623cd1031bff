"""One deal: found by CRM id or name, its journey as the journey report gives it, every model's
credit of each touch side by side."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.dashboard.conftest import DemoWorkspace, sign_in


def api(client: TestClient, key: str, path: str, **params: Any) -> Any:
    answer = client.get(path, params=params, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def a_touched_won_deal(client: TestClient, demo: DemoWorkspace) -> dict[str, Any]:
    page = api(
        client, demo.read_key, "/v1/reports/opportunities", period="last_12_months", basis="revenue"
    )
    return next(row for row in page["items"] if row["revenue_attributed_minor"] > 0)


def test_a_crm_id_finds_the_deal_and_its_journey_is_the_apis(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    deal = a_touched_won_deal(app_client, demo)
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard/deal", params={"q": deal["external_id"], "model": "linear"})
    assert page.status_code == 200, page.text
    journey = api(
        app_client,
        demo.read_key,
        f"/v1/reports/opportunities/{deal['id']}/journey",
        model="linear",
    )
    for stage in ("pipeline", "revenue"):
        timeline = page.text.split(f'data-stage="{stage}"')[1].split("</ol>")[0]
        shown = re.findall(r'data-touch="([^"]+)" data-credit-minor="(\d+)"', timeline)
        assert shown == [
            (f"{t['touchpoint_source']}:{t['touchpoint_external_id']}", str(t["credit_minor"]))
            for t in journey[stage]
        ]
    assert "first touch</th>" in page.text and "linear</th>" in page.text


def test_a_name_lists_the_deals_that_contain_it(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    deal = a_touched_won_deal(app_client, demo)
    word = deal["name"].split()[0]
    sign_in(app_client, demo.read_key)
    page = app_client.get("/dashboard/deal", params={"q": word.lower()})
    assert page.status_code == 200
    assert (
        f"opportunity={deal['id']}" in page.text or f'data-opportunity="{deal["id"]}"' in page.text
    )
    nothing = app_client.get("/dashboard/deal", params={"q": "no deal is called this%_"})
    assert "No opportunity has that CRM id" in nothing.text
