"""Rate limits per API key and per client address for failed authentication (issue 10, finding 6:
300 requests in 1.4 s, and 300 bad-key requests, were all answered without a 429)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import DEFAULT_NOW, SettableClock, new_workspace

BAD_KEY = {"Authorization": "Bearer ca_live_00000000_not-a-key-of-anyone"}


@pytest.fixture
def limited(database_url: str) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(
        database_url=database_url, rate_limit_per_key="5/minute", rate_limit_failed_auth="3/minute"
    )
    app = create_app(settings, clock=SettableClock(DEFAULT_NOW))
    with TestClient(app, base_url="https://testserver") as client:  # Secure dashboard cookies
        yield client, settings


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_past_its_limit_gets_429_with_retry_after_and_the_ratelimit_fields(
    limited: tuple[TestClient, Settings],
) -> None:
    client, settings = limited
    _workspace, key = new_workspace(settings)
    answers = [client.get("/v1/workspace", headers=bearer(key)) for _ in range(6)]
    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Policy"] == '"api-key";q=5;w=60'
    assert refused.headers["RateLimit"] == f'"api-key";r=0;t={refused.headers["Retry-After"]}'
    assert refused.json()["detail"].startswith("this API key is over its rate limit")


def test_answers_within_the_limit_say_what_is_left(limited: tuple[TestClient, Settings]) -> None:
    client, settings = limited
    _workspace, key = new_workspace(settings)
    first = client.get("/v1/workspace", headers=bearer(key))
    second = client.get("/v1/exports/touchpoints.csv", headers=bearer(key))  # a streamed answer
    assert first.headers["RateLimit-Policy"] == '"api-key";q=5;w=60'
    assert first.headers["RateLimit"].startswith('"api-key";r=4;t=')
    assert second.status_code == 200
    assert second.headers["RateLimit"].startswith('"api-key";r=3;t=')


def test_each_key_has_its_own_quota(limited: tuple[TestClient, Settings]) -> None:
    client, settings = limited
    _one, busy = new_workspace(settings)
    _other, quiet = new_workspace(settings)
    for _ in range(5):
        client.get("/v1/workspace", headers=bearer(busy))
    assert client.get("/v1/workspace", headers=bearer(busy)).status_code == 429
    assert client.get("/v1/workspace", headers=bearer(quiet)).status_code == 200


def test_an_address_that_fails_to_authenticate_too_often_is_refused_even_with_a_good_key(
    limited: tuple[TestClient, Settings],
) -> None:
    """Once locked out, a right guess answers like a wrong one: 429, the key never looked up."""
    client, settings = limited
    _workspace, key = new_workspace(settings)
    failures = [client.get("/v1/workspace", headers=BAD_KEY).status_code for _ in range(3)]
    assert failures == [401, 401, 401]
    assert client.get("/v1/workspace").status_code == 429  # no key at all
    refused = client.get("/v1/workspace", headers=bearer(key))
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Policy"] == '"failed-auth";q=3;w=60'
    assert int(refused.headers["Retry-After"]) >= 1
    assert "failed authentications" in refused.json()["detail"]


def test_good_requests_do_not_count_as_failures(limited: tuple[TestClient, Settings]) -> None:
    client, settings = limited
    _workspace, key = new_workspace(settings)
    for _ in range(2):
        assert client.get("/v1/workspace", headers=BAD_KEY).status_code == 401
    for _ in range(4):
        assert client.get("/v1/workspace", headers=bearer(key)).status_code == 200
    assert client.get("/v1/workspace", headers=BAD_KEY).status_code == 401


def test_health_and_metrics_are_never_limited(limited: tuple[TestClient, Settings]) -> None:
    client, _settings = limited
    for _ in range(4):
        client.get("/v1/workspace", headers=BAD_KEY)
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_limits_are_off_when_set_so(database_url: str) -> None:
    settings = Settings(
        database_url=database_url, rate_limit_per_key="off", rate_limit_failed_auth="off"
    )
    _workspace, key = new_workspace(settings)
    with TestClient(create_app(settings)) as client:
        for _ in range(30):
            assert client.get("/v1/workspace", headers=BAD_KEY).status_code == 401
        answer = client.get("/v1/workspace", headers=bearer(key))
    assert answer.status_code == 200
    assert "RateLimit" not in answer.headers


def test_every_route_behind_a_key_documents_the_429(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation.get("security"):
                assert "429" in operation["responses"], f"{method.upper()} {path}"
                assert "Retry-After" in operation["responses"]["429"]["headers"]


@pytest.mark.parametrize("value", ["fast", "0/minute", "10/minute;1/second", ""])
def test_a_wrong_limit_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(ValueError, match="rate_limit_per_key"):
        Settings(rate_limit_per_key=value)


def test_the_dashboards_sign_in_counts_failures_like_the_api(
    limited: tuple[TestClient, Settings],
) -> None:
    """The sign-in form takes a key too: guessing there locks the address out as well."""
    client, settings = limited
    _workspace, key = new_workspace(settings)
    answers = []
    for guess in ("ca_live_0_a", "ca_live_0_b", "ca_live_0_c", key):
        form = client.get("/dashboard/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        posted = client.post(
            "/dashboard/sign-in",
            data={"api_key": guess, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        answers.append(posted.status_code)
    assert answers == [401, 401, 401, 429]
    assert client.get("/v1/workspace", headers=bearer(key)).status_code == 429
