"""Structured logs: one JSON object per line on stdout, from the server and the worker.

Other code logs with the standard library and adds fields through ``extra=``::

    log.info("job finished", extra={"job_kind": "sync", "job_id": 7, "duration_ms": 812})

Every line carries ``time``, ``level``, ``logger``, ``message``, the ``extra`` fields and, inside a
request, its ``request_id``. Fields whose name says they hold a secret, and secrets inside any text,
are replaced by ``[redacted]`` before a line is written (the rules: ``app.edge.redaction``).
"""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from app.edge.redaction import redact

REQUEST_ID: ContextVar[str | None] = ContextVar("commattr_request_id", default=None)

# Loggers whose level follows COMMATTR_LOG_LEVEL; everything else (libraries) logs warnings only.
OWN_LOGGERS = ("app", "connectors", "attribution", "commattr", "uvicorn.error")
_DROPPED = {"color_message"}  # uvicorn's copy of the message with terminal colours


class RequestIdFilter(logging.Filter):
    """Stamps the current request's id on every record written while it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request_id = REQUEST_ID.get()
            if request_id is not None:
                record.request_id = request_id
        return True


class RedactingJsonFormatter(JsonFormatter):
    """python-json-logger's formatter, every field passed through ``app.edge.redaction`` (the
    record factory has cleaned the message; the ``extra`` fields and the traceback this formatter
    renders itself are cleaned here)."""

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: redact(value, key) for key, value in log_data.items() if key not in _DROPPED}


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
