"""A cap on request bodies, counted while they stream in (issue 10, finding 6).

A declared ``Content-Length`` over the cap is answered 413 before any byte is read; a body that
streams past it (chunked, or lying about its length) is cut off at the cap: the read raises a
413 that FastAPI passes on unchanged. Bulk routes (batches, the CRM import) have a larger cap,
and the streamed file imports the cap of ``COMMATTR_IMPORT_MAX_BYTES`` (their own code counts too).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BULK_PATHS = frozenset(
    {"/v1/crm/import", "/v1/touchpoints:batch", "/v1/members:batch", "/v1/exchange-rates"}
)
FILE_IMPORT_PATHS = frozenset({"/v1/touchpoints:import", "/v1/members:import"})


def too_large(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limit: int, bulk_limit: int, file_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.by_path = {
            **dict.fromkeys(BULK_PATHS, bulk_limit),
            **dict.fromkeys(FILE_IMPORT_PATHS, file_limit),
        }

    def limit_for(self, scope: Scope) -> int:
        return self.by_path.get(scope.get("path", ""), self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer_413(send, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(status_code=413, detail=too_large(limit))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer_413(send: Send, limit: int) -> None:
    body = json.dumps({"detail": too_large(limit)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
