"""Validation errors never echo a secret or a huge value; logs never carry one (finding 5)."""

from __future__ import annotations

import logging

import pytest

from app.edge.redaction import redact
from tests.conftest import Api

SECRET = "sf-client-secret-3f9e1c"
TOKEN = "sf-refresh-token-77a0b2"


def credentials(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "kind": "salesforce",
        "auth": "refresh_token",
        "instance_url": "https://acme.my.salesforce.com",
        "client_id": "key",
        "client_secret": SECRET,
        "refresh_token": TOKEN,
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    "body",
    [
        {"name": "CRM", "credentials": credentials(auth=None)},  # the whole object was echoed
        {"name": "CRM", "credentials": credentials(auth="magic")},
        {"credentials": credentials()},  # missing name: the whole body was echoed
        {"name": "CRM", "credentials": credentials(client_secret=12345, extra=SECRET)},
        {"name": "CRM", "credentials": credentials(), "api_budget_share": "lots"},
    ],
)
def test_a_422_echoes_no_credential(api: Api, body: dict[str, object]) -> None:
    response = api.post("/v1/connections", json=body)
    assert response.status_code == 422, response.text
    assert SECRET not in response.text and TOKEN not in response.text
    assert all("loc" in error and "msg" in error for error in response.json()["detail"])


def test_a_422_echoes_short_values_only(api: Api) -> None:
    response = api.patch("/v1/workspace", json={"name": "x" * 100_000})
    assert response.status_code == 422
    assert len(response.content) < 1000
    short = api.patch("/v1/workspace", json={"fiscal_year_start_month": "soon"})
    assert short.status_code == 422
    assert short.json()["detail"][0]["input"] == "soon"


def test_log_lines_are_redacted_at_every_level(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.security")
    with caplog.at_level(logging.DEBUG):
        logger.debug("sending %s", {"client_secret": SECRET, "refresh_token": TOKEN})
        logger.info("header Authorization: Bearer %s", api.key)
        logger.warning("form body grant_type=refresh_token&refresh_token=%s&x=1", TOKEN)
        try:
            raise ValueError(f"password={SECRET}")
        except ValueError:
            logger.exception("failed")
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert SECRET not in text and TOKEN not in text and api.key not in text
    assert "grant_type=refresh_token" in text


def test_redaction_keeps_what_is_not_secret() -> None:
    assert redact("GET /v1/reports/summary 200 in 3 ms") == "GET /v1/reports/summary 200 in 3 ms"
    assert redact('{"refresh_token": "abc", "name": "Acme"}') == (
        '{"refresh_token": "[redacted]", "name": "Acme"}'
    )
