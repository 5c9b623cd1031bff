"""Loads the golden dataset (tests/fixtures/golden, a copy of ../shared/golden) through the API."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

from tests.conftest import Api

GOLDEN = Path(__file__).parent.parent / "fixtures" / "golden"
CRM_SOURCE = "salesforce"


def dataset() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / "dataset.json").read_text())
    return data


def expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / "expected.json").read_text())
    return data


def _without_notes(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "notes"}


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def load(api: Api) -> None:
    data = dataset()
    workspace = data["workspace"]
    defaults = workspace["default_run_settings"]
    _ok(
        api.patch(
            "/v1/workspace",
            json={
                "name": workspace["name"],
                "reporting_currency": workspace["reporting_currency"],
                "time_zone": workspace["time_zone"],
                "fiscal_year_start_month": workspace["fiscal_year_start_month"],
                "staff_domains": workspace["staff_domains"],
                "free_mail_domains": workspace["free_mail_domains"],
                "duplicate_window_minutes": workspace["duplicate_window_minutes"],
                "default_lookback_days": defaults["lookback_days"],
                "default_scope": defaults["scope"],
                "default_half_life_days": defaults["half_life_days"],
            },
        )
    )
    for activity_type in data["activity_types"]:
        body = _without_notes(activity_type)
        _ok(api.put(f"/v1/activity-types/{body.pop('key')}", json=body))
    for program in data["programs"]:
        body = _without_notes(program)
        _ok(api.put(f"/v1/programs/{body.pop('external_id')}", json=body))
    _ok(
        api.post(
            "/v1/crm/import",
            json={
                "source": CRM_SOURCE,
                **{
                    part: [_without_notes(r) for r in data[part]]
                    for part in (
                        "accounts",
                        "contacts",
                        "leads",
                        "opportunities",
                        "contact_roles",
                        "exchange_rates",
                    )
                },
            },
        )
    )
    _ok(
        api.post(
            "/v1/members:batch", json={"members": [_without_notes(m) for m in data["members"]]}
        )
    )
    _ok(
        api.post(
            "/v1/touchpoints:batch",
            json={"touchpoints": [_without_notes(t) for t in data["touchpoints"]]},
        )
    )


def run(api: Api, model: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    settings = dataset()["run_settings"]
    body = {
        "model": model,
        "parameters": parameters or {},
        "lookback_days": settings["lookback_days"],
        "scope": settings["scope"],
        "exclude_staff": settings["exclude_staff"],
    }
    response = api.post("/v1/attribution-runs", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def all_pages(api: Api, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = "0"
    while cursor is not None:
        page = _ok(api.get(path, params={"cursor": cursor, "limit": 50}))
        items += page["items"]
        cursor = page["next_cursor"]
    return items


def as_fraction(text: str) -> Fraction:
    return Fraction(text)
