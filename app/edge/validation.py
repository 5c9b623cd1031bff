"""422s that never echo a secret or a huge value (issue 10, findings 5 and 6).

FastAPI's own handler returns each error's ``input``: for a missing field that is the whole
parent object, credentials included, and for a 50 MB name the 50 MB. Here ``input`` is kept only
when it is a short scalar outside any secret-looking field; ``ctx`` keeps only short scalars.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

ECHO_LIMIT = 100  # characters of an input value echoed back at most
SECRET_WORDS = ("credential", "secret", "token", "password", "authorization", "api_key", "key_")


def is_secret_location(loc: Sequence[Any]) -> bool:
    return any(
        isinstance(part, str) and any(word in part.lower() for word in SECRET_WORDS) for part in loc
    )


def _short_scalar(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= ECHO_LIMIT
    return value is None or isinstance(value, bool | int | float)


def safe_error(error: dict[str, Any]) -> dict[str, Any]:
    loc = list(error.get("loc", ()))
    kept: dict[str, Any] = {
        "loc": loc,
        "msg": str(error.get("msg", ""))[:500],
        "type": error.get("type"),
    }
    if not is_secret_location(loc):
        if "input" in error and _short_scalar(error["input"]):
            kept["input"] = error["input"]
        context = {k: v for k, v in (error.get("ctx") or {}).items() if _short_scalar(v)}
        if context:
            kept["ctx"] = context
    return kept


async def validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": [safe_error(e) for e in error.errors()]}, status_code=422)
