"""The append-only log of admin actions: who, which workspace, what, when, the redacted change."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.audit import repository
from app.audit.schemas import AuditEventOut, AuditPage
from app.edge.redaction import REDACTED, is_secret_name
from app.exceptions import InvalidInput
from app.models import AuditEvent

TEXT_LIMIT = 200  # characters kept of any one string of a change
COMMAND_LINE = "cli"
PERSONAL = "[personal data]"
EMAIL_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")


def redact_change(value: Any) -> Any:
    """A request body as stored in the log: secret-named fields (credentials whole) redacted,
    email addresses left out (the log is append-only, so it must hold nothing an erasure would
    have to remove), strings cut short."""
    if isinstance(value, dict):
        return {
            str(k): REDACTED if is_secret_name(str(k)) else redact_change(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_change(item) for item in value[:100]]
    if isinstance(value, str):
        return PERSONAL if EMAIL_ADDRESS.search(value) else value[:TEXT_LIMIT]
    return value


def parse_body(body: bytes) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return {"body": "(not JSON)"}
    redacted = redact_change(parsed)
    return redacted if isinstance(redacted, dict) else {"body": redacted}


def record(
    session: Session,
    *,
    workspace_id: int,
    api_key_id: int | None,
    action: str,
    target: dict[str, Any],
    change: dict[str, Any] | None,
    now: datetime,
) -> None:
    session.add(
        AuditEvent(
            workspace_id=workspace_id,
            api_key_id=api_key_id,
            actor=f"api_key:{api_key_id}" if api_key_id is not None else COMMAND_LINE,
            action=action[:200],
            target={k: str(v)[:TEXT_LIMIT] for k, v in target.items()},
            change=change,
            occurred_at=now,
        )
    )


def read_page(session: Session, *, workspace_id: int, cursor: str | None, limit: int) -> AuditPage:
    before = _cursor(cursor)
    rows = repository.page(session, workspace_id, before_id=before, limit=limit + 1)
    items = [AuditEventOut.model_validate(row) for row in rows[:limit]]
    next_cursor = str(items[-1].id) if len(rows) > limit else None
    return AuditPage(items=items, next_cursor=next_cursor)


def _cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidInput.at(("query", "cursor"), "not a cursor this log returned")
    return int(cursor)
