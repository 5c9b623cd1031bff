"""Keys: typed, shown once, scoped, expiring, revocable, rotated with a grace period, their last
use visible; every admin change is in an append-only audit log (issue 10, finding 7)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from tests.conftest import DEFAULT_NOW, Api, SettableClock


def as_key(api: Api, secret: str) -> Api:
    return Api(client=api.client, workspace_id=api.workspace_id, key=secret)


def new_key(api: Api, **body: Any) -> dict[str, Any]:
    response = api.post("/v1/api-keys", json={"name": "BI", "scopes": ["read"], **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_a_new_key_is_typed_shown_once_and_works(api: Api) -> None:
    created = new_key(api)
    assert created["key"].startswith("ca_live_")
    assert created["prefix"] == created["key"][: len(created["prefix"])]
    assert created["key"] not in api.get("/v1/api-keys").text
    assert created["key"] not in api.get(f"/v1/api-keys/{created['id']}").text
    reader = as_key(api, created["key"])
    assert reader.get("/v1/workspace").status_code == 200
    assert reader.get("/v1/api-keys").status_code == 403  # managing keys needs admin


def test_a_key_stops_at_its_expiry(api: Api, clock: SettableClock) -> None:
    created = new_key(api, expires_at=(DEFAULT_NOW + timedelta(days=1)).isoformat())
    reader = as_key(api, created["key"])
    assert reader.get("/v1/workspace").status_code == 200
    clock.now = DEFAULT_NOW + timedelta(days=1)
    assert reader.get("/v1/workspace").status_code == 401


def test_an_expiry_in_the_past_is_422(api: Api) -> None:
    response = api.post(
        "/v1/api-keys",
        json={"name": "x", "scopes": ["read"], "expires_at": "2020-01-01T00:00:00Z"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "expires_at"]


def test_last_use_is_recorded_to_the_minute(api: Api, clock: SettableClock) -> None:
    created = new_key(api)
    reader = as_key(api, created["key"])

    def last_used() -> Any:
        return api.get(f"/v1/api-keys/{created['id']}").json()["last_used_at"]

    assert last_used() is None
    reader.get("/v1/workspace")
    first = last_used()
    assert first is not None
    clock.now += timedelta(seconds=30)
    reader.get("/v1/workspace")
    assert last_used() == first  # not written again within the minute
    clock.now += timedelta(minutes=2)
    reader.get("/v1/workspace")
    assert last_used() != first


def test_a_revoked_key_stops_at_once(api: Api) -> None:
    created = new_key(api)
    assert (
        api.client.delete(f"/v1/api-keys/{created['id']}", headers=api.headers).status_code == 204
    )
    assert as_key(api, created["key"]).get("/v1/workspace").status_code == 401
    assert api.get(f"/v1/api-keys/{created['id']}").json()["revoked_at"] is not None


def test_the_last_admin_key_cannot_be_revoked(api: Api) -> None:
    me = next(key for key in api.get("/v1/api-keys").json() if "admin" in key["scopes"])
    response = api.client.delete(f"/v1/api-keys/{me['id']}", headers=api.headers)
    assert response.status_code == 409
    assert api.get("/v1/workspace").status_code == 200


def test_a_rotated_key_works_for_the_grace_period_then_stops(
    api: Api, clock: SettableClock
) -> None:
    old = new_key(api)
    rotated = api.post(f"/v1/api-keys/{old['id']}/rotate")
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["key"].startswith("ca_live_") and new["scopes"] == ["read"]
    assert as_key(api, old["key"]).get("/v1/workspace").status_code == 200
    assert api.get(f"/v1/api-keys/{old['id']}").json()["replaced_by_id"] == new["id"]
    clock.now += timedelta(seconds=Settings().key_rotation_grace_seconds)
    assert as_key(api, old["key"]).get("/v1/workspace").status_code == 401
    assert as_key(api, new["key"]).get("/v1/workspace").status_code == 200
    assert api.post(f"/v1/api-keys/{old['id']}/rotate").status_code == 409


def test_another_workspace_cannot_touch_my_keys(api: Api, settings: Settings) -> None:
    from tests.conftest import new_workspace

    created = new_key(api)
    _, other_key = new_workspace(settings, name="Other Co")
    other = as_key(api, other_key)
    assert other.get(f"/v1/api-keys/{created['id']}").status_code == 404
    assert (
        other.client.delete(f"/v1/api-keys/{created['id']}", headers=other.headers).status_code
        == 404
    )
    assert other.post(f"/v1/api-keys/{created['id']}/rotate").status_code == 404


# -- the audit log -----------------------------------------------------------------------------


def test_admin_changes_are_logged_with_who_what_when_and_no_secret(api: Api) -> None:
    secret = "hubspot-token-canary-51c2"
    api.post(
        "/v1/connections",
        json={"name": "HubSpot", "credentials": {"kind": "hubspot", "access_token": secret}},
    )
    created = new_key(api, name="for the log")
    log = api.get("/v1/audit-log")
    assert log.status_code == 200
    events = log.json()["items"]
    assert [event["action"] for event in events[:2]] == [
        "POST /v1/api-keys",
        "POST /v1/connections",
    ]
    me = next(key for key in api.get("/v1/api-keys").json() if "admin" in key["scopes"])
    assert events[1]["actor"] == f"api_key:{me['id']}"
    assert events[1]["change"] == {"name": "HubSpot", "credentials": "[redacted]"}
    assert events[0]["change"]["name"] == "for the log"
    assert secret not in log.text and created["key"] not in log.text


def test_failed_changes_and_reads_are_not_logged(api: Api) -> None:
    api.post("/v1/api-keys", json={"name": "", "scopes": ["read"]})  # 422
    api.get("/v1/api-keys")
    assert api.get("/v1/audit-log").json()["items"] == []


def test_the_log_pages_by_cursor_newest_first(api: Api) -> None:
    for name in ("a", "b", "c"):
        new_key(api, name=name)
    first = api.get("/v1/audit-log", params={"limit": 2}).json()
    assert [e["change"]["name"] for e in first["items"]] == ["c", "b"]
    second = api.get("/v1/audit-log", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [e["change"]["name"] for e in second["items"]] == ["a"]
    assert second["next_cursor"] is None


def test_the_log_is_readable_by_admin_keys_only(api: Api) -> None:
    reader = as_key(api, new_key(api)["key"])
    assert reader.get("/v1/audit-log").status_code == 403


def test_the_log_is_append_only(api: Api, settings: Settings) -> None:
    new_key(api)
    engine = build_engine(settings)
    factory = build_sessionmaker(engine)
    for statement in ("UPDATE audit_event SET action = 'nothing'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError), transaction(factory) as session:
            session.execute(text(statement))
    engine.dispose()


# -- the command line --------------------------------------------------------------------------


def test_the_cli_creates_lists_rotates_and_revokes_keys(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMMATTR_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    workspace = str(api.workspace_id)
    created = runner.invoke(
        cli, ["api-key", "create", workspace, "--name", "cron", "--scope", "write"]
    )
    assert created.exit_code == 0, created.output
    key_id = created.output.split("API key ")[1].split(" ")[0]
    secret = created.output.strip().rsplit(" ", 1)[-1]
    assert secret.startswith("ca_live_")
    assert as_key(api, secret).get("/v1/workspace").status_code == 200
    listed = runner.invoke(cli, ["api-key", "list", workspace])
    assert "cron" in listed.output and secret not in listed.output
    rotated = runner.invoke(cli, ["api-key", "rotate", workspace, key_id])
    assert rotated.exit_code == 0, rotated.output
    revoked = runner.invoke(cli, ["api-key", "revoke", workspace, key_id])
    assert revoked.exit_code == 0, revoked.output
    assert as_key(api, secret).get("/v1/workspace").status_code == 401
    actions = [e["action"] for e in api.get("/v1/audit-log").json()["items"]]
    assert actions == ["api-key revoke", "api-key rotate", "api-key create"]
    assert {e["actor"] for e in api.get("/v1/audit-log").json()["items"]} == {"cli"}
