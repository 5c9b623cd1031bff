"""POST /v1/touchpoints:batch: idempotent, validated row by row, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api


def _touch(external_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "source": "discourse",
        "external_id": external_id,
        "activity_type": "forum_answer",
        "occurred_at": "2025-03-01T12:00:00Z",
        "member_email": "ada@example.com",
        **overrides,
    }


@pytest.fixture
def catalog(api: Api) -> Api:
    assert (
        api.put(
            "/v1/activity-types/forum_answer", json={"name": "Answer", "category": "support"}
        ).status_code
        == 200
    )
    return api


def test_the_same_touchpoint_twice_is_stored_once_and_replaced(catalog: Api) -> None:
    first = catalog.post("/v1/touchpoints:batch", json={"touchpoints": [_touch("t-1")]})
    assert first.json() == {"received": 1, "stored": 1, "members_created": 1}
    again = catalog.post(
        "/v1/touchpoints:batch",
        json={"touchpoints": [_touch("t-1", occurred_at="2025-03-02T12:00:00Z"), _touch("t-1")]},
    )
    assert again.json() == {"received": 2, "stored": 1, "members_created": 0}


def test_an_unknown_activity_type_names_its_row_and_field_and_writes_nothing(catalog: Api) -> None:
    response = catalog.post(
        "/v1/touchpoints:batch",
        json={"touchpoints": [_touch("t-1"), _touch("t-2", activity_type="podcast")]},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "touchpoints", 1, "activity_type"],
            "msg": "unknown activity type 'podcast'",
            "type": "value_error",
        }
    ]
    assert catalog.get("/v1/members/ada@example.com").status_code == 404


def test_a_touch_without_a_timezone_is_rejected_by_row_and_field(catalog: Api) -> None:
    response = catalog.post(
        "/v1/touchpoints:batch",
        json={"touchpoints": [_touch("t-1", occurred_at="2025-03-01T12:00:00")]},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "touchpoints", 0, "occurred_at"]


def test_a_touch_needs_exactly_one_person(catalog: Api) -> None:
    response = catalog.post(
        "/v1/touchpoints:batch",
        json={"touchpoints": [_touch("t-1", member_external_id="m-1")]},
    )
    assert response.status_code == 422
    assert "exactly one of" in response.json()["detail"][0]["msg"]


def test_an_unknown_crm_person_is_rejected(catalog: Api) -> None:
    response = catalog.post(
        "/v1/touchpoints:batch",
        json={
            "touchpoints": [
                _touch(
                    "t-1",
                    member_email=None,
                    person={"type": "contact", "external_id": "003-NOPE", "source": "salesforce"},
                )
            ]
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == [
        "body",
        "touchpoints",
        0,
        "person",
        "external_id",
    ]


def test_more_than_the_batch_limit_is_rejected(catalog: Api) -> None:
    rows = [_touch(f"t-{i}") for i in range(10_001)]
    response = catalog.post("/v1/touchpoints:batch", json={"touchpoints": rows})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "at most 10000 per call"
