"""Structured logs: one JSON object per line, extra fields rendered, secrets never written, the
request id on every line of a request, COMMATTR_LOG_LEVEL obeyed by the service's own loggers."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from app.observability.logging import REQUEST_ID, RequestIdFilter, json_formatter
from tests.conftest import Api


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("app.test_logging")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)


def _records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_log_call_is_one_json_line_with_its_extra_fields(lines) -> None:  # type: ignore[no-untyped-def]
    logger, stream = lines
    logger.info("job finished", extra={"job_kind": "sync", "job_id": 7, "duration_ms": 812.5})
    (record,) = _records(stream)
    assert record["message"] == "job finished"
    assert record["level"] == "INFO"
    assert record["logger"] == "app.test_logging"
    assert (record["job_kind"], record["job_id"], record["duration_ms"]) == ("sync", 7, 812.5)
    assert "time" in record


def test_secrets_are_redacted_from_fields_and_text(lines) -> None:  # type: ignore[no-untyped-def]
    logger, stream = lines
    logger.warning(
        "refresh failed for Authorization: Bearer eyJhbGciOi.secret-part",
        extra={
            "access_token": "pat-na1-secret",
            "credentials": {"client_secret": "s3cr3t", "client_id": "public-id"},
            "detail": "key ca_AbCdEfGhIjKlMnOp was revoked",
            "connection_id": 3,
        },
    )
    text = stream.getvalue()
    for secret in ("eyJhbGciOi", "pat-na1-secret", "s3cr3t", "ca_AbCdEfGhIjKlMnOp"):
        assert secret not in text
    (record,) = _records(stream)
    assert record["message"] == "refresh failed for Authorization: Bearer [redacted]"
    assert record["access_token"] == "[redacted]"
    assert record["credentials"] == "[redacted]"
    assert record["detail"] == "key [redacted] was revoked"
    assert record["connection_id"] == 3


def test_lines_written_during_a_request_carry_its_id(lines) -> None:  # type: ignore[no-untyped-def]
    logger, stream = lines
    token = REQUEST_ID.set("req-42")
    try:
        logger.info("inside")
    finally:
        REQUEST_ID.reset(token)
    logger.info("outside")
    inside, outside = _records(stream)
    assert inside["request_id"] == "req-42"
    assert "request_id" not in outside


def test_each_request_logs_one_line_with_id_route_status_duration_and_workspace(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.http")
    headers = {**api.headers, "X-Request-ID": "r-1"}
    response = api.client.get("/v1/attribution-runs/987654", headers=headers)
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "r-1"
    (record,) = [r for r in caplog.records if r.name == "app.http"]
    assert record.getMessage() == "request"
    assert record.request_id == "r-1"  # type: ignore[attr-defined]
    assert record.route == "/v1/attribution-runs/{run_id}"  # type: ignore[attr-defined]
    assert record.status == 404  # type: ignore[attr-defined]
    assert record.workspace_id == api.workspace_id  # type: ignore[attr-defined]
    assert record.duration_ms >= 0  # type: ignore[attr-defined]
    assert api.key not in caplog.text


@pytest.mark.parametrize("sent", ["id with spaces", "a" * 129, "<script>"])
def test_a_request_id_that_is_not_a_plain_token_is_replaced(api: Api, sent: str) -> None:
    answered = api.client.get("/healthz", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    assert answered != sent
    assert len(answered) == 32


LOG_SCRIPT = """
import logging
from app.observability.logging import configure_logging
configure_logging({level!r})
logging.getLogger("app.worker").debug("polling", extra={{"queued": 0}})
logging.getLogger("app.worker").info("job started", extra={{"job_id": 1}})
logging.getLogger("urllib3.connectionpool").info("library chatter")
"""


@pytest.mark.parametrize(
    ("level", "messages"),
    [("debug", ["polling", "job started"]), ("info", ["job started"]), ("warning", [])],
)
def test_the_services_own_loggers_obey_the_log_level(level: str, messages: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOG_SCRIPT.format(level=level)],
        capture_output=True,
        text=True,
        check=True,
    )
    written = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["message"] for line in written] == messages
