"""Admin: runs with freeze and unfreeze, connections, sync runs and API keys, for admin keys only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.dashboard.conftest import DemoWorkspace, form_token, sign_in


def api(client: TestClient, key: str, path: str) -> Any:
    answer = client.get(path, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_read_key_gets_no_admin_link_and_a_403(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    sign_in(app_client, demo.read_key)
    overview = app_client.get("/dashboard", params={"period": "last_quarter"})
    assert 'href="/dashboard/admin"' not in overview.text
    assert app_client.get("/dashboard/admin").status_code == 403
    refused = app_client.post(
        "/dashboard/admin/runs/1/unfreeze", data={"csrf_token": form_token(overview.text)}
    )
    assert refused.status_code == 403


def test_an_admin_sees_every_run_and_key_the_api_lists(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    sign_in(app_client, demo.admin_key)
    overview = app_client.get("/dashboard", params={"period": "last_quarter"})
    assert 'href="/dashboard/admin"' in overview.text
    page = app_client.get("/dashboard/admin")
    assert page.status_code == 200, page.text
    for run in api(app_client, demo.admin_key, "/v1/attribution-runs"):
        assert f'data-run="{run["id"]}"' in page.text
    for key in api(app_client, demo.admin_key, "/v1/api-keys"):
        assert key["prefix"] in page.text
    assert demo.read_key not in page.text and demo.admin_key not in page.text


def test_an_admin_freezes_and_unfreezes_a_run_by_form(
    app_client: TestClient, demo: DemoWorkspace
) -> None:
    sign_in(app_client, demo.admin_key)
    page = app_client.get("/dashboard/admin")
    token = form_token(page.text)
    run = api(app_client, demo.admin_key, "/v1/attribution-runs")[0]
    path = f"/dashboard/admin/runs/{run['id']}"
    period = {"from": "2025-01-01", "to": "2025-03-31", "note": "board deck"}
    forged = app_client.post(f"{path}/freeze", data={**period, "csrf_token": "forged"})
    assert forged.status_code == 403
    assert (
        api(app_client, demo.admin_key, f"/v1/attribution-runs/{run['id']}")["frozen_from"] is None
    )
    done = app_client.post(f"{path}/freeze", data={**period, "csrf_token": token})
    assert done.status_code == 303, done.text
    frozen = api(app_client, demo.admin_key, f"/v1/attribution-runs/{run['id']}")
    assert (frozen["frozen_from"], frozen["frozen_to"], frozen["frozen_note"]) == (
        "2025-01-01",
        "2025-03-31",
        "board deck",
    )
    audit = api(app_client, demo.admin_key, "/v1/audit-log")
    assert any("freeze" in event["action"] for event in audit["items"])
    undone = app_client.post(f"{path}/unfreeze", data={"csrf_token": token})
    assert undone.status_code == 303
    assert (
        api(app_client, demo.admin_key, f"/v1/attribution-runs/{run['id']}")["frozen_from"] is None
    )


def test_a_bad_freeze_period_says_which_field(app_client: TestClient, demo: DemoWorkspace) -> None:
    sign_in(app_client, demo.admin_key)
    token = form_token(app_client.get("/dashboard/admin").text)
    run = api(app_client, demo.admin_key, "/v1/attribution-runs")[0]
    answer = app_client.post(
        f"/dashboard/admin/runs/{run['id']}/freeze",
        data={"from": "2025-03-31", "to": "2025-01-01", "csrf_token": token},
    )
    assert answer.status_code == 422
    assert "to: must not be before" in answer.text
