"""The insight routes are documented: a summary on each, a description on every field."""

from __future__ import annotations

from typing import Any

from app.config import Settings
from tests.insights.conftest import app_with_insights

SCHEMAS = {
    "LiftReport",
    "LiftSegment",
    "LiftGroup",
    "CoverageReport",
    "MemberCoverage",
    "TouchCoverage",
    "DuplicateCoverage",
    "AmountIssue",
    "UnconvertedAmount",
}


def _spec() -> dict[str, Any]:
    return app_with_insights(Settings()).openapi()


def test_routes_have_summaries_and_documented_parameters() -> None:
    paths = _spec()["paths"]
    for path in ("/v1/reports/lift", "/v1/reports/coverage"):
        operation = paths[path]["get"]
        assert operation["summary"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"from", "to", "type", "account", "run", "model", "format"} <= names
        assert all(p.get("description") for p in operation["parameters"]), path
    assert "band_by" in {p["name"] for p in paths["/v1/reports/lift"]["get"]["parameters"]}


def test_every_field_has_a_description() -> None:
    schemas = _spec()["components"]["schemas"]
    assert set(schemas) >= SCHEMAS
    undocumented = {
        name: [f for f, prop in schemas[name]["properties"].items() if not prop.get("description")]
        for name in SCHEMAS
    }
    assert undocumented == {name: [] for name in SCHEMAS}
