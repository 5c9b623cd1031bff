"""One log line and one metric observation per HTTP request, with a request id.

A request id sent in ``X-Request-ID`` (letters, digits, ``.``, ``_``, ``-``; at most 128) is kept,
otherwise one is made; it is returned in ``X-Request-ID``, stamped on every log line written while
the request is handled, and carried in the body of a 500. An exception that escapes a route (a
failed commit, a database that went away) becomes a JSON 500 here, logged once with its class.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logging import REQUEST_ID
from app.observability.metrics import observe_request

HEADER = "x-request-id"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
UNMATCHED_ROUTE = "unmatched"

log = logging.getLogger("app.http")


def request_id_of(scope: Scope) -> str:
    """The id given by the client when it is a plain token, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == HEADER.encode():
            given = str(value.decode("latin-1"))
            if _ACCEPTED_ID.fullmatch(given):
                return given
    return uuid.uuid4().hex


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def _workspace_id(scope: Scope) -> int | None:
    state = scope.get("state") or {}
    workspace_id = state.get("workspace_id")
    return workspace_id if isinstance(workspace_id, int) else None


def _error_body(request_id: str) -> bytes:
    detail = "internal error: the request was not completed and nothing was stored"
    return json.dumps({"detail": detail, "request_id": request_id}).encode()


class RequestObservability:
    """Pure ASGI middleware (streaming responses pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        answer: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["started"] = True
                headers = list(message.get("headers", []))
                headers.append((HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        error: Exception | None = None
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as raised:
            error = raised
            if answer["started"]:
                raise
            await self._answer_500(send_with_id, request_id)
        finally:
            elapsed = time.perf_counter() - started
            self._record(scope, request_id, answer["status"], elapsed, error)
            REQUEST_ID.reset(token)

    @staticmethod
    async def _answer_500(send: Send, request_id: str) -> None:
        body = _error_body(request_id)
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _record(
        scope: Scope, request_id: str, status: int, seconds: float, error: Exception | None
    ) -> None:
        route = _route_template(scope)
        observe_request(scope["method"], route, status, seconds)
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": scope["method"],
            "route": route,
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "workspace_id": _workspace_id(scope),
        }
        if error is not None:
            fields["error_class"] = type(error).__name__
            log.error("request failed", extra=fields, exc_info=error)
        else:
            log.info("request", extra=fields)
