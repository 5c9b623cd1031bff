"""Structured logs: one JSON object per line on stdout, from the server and the worker.

Other code logs with the standard library and adds fields through ``extra=``::

    log.info("job finished", extra={"job_kind": "sync", "job_id": 7, "duration_ms": 812})

Every line carries ``time``, ``level``, ``logger``, ``message``, the ``extra`` fields and, inside a
request, its ``request_id``. Fields whose name says they hold a secret, and bearer tokens inside any
text, are replaced by ``[redacted]`` before a line is written.
"""

from __future__ import annotations

import logging
import logging.config
import re
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID: ContextVar[str | None] = ContextVar("commattr_request_id", default=None)

# Loggers whose level follows COMMATTR_LOG_LEVEL; everything else (libraries) logs warnings only.
OWN_LOGGERS = ("app", "connectors", "attribution", "commattr", "uvicorn.error")
REDACTED = "[redacted]"
_DROPPED = {"color_message"}  # uvicorn's copy of the message with terminal colours
_SECRET_KEY = re.compile(
    r"authorization|token|secret|password|api_?key|credential|cookie", re.IGNORECASE
)
_SECRET_TEXT = re.compile(
    r"(?P<scheme>\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+|\bca_[A-Za-z0-9_-]{8,}",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    """``text`` with bearer/basic credentials and API keys (``ca_...``) blanked out."""

    def blank(match: re.Match[str]) -> str:
        return (match.group("scheme") or "") + REDACTED

    return _SECRET_TEXT.sub(blank, text)


def redact(value: Any, key: str = "") -> Any:
    """A copy of a log field with secret-looking keys and bearer tokens in strings blanked out."""
    if key and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


class RequestIdFilter(logging.Filter):
    """Stamps the current request's id on every record written while it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = REQUEST_ID.get()
            if request_id is not None:
                record.request_id = request_id
        return True


class RedactingJsonFormatter(JsonFormatter):
    """python-json-logger's formatter, with secrets removed from every field and the message."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        cleaned = {
            key: redact(value, key) for key, value in log_data.items() if key not in _DROPPED
        }
        for key in ("message", "exc_info"):
            if isinstance(log_data.get(key), str):
                cleaned[key] = redact_text(log_data[key])
        return cleaned


def json_formatter() -> RedactingJsonFormatter:
    """``time``, ``level``, ``logger``, ``message``, then the record's ``extra`` fields."""
    return RedactingJsonFormatter(
        ["asctime", "levelname", "name", "message"],
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def logging_config(level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` document; uvicorn applies it in each server process too."""
    own_level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"json": {"()": json_formatter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "root": {"level": "WARNING", "handlers": ["stdout"]},
        "loggers": {
            **{name: {"level": own_level} for name in OWN_LOGGERS},
            # replaced by the request log line of app.observability.middleware
            "uvicorn.access": {"level": "WARNING", "propagate": False, "handlers": []},
            "uvicorn": {"level": own_level, "handlers": [], "propagate": True},
        },
    }


def configure_logging(level: str = "info") -> None:
    """JSON lines on stdout; the app's own loggers at ``level`` (COMMATTR_LOG_LEVEL)."""
    logging.config.dictConfig(logging_config(level))
