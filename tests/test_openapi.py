"""The checked-in OpenAPI document is current, and documents every route and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.cli import render_openapi

DOCUMENT = Path(__file__).parent.parent / "openapi" / "openapi.json"


def test_the_checked_in_document_is_current() -> None:
    assert DOCUMENT.read_text() == render_openapi(), "stale: run `make openapi`"


def test_every_route_has_a_summary() -> None:
    spec = json.loads(render_openapi())
    missing = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if not operation.get("summary")
    ]
    assert missing == []


def _undocumented(schema: dict[str, Any]) -> list[str]:
    return [
        name for name, prop in schema.get("properties", {}).items() if not prop.get("description")
    ]


def test_every_field_has_a_description() -> None:
    spec = json.loads(render_openapi())
    missing = {
        name: fields
        for name, schema in spec["components"]["schemas"].items()
        if name not in {"HTTPValidationError", "ValidationError"}
        and (fields := _undocumented(schema))
    }
    assert missing == {}
