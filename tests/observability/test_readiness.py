"""/healthz says the process runs; /readyz says the database answers with the newest schema. A
database that fails under a request answers a JSON 500 carrying the request id, not a traceback."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app import migrate
from app.config import Settings
from app.db import build_engine
from app.main import create_app
from tests.conftest import fresh_database_url

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/nothing?connect_timeout=2"


def test_ready_once_the_schema_is_at_the_newest_revision(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "schema": migrate.head_revision()}


@pytest.mark.parametrize("steps", ["none", "all but the last"])
def test_not_ready_until_migrated(
    backend: str, tmp_path_factory: pytest.TempPathFactory, steps: str
) -> None:
    settings = Settings(database_url=fresh_database_url(backend, tmp_path_factory))
    engine = build_engine(settings)
    if steps != "none":
        migrate.upgrade(engine)
        migrate.downgrade(engine, "-1")
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["head"] == migrate.head_revision()
        assert response.json()["schema"] != migrate.head_revision()
        assert client.get("/healthz").status_code == 200
        migrate.upgrade(engine)
        assert client.get("/readyz").status_code == 200
    engine.dispose()


def test_an_unreachable_database_is_not_ready_and_requests_answer_json_500() -> None:
    with TestClient(create_app(Settings(database_url=UNREACHABLE))) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "unavailable", "database": "unreachable"}
        response = client.get(
            "/v1/workspace", headers={"Authorization": "Bearer ca_x", "X-Request-ID": "db-down-1"}
        )
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/json"
        assert response.json()["request_id"] == "db-down-1"
        assert "Traceback" not in response.text
