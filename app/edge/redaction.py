"""Secrets never reach a log line, at any level and from any logger (issue 10, finding 5).

A log-record factory, so every record of every logger (ours, uvicorn's, urllib3's at DEBUG) is
redacted once where it is made, whatever handler or formatter prints it later: bearer tokens,
this service's API keys, and the values of secret-named fields in JSON, form or repr text.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
_SECRET_NAMES = (
    r"client_secret|refresh_token|access_token|security_token|password|passwd|api_key|"
    r"secret|token|session_id|sessionid|authorization|encryption_keys?"
)
_PATTERNS = (
    (re.compile(r"(?i)\b(bearer\s+)[^\s'\",;]+"), rf"\1{REDACTED}"),
    (re.compile(r"\bca_[A-Za-z0-9_\-]{16,}"), f"ca_{REDACTED}"),
    (
        re.compile(
            rf"(?i)(\b(?:{_SECRET_NAMES})\b[\"']?\s*[:=]\s*[\"']?)(?!{re.escape(REDACTED)}|bearer\b)[^\"'&\s,;}}\]]+"
        ),
        rf"\1{REDACTED}",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_formatter = logging.Formatter()


def _redacting(factory: Any) -> Any:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error report
            return record
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(_formatter.formatException(record.exc_info))
        return record

    make.redacts = True  # type: ignore[attr-defined]
    return make


def install() -> None:
    """Idempotent: the factory is wrapped once per process."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts", False):
        logging.setLogRecordFactory(_redacting(current))
