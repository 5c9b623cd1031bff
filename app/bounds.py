"""Bounds on everything a caller controls, as ``Annotated`` types every schema and route reuses.

Ids fit a BIGINT; dates and instants lie in 1900-2200 (where every time-zone conversion and
window subtraction stays inside Python's calendar); money fits the columns that hold it; floats
are finite; strings have a length and are valid Unicode without NUL; free ``properties`` are small and
shallow; booleans, numbers and dates are not coerced from each other. A value outside answers
422 naming its field, and the error never echoes a large input back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    Strict,
    StringConstraints,
)
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from app.edge.redaction import is_secret_location, redact_text

MAX_ID = 2**63 - 1
"""The largest value of a BIGINT primary key: larger ids answer 422, never a driver overflow."""

MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(2200, 12, 31)
MIN_INSTANT = datetime.combine(MIN_DAY, time.min, tzinfo=UTC)
MAX_INSTANT = datetime.combine(MAX_DAY, time.max, tzinfo=UTC)

MAX_MINOR_UNITS = 10**15
"""Amounts are exact up to 10^15 minor units (cents); larger ones answer 422."""
MAX_MAJOR_UNITS = Decimal(10**12)
"""10^12 major units of a currency with up to 3 decimals is at most 10^15 minor units."""

PROPERTIES_MAX_BYTES = 64 * 1024
PROPERTIES_MAX_DEPTH = 8
MAX_ERROR_INPUT_CHARS = 200


def _not_a_number(value: object) -> object:
    """Dates and instants come as ISO text: a number is a caller's mistake, not a timestamp."""
    if isinstance(value, bool | int | float | Decimal):
        raise PydanticCustomError("date_type", "must be an ISO 8601 string, not a number")
    return value


def _not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise PydanticCustomError("decimal_type", "must be a number, not a boolean")
    return value


def surrogate_position(text: str) -> int | None:
    """Where ``text`` holds a lone UTF-16 surrogate (no database can store one), if anywhere."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return error.start
    return None


def _valid_unicode(value: str) -> str:
    """Text every database stores: no lone surrogate, no NUL (PostgreSQL text refuses it)."""
    position = surrogate_position(value)
    if position is not None:
        raise PydanticCustomError(
            "string_unicode",
            "must be valid Unicode text: a lone surrogate at position {position}",
            {"position": position},
        )
    if "\x00" in value:
        raise PydanticCustomError(
            "string_unicode",
            "must not contain a NUL character (at position {position})",
            {"position": value.index("\x00")},
        )
    return value


def _check_properties(value: dict[str, Any]) -> dict[str, Any]:
    _check_json_value(value, depth=0)
    try:
        size = len(json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8"))
    except (ValueError, UnicodeEncodeError) as error:  # pragma: no cover - checked just above
        raise PydanticCustomError("properties", "must be plain JSON") from error
    if size > PROPERTIES_MAX_BYTES:
        raise PydanticCustomError(
            "properties_too_large",
            "must be at most {limit} bytes of JSON, got {size}",
            {"limit": PROPERTIES_MAX_BYTES, "size": size},
        )
    return value


def properties_problem(value: Mapping[str, Any]) -> str | None:
    """What makes ``value`` unfit as ``properties`` (see ``Properties``), for non-pydantic readers."""
    try:
        _check_properties(dict(value))
    except PydanticCustomError as error:
        return error.message()
    return None


def _check_json_value(value: object, depth: int) -> None:
    if depth > PROPERTIES_MAX_DEPTH:
        raise PydanticCustomError(
            "properties_too_deep",
            "must nest at most {limit} levels deep",
            {"limit": PROPERTIES_MAX_DEPTH},
        )
    if isinstance(value, str):
        _valid_unicode(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise PydanticCustomError("finite_number", "must hold finite numbers only")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _valid_unicode(str(key))
            _check_json_value(item, depth + 1)
    elif isinstance(value, Sequence) and not isinstance(value, bytes):
        for item in value:
            _check_json_value(item, depth + 1)


MAX_TEXT_CHARS = 2000
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS), AfterValidator(_valid_unicode)]
"""Any caller's string: valid Unicode, at most 2000 characters (fields set tighter limits)."""


Id = Annotated[int, Ge(1), Le(MAX_ID)]
"""A row id, in a path or a query: 1..2^63-1."""
Cursor = Annotated[int, Ge(0), Le(MAX_ID)]
"""A page cursor (the last id seen): 0..2^63-1."""

Day = Annotated[date, BeforeValidator(_not_a_number), Ge(MIN_DAY), Le(MAX_DAY)]
"""A calendar date in 1900-01-01..2200-12-31, as ISO text."""
Instant = Annotated[AwareDatetime, BeforeValidator(_not_a_number), Ge(MIN_INSTANT), Le(MAX_INSTANT)]
"""An instant with a UTC offset, in 1900-01-01..2200-12-31 UTC, as ISO text."""

Flag = Annotated[bool, Strict()]
"""true or false: never 0, 1 or "yes"."""
Count = Annotated[int, Strict()]
"""A JSON integer: never a boolean, a float or a string (ranges are set per field)."""
Finite = Annotated[float, BeforeValidator(_not_a_boolean), Field(allow_inf_nan=False)]
"""A finite JSON number (1e309 is infinity to a JSON parser, and refused)."""

MajorAmount = Annotated[
    Decimal,
    BeforeValidator(_not_a_boolean),
    Field(ge=-MAX_MAJOR_UNITS, le=MAX_MAJOR_UNITS, allow_inf_nan=False),
]
"""Money in major units (e.g. 10000.01), within +-10^12 so it fits 10^15 minor units."""
NonNegativeMajorAmount = Annotated[MajorAmount, Ge(0)]

Properties = Annotated[dict[str, Any], AfterValidator(_check_properties)]
"""Free JSON attributes: at most 64 KiB as JSON and 8 levels deep, valid Unicode, finite numbers."""


def _clipped(value: object) -> object:
    """A short, encodable stand-in for an input echoed in a validation error."""
    if isinstance(value, bool | int | None):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, default=str, ensure_ascii=False)
        except ValueError:  # a circular structure cannot come from JSON; be safe anyway
            text = repr(value)
        if len(text) <= MAX_ERROR_INPUT_CHARS and surrogate_position(text) is None:
            return value
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(text) > MAX_ERROR_INPUT_CHARS:
        return f"{text[:MAX_ERROR_INPUT_CHARS]}... ({len(text)} characters)"
    return text


def clip_error_inputs(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors whose ``input`` and ``ctx`` values are short and encodable, so a 50 MB
    name answers a small 422 and a lone surrogate never breaks the error response itself."""
    clipped: list[dict[str, Any]] = []
    for error in errors:
        entry = dict(error)
        if "input" in entry:
            entry["input"] = _clipped(entry["input"])
        if isinstance(entry.get("ctx"), Mapping):
            entry["ctx"] = {key: _clipped(str(v)) for key, v in entry["ctx"].items()}
        entry["loc"] = [_clipped(part) if isinstance(part, str) else part for part in entry["loc"]]
        clipped.append(entry)
    return clipped


BODY_PARSE_ERROR = "There was an error parsing the body"


def _no_secret_input(error: dict[str, Any]) -> dict[str, Any]:
    """Never echo a credential, nor a whole object (a missing field's input is its parent)."""
    value = error.get("input")
    if is_secret_location(error.get("loc", ())) or isinstance(value, dict | list):
        return {k: v for k, v in error.items() if k not in ("input", "ctx")}
    return error


def _redacted_text(error: dict[str, Any]) -> dict[str, Any]:
    """Secrets inside an echoed text (a raw body: ``client_secret=...`` sent as a form)."""
    value = error.get("input")
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    return {**error, "input": redact_text(value)} if isinstance(value, str) else error


async def validation_error(_request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 body, with inputs clipped (see ``clip_error_inputs``)."""
    assert isinstance(error, RequestValidationError)
    errors = clip_error_inputs([_no_secret_input(e) for e in error.errors()])
    errors = [_redacted_text(e) for e in errors]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


async def http_error(request: Request, error: Exception) -> Response:
    """A body that is not UTF-8 JSON answers the documented 422; a 405 lists every method of the
    path in ``Allow`` (Starlette lists only the first route's)."""
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400 and error.detail == BODY_PARSE_ERROR:
        detail = [{"type": "json_invalid", "loc": ["body"], "msg": "the body is not UTF-8 JSON"}]
        return JSONResponse({"detail": detail}, status_code=422)
    if error.status_code == 405:
        error.headers = {**(error.headers or {}), "Allow": ", ".join(_allowed(request))}
    return await http_exception_handler(request, error)


def _allowed(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE and isinstance(route, BaseRoute):
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)
