"""What CRM admins configure through the API: connections, their checks, schedules and runs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from app.config import Settings
from app.crypto import decrypt_json, encrypt_json, rotate
from app.models import CrmConnection, SyncRun
from tests.conftest import Api
from tests.fakes.salesforce import SECRETS, FakeSalesforce, fake_salesforce_server
from tests.sync.conftest import SyncHarness


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesforce]:
    with fake_salesforce_server(monkeypatch) as server:
        yield server


@pytest.fixture
def harness(fake: FakeSalesforce, harness_for: Any) -> SyncHarness:
    built: SyncHarness = harness_for(urlsplit(fake.instance_url).netloc)
    return built


def salesforce_body(fake: FakeSalesforce, **credentials: Any) -> dict[str, Any]:
    given = {k: v for k, v in asdict(fake.refresh_token_credentials()).items() if v is not None}
    return {
        "name": "Production org",
        "credentials": {"kind": "salesforce", **given, **credentials},
    }


def test_credentials_are_never_returned_and_stored_encrypted(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    created = harness.api.post("/v1/connections", json=salesforce_body(fake))
    assert created.status_code == 201
    body = created.text + harness.api.get("/v1/connections").text
    assert not any(secret in body for secret in SECRETS)
    assert created.json()["credential_fields"] == [
        "api_version",
        "auth",
        "client_id",
        "client_secret",
        "default_currency",
        "domain",
        "instance_url",
        "refresh_token",
    ]
    stored = harness.scalars(
        select(CrmConnection.credentials_encrypted).where(CrmConnection.id == created.json()["id"])
    )[0]
    assert not any(secret.encode() in stored for secret in SECRETS)
    assert (
        decrypt_json(harness.settings, stored)["refresh_token"]
        == fake.refresh_token_credentials().refresh_token
    )


def test_an_instance_url_outside_salesforce_is_rejected(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    response = harness.api.post(
        "/v1/connections", json=salesforce_body(fake, instance_url="https://evil.example.com")
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "credentials", "instance_url"],
            "msg": "https://evil.example.com is not an https endpoint of the CRM",
            "type": "value_error",
        }
    ]


def test_plain_http_to_salesforce_is_rejected(harness: SyncHarness, fake: FakeSalesforce) -> None:
    response = harness.api.post(
        "/v1/connections", json=salesforce_body(fake, instance_url="http://acme.my.salesforce.com")
    )
    assert response.status_code == 422


def test_refresh_token_auth_needs_its_refresh_token(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    response = harness.api.post("/v1/connections", json=salesforce_body(fake, refresh_token=None))
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "credentials", "refresh_token"],
            "msg": "Salesforce refresh_token credentials need refresh_token",
            "type": "value_error",
        }
    ]


def test_the_connection_test_authenticates_and_reports_usage(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    fake.set_api_usage(1234, 100_000)
    connection = harness.api.post("/v1/connections", json=salesforce_body(fake)).json()["id"]
    checked = harness.api.post(f"/v1/connections/{connection}/test")
    assert checked.json() == {
        "authenticated": True,
        "missing": [],
        "scopes": {
            "Account": True,
            "Contact": True,
            "Lead": True,
            "Opportunity": True,
            "OpportunityContactRole": True,
            "AccountContactRelation": True,
            "CampaignMember": True,
        },
        "api_used": 1234,
        "api_limit": 100_000,
        "detail": None,
    }


def test_the_connection_test_names_a_field_the_user_cannot_read(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    fake.remove_field("Opportunity", "StageName")
    connection = harness.api.post("/v1/connections", json=salesforce_body(fake)).json()["id"]
    assert harness.api.post(f"/v1/connections/{connection}/test").json()["missing"] == [
        "Opportunity.StageName"
    ]


def test_a_job_runs_on_its_cron_schedule_in_its_time_zone(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    connection = harness.api.post("/v1/connections", json=salesforce_body(fake)).json()["id"]
    job = harness.api.post(
        f"/v1/connections/{connection}/sync-jobs",
        json={
            "cron": "0 6 * * *",
            "time_zone": "America/New_York",
            "objects": ["account", "contact"],
        },
    )
    assert job.status_code == 201, job.text
    # the clock is 2025-09-30 16:00 UTC = 12:00 New York; 06:00 New York (EDT) is 10:00 UTC
    assert job.json()["next_run_at"] == "2025-10-01T10:00:00Z"
    harness.work()
    assert harness.api.get("/v1/sync-runs", params={"connection_id": connection}).json() == []
    harness.clock.now += timedelta(hours=18)
    harness.work()
    runs = harness.api.get("/v1/sync-runs", params={"connection_id": connection}).json()
    assert [(r["job_id"], r["status"], r["objects"]) for r in runs] == [
        (job.json()["id"], "succeeded", ["account", "contact"])
    ]
    assert (
        harness.api.get(f"/v1/sync-jobs/{job.json()['id']}").json()["next_run_at"]
        == "2025-10-02T10:00:00Z"
    )


def test_a_bad_cron_expression_names_the_field(harness: SyncHarness, fake: FakeSalesforce) -> None:
    connection = harness.api.post("/v1/connections", json=salesforce_body(fake)).json()["id"]
    response = harness.api.post(
        f"/v1/connections/{connection}/sync-jobs", json={"cron": "every day"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "cron"]


def test_a_disabled_job_never_runs(harness: SyncHarness, fake: FakeSalesforce) -> None:
    connection = harness.api.post("/v1/connections", json=salesforce_body(fake)).json()["id"]
    job = harness.api.post(
        f"/v1/connections/{connection}/sync-jobs", json={"cron": "* * * * *", "enabled": False}
    ).json()
    assert job["next_run_at"] is None
    harness.clock.now += timedelta(days=1)
    harness.work()
    assert harness.api.get("/v1/sync-runs").json() == []


def test_one_run_per_connection_at_a_time(harness: SyncHarness, fake: FakeSalesforce) -> None:
    connection = harness.api.post("/v1/connections", json=salesforce_body(fake)).json()["id"]
    with harness.factory.begin() as session:
        session.execute(
            CrmConnection.__table__.update()
            .where(CrmConnection.id == connection)
            .values(locked_by_run_id=999_999, locked_until=harness.clock.now + timedelta(minutes=5))
        )
    run = harness.sync(connection)
    assert run["status"] == "skipped"
    assert run["error"] == {
        "type": "locked",
        "detail": "another sync run of this connection is running",
    }


def test_another_workspace_cannot_see_a_connection(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    from tests.conftest import new_workspace

    connection = harness.api.post("/v1/connections", json=salesforce_body(fake)).json()["id"]
    _, key = new_workspace(harness.settings, name="Other")
    other = Api(client=harness.api.client, workspace_id=0, key=key)
    assert other.get(f"/v1/connections/{connection}").status_code == 404
    assert other.post(f"/v1/connections/{connection}/sync-runs", json={}).status_code == 404


def test_deleting_a_connection_removes_its_jobs_and_runs(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    connection = harness.api.post("/v1/connections", json=salesforce_body(fake)).json()["id"]
    harness.sync(connection)
    assert (
        harness.api.client.delete(
            f"/v1/connections/{connection}", headers=harness.api.headers
        ).status_code
        == 204
    )
    assert harness.api.get(f"/v1/connections/{connection}").status_code == 404
    assert harness.scalars(select(SyncRun.id).where(SyncRun.connection_id == connection)) == []


def test_no_secret_reaches_the_logs(
    harness: SyncHarness, fake: FakeSalesforce, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.expire_tokens()
    connection = harness.api.post("/v1/connections", json=salesforce_body(fake)).json()["id"]
    harness.sync(connection)
    assert not any(secret in caplog.text for secret in SECRETS)


def test_keys_rotate_without_losing_credentials(tmp_path: Any) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    before = Settings(encryption_keys=old, encryption_key_file=tmp_path / "unused")
    token = encrypt_json(before, {"refresh_token": "r"})
    after = Settings(encryption_keys=f"{new},{old}", encryption_key_file=tmp_path / "unused")
    assert decrypt_json(after, token) == {"refresh_token": "r"}
    rotated = rotate(after, token)
    assert decrypt_json(
        Settings(encryption_keys=new, encryption_key_file=tmp_path / "unused"), rotated
    ) == {"refresh_token": "r"}
