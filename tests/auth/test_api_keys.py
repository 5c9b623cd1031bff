"""Every route but the health checks needs a key, and a key sees only its own workspace."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.auth.service import digest
from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from app.models import ApiKey
from tests.conftest import Api, new_workspace


def test_health_checks_need_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ok"


def test_a_request_without_a_key_is_401(client: TestClient) -> None:
    response = client.get("/v1/workspace")
    assert response.status_code == 401
    assert response.json() == {"detail": "missing Authorization: Bearer <api key>"}


def test_an_unknown_key_is_401(client: TestClient) -> None:
    response = client.get("/v1/workspace", headers={"Authorization": "Bearer ca_nope_nope"})
    assert response.status_code == 401
    assert response.json() == {"detail": "unknown or revoked API key"}


def test_keys_are_stored_only_as_digests(api: Api, settings: Settings) -> None:
    engine = build_engine(settings)
    with transaction(build_sessionmaker(engine)) as session:
        stored = session.query(ApiKey).filter_by(workspace_id=api.workspace_id).one()
        assert stored.key_hash == digest(api.key)
        assert api.key not in (stored.key_hash, stored.prefix, stored.name)
        assert stored.scopes == ["admin", "read", "write"]
    engine.dispose()


def test_a_read_key_cannot_write(api: Api, settings: Settings) -> None:
    from app.auth.service import mint_key
    from tests.conftest import DEFAULT_NOW

    engine = build_engine(settings)
    with transaction(build_sessionmaker(engine)) as session:
        read_only = mint_key(
            session, workspace_id=api.workspace_id, name="bi", scopes=["read"], now=DEFAULT_NOW
        )
    engine.dispose()
    headers = {"Authorization": f"Bearer {read_only}"}
    assert api.client.get("/v1/workspace", headers=headers).status_code == 200
    response = api.client.put(
        "/v1/activity-types/forum_answer",
        headers=headers,
        json={"name": "Forum answer", "category": "support"},
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "this API key lacks the 'write' scope"}


def test_another_workspace_sees_nothing_of_mine(api: Api, settings: Settings) -> None:
    run = api.post("/v1/attribution-runs", json={"model": "linear"})
    assert run.status_code == 201, run.text
    _, other_key = new_workspace(settings, name="Other Co")
    other = Api(client=api.client, workspace_id=0, key=other_key)
    response = other.get(f"/v1/attribution-runs/{run.json()['id']}")
    assert response.status_code == 404
    assert other.get(f"/v1/attribution-runs/{run.json()['id']}/credits").status_code == 404
    assert api.get(f"/v1/attribution-runs/{run.json()['id']}").status_code == 200
