"""A repeated request with the same Idempotency-Key answers what the first one answered.

The key is claimed in a transaction of its own before the work starts (``in_flight``), so a
concurrent repeat sees it and gets 409; the answer is stored in the request's own transaction, so
it is kept exactly when the work is. A request that fails (a 4xx or 5xx) releases its key: like
Stripe, only answers of requests that did their work are replayed."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from app.exceptions import Conflict, InvalidInput
from app.idempotency import repository
from app.models import IdempotencyKey

HEADER = "Idempotency-Key"
IN_FLIGHT = timedelta(minutes=10)
KEPT = timedelta(hours=24)
LOC = ("header", HEADER)


class Replayed(Exception):
    """The stored answer of the first request with this key."""

    def __init__(self, status_code: int, body: bytes, headers: dict[str, str]) -> None:
        super().__init__("replayed")
        self.status_code = status_code
        self.body = body
        self.headers = headers

    def response(self) -> Response:
        return Response(
            self.body,
            status_code=self.status_code,
            media_type="application/json",
            headers={**self.headers, "Idempotent-Replayed": "true"},
        )


async def replayed_response(_request: Request, error: Exception) -> Response:
    assert isinstance(error, Replayed)
    return error.response()


def fingerprint(request: Request, body_sha256: str) -> str:
    """What makes two requests the same: method, path, query parameters and body."""
    query = "&".join(sorted(request.url.query.split("&"))) if request.url.query else ""
    text = "\n".join((request.method, request.url.path, query, body_sha256))
    return hashlib.sha256(text.encode()).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise InvalidInput.at(LOC, "1 to 255 printable ASCII characters")
    return key


class Idempotency:
    """One request's claim on its Idempotency-Key (a no-op without the header)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        workspace_id: int,
        key: str | None,
        now: datetime,
    ) -> None:
        self.key = None if key is None else check_key(key)
        self._factory = factory
        self._workspace_id = workspace_id
        self._now = now
        self._row_id: int | None = None
        self._finished = False

    def begin(self, request_fingerprint: str) -> None:
        """Claim the key, or raise: ``Replayed`` (done), 409 (in flight), 422 (another request)."""
        if self.key is None:
            return
        with transaction(self._factory) as session:
            repository.forget_expired(session, self._workspace_id, self._now)
            row = {
                "workspace_id": self._workspace_id,
                "key": self.key,
                "fingerprint": request_fingerprint,
                "state": "in_flight",
                "response_headers": {},
                "created_at": self._now,
                "locked_until": self._now + IN_FLIGHT,
                "expires_at": self._now + KEPT,
            }
            if repository.insert_in_flight(session, row):
                claimed = repository.find(session, self._workspace_id, self.key)
                assert claimed is not None
                self._row_id = claimed.id
                return
            self._row_id = self._take_over(session, request_fingerprint)

    def _take_over(self, session: Session, request_fingerprint: str) -> int:
        assert self.key is not None
        existing = repository.find(session, self._workspace_id, self.key)
        if existing is None:
            raise Conflict(f"{HEADER}: the key is being released; retry")
        if existing.fingerprint != request_fingerprint:
            raise InvalidInput.at(
                LOC, "this key was used for a different request; send a new key for a new request"
            )
        if existing.state == "done":
            raise Replayed(
                existing.status_code or 200,
                existing.response_body or b"",
                dict(existing.response_headers),
            )
        if existing.locked_until > self._now:
            raise Conflict(f"{HEADER}: a request with this key is still in flight; retry later")
        existing.locked_until = self._now + IN_FLIGHT  # its first request died: this one runs
        return existing.id

    def finish(
        self,
        session: Session,
        answer: BaseModel,
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Store the answer in the request's transaction, to be replayed for repeats."""
        if self._row_id is None:
            return
        session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == self._row_id)
            .values(
                state="done",
                status_code=status_code,
                response_body=answer.model_dump_json().encode(),
                response_headers=headers or {},
            )
        )
        self._finished = True

    def abandon(self) -> None:
        """Release a key whose request did not finish, so that it can be retried."""
        if self._row_id is None or self._finished:
            return
        with transaction(self._factory) as session:
            repository.delete_row(session, self._row_id)
        self._row_id = None
