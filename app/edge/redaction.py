"""The one set of rules that keeps secrets out of log lines, validation errors and the audit log
(issue 10, "secrets never leave").

A name is secret when it contains one of ``SECRET_WORDS`` (``client_secret``, ``credentials``,
``Authorization``, ``api_key_id``...): such a field's value is never written. Inside free text,
bearer and basic credentials, this service's API keys, ``name=value`` / ``"name": "value"`` pairs
and XML elements with a secret name (a SOAP ``<sessionId>``) are blanked out.

Logs are redacted in two places with these rules, because Python attaches a record's ``extra``
fields only after the record factory has made it: the factory installed by :func:`install` cleans
every record's message and traceback, whatever logger made it and whatever handler prints it
(pytest's included); the service's JSON formatter (``app.observability.logging``) cleans the
fields.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

REDACTED = "[redacted]"
SECRET_WORDS = (
    "credential",
    "secret",
    "token",
    "password",
    "passwd",
    "authorization",
    "api_key",
    "apikey",
    "key_",
    "cookie",
    "session_id",
    "sessionid",
    "encryption_key",
)
_WORDS = "|".join(re.escape(word) for word in SECRET_WORDS)
_NAME = rf"[\w.-]*(?:{_WORDS})[\w.-]*"
_TEXT_RULES = (
    (re.compile(r"(?i)\b((?:bearer|basic)\s+)[^\s'\",;]+"), rf"\1{REDACTED}"),
    (re.compile(r"\bca_[A-Za-z0-9_-]{8,}"), REDACTED),
    (
        re.compile(
            rf"(?i)(<(?:\w+:)?(?:{_NAME})>)[^<]*(</)"  # <sf:sessionId>...</sf:sessionId>
        ),
        rf"\1{REDACTED}\2",
    ),
    (
        re.compile(
            rf"(?i)(\b{_NAME}[\"']?\s*[:=]\s*[\"']?)(?!{re.escape(REDACTED)}|bearer\b|basic\b)"
            r"[^\"'&\s,;}\]<]+"
        ),
        rf"\1{REDACTED}",
    ),
)


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def is_secret_location(loc: Sequence[Any]) -> bool:
    """A validation error's ``loc`` passes through a secret-named field."""
    return any(isinstance(part, str) and is_secret_name(part) for part in loc)


def redact_text(text: str) -> str:
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, name: str = "") -> Any:
    """A copy of a structured value (a log field) with secret-named fields blanked out whole and
    secrets inside text blanked out."""
    if name and is_secret_name(name):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact(item, str(key)) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


_formatter = logging.Formatter()


def _redacting(factory: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error report
            return record
        record.msg, record.args = redact_text(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(_formatter.formatException(record.exc_info))
        return record

    make.redacts = True  # type: ignore[attr-defined]
    return make


def install() -> None:
    """Idempotent: the factory is wrapped once per process."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts", False):
        logging.setLogRecordFactory(_redacting(current))
