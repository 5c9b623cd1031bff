"""Bodies are capped while they stream in, and the import record limit holds (issue 10, finding 6)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import DEFAULT_NOW, Api, SettableClock, new_workspace


@pytest.fixture
def small(database_url: str) -> Iterator[Api]:
    settings = Settings(
        database_url=database_url,
        max_body_bytes=4096,
        max_bulk_body_bytes=65_536,
        import_record_limit=40,
    )
    workspace_id, key = new_workspace(settings)
    with TestClient(create_app(settings, clock=SettableClock(DEFAULT_NOW))) as client:
        yield Api(client=client, workspace_id=workspace_id, key=key)


def test_a_body_declared_too_large_is_413_before_it_is_read(small: Api) -> None:
    response = small.patch("/v1/workspace", json={"name": "x" * 10_000})
    assert response.status_code == 413
    assert response.json() == {"detail": "the request body is larger than 4096 bytes"}


def test_a_streamed_body_is_cut_off_at_the_limit(small: Api) -> None:
    """Chunked, with no Content-Length: counted as it arrives."""
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(100):
            sent.append(1)
            yield b"x" * 1024
        yield b'"}'

    response = small.client.patch(
        "/v1/workspace",
        content=chunks(),
        headers={**small.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "the request body is larger than 4096 bytes"}
    assert small.get("/v1/workspace").json()["name"] == "Test Co"


def test_bulk_routes_take_larger_bodies(small: Api) -> None:
    accounts = [{"external_id": f"a{i}", "name": "n" * 200} for i in range(40)]
    response = small.post("/v1/crm/import", json={"accounts": accounts})
    assert response.status_code == 200, response.text
    assert len(response.request.content) > 4096


def test_the_default_limits_fit_the_biggest_legitimate_batch() -> None:
    """10,000 touchpoints of a realistic size fit the bulk cap many times over."""
    touchpoint = {
        "source": "forum",
        "external_id": "post-000000001",
        "activity_type": "forum_answer",
        "occurred_at": "2025-09-30T16:00:00Z",
        "person": {"email": "someone.with.a.long.name@example-company.com"},
        "properties": {"thread": "How do I configure SSO with SAML and SCIM?"},
    }
    batch = len(json.dumps({"touchpoints": [touchpoint] * 10_000}))
    assert batch * 10 < Settings().max_bulk_body_bytes


def test_streamed_file_imports_keep_their_own_larger_cap(small: Api) -> None:
    rows = "".join(f"m{i},m{i}@example.com\n" for i in range(1000))
    response = small.client.post(
        "/v1/members:import?source=forum",
        content=f"external_id,email\n{rows}".encode(),
        headers={**small.headers, "Content-Type": "text/csv"},
    )
    assert len(response.request.content) > 4096
    assert response.status_code != 413, response.text
