"""One error base carrying its status code; handlers in main.py turn it into a JSON body."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 400
    headers: dict[str, str] = {}  # noqa: RUF012 (never mutated: subclasses set their own)

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    def body(self) -> dict[str, Any]:
        return {"detail": self.message}


class NotFound(AppError):
    status_code = 404


class Unauthorized(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class Conflict(AppError):
    status_code = 409


class TooManyRequests(AppError):
    """A rate limit: ``headers`` say when to come back (``Retry-After``) and which quota ran out."""

    status_code = 429

    def __init__(self, message: str, *, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.headers = headers


class InvalidInput(AppError):
    """A 422 in FastAPI's own shape: a list of errors, each naming where (``loc``) and what."""

    status_code = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors

    @classmethod
    def at(cls, loc: tuple[str | int, ...], msg: str, kind: str = "value_error") -> InvalidInput:
        return cls([{"loc": list(loc), "msg": msg, "type": kind}])

    def body(self) -> dict[str, Any]:
        return {"detail": self.errors}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown API key."},
    403: {"description": "The API key lacks the scope this route needs."},
    404: {"description": "No such object in this workspace."},
    413: {"description": "The request body is larger than the route accepts."},
    429: {
        "description": "Too many requests: this API key is over its rate limit "
        "(COMMATTR_RATE_LIMIT_PER_KEY), or this client address failed to authenticate too often "
        "(COMMATTR_RATE_LIMIT_FAILED_AUTH).",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before trying again.",
                "schema": {"type": "integer", "minimum": 1},
            },
            "RateLimit-Policy": {
                "description": 'The quota (IETF draft): `"api-key";q=600;w=60`.',
                "schema": {"type": "string"},
            },
            "RateLimit": {
                "description": 'What is left of it (IETF draft): `"api-key";r=0;t=12`.',
                "schema": {"type": "string"},
            },
        },
    },
}
