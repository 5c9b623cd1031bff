"""Activity types and programs: create, read, change, delete while unused; a default catalog of
SPACES activity types in every new workspace."""

from __future__ import annotations

from typing import Any

import pytest

from app.catalog.defaults import DEFAULT_ACTIVITY_TYPES
from tests.conftest import Api


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201, 204), response.text
    return response.json() if response.content else None


def _delete(api: Api, path: str) -> Any:
    return api.client.delete(path, headers=api.headers)


def _touch(**overrides: Any) -> dict[str, Any]:
    return {
        "source": "forum",
        "external_id": "t1",
        "activity_type": "forum_answer",
        "occurred_at": "2025-03-01T12:00:00Z",
        "member_email": "jo@acme.com",
        **overrides,
    }


def test_a_new_workspace_has_the_spaces_catalog(api: Api) -> None:
    types = _ok(api.get("/v1/activity-types"))
    assert [t["key"] for t in types] == sorted(t.key for t in DEFAULT_ACTIVITY_TYPES)
    assert {t["category"] for t in types} == {
        "support",
        "product",
        "acquisition",
        "contribution",
        "engagement",
        "success",
        "marketing",
    }
    assert _ok(api.get("/v1/activity-types/referral")) == {
        "key": "referral",
        "name": "Referred a peer",
        "category": "acquisition",
        "weight": "3.000000",
        "is_community": True,
        "cost": "50.000000",
    }
    assert _ok(api.get("/v1/activity-types/campaign_response"))["is_community"] is False


def test_touches_can_be_sent_before_any_set_up(api: Api) -> None:
    assert _ok(api.post("/v1/touchpoints:batch", json={"touchpoints": [_touch()]}))["stored"] == 1


def test_an_activity_type_is_created_read_changed_and_deleted(api: Api) -> None:
    created = api.post(
        "/v1/activity-types",
        json={"key": "podcast", "name": "Podcast guest", "category": "acquisition"},
    )
    assert created.status_code == 201
    changed = _ok(api.patch("/v1/activity-types/podcast", json={"weight": "2.5", "cost": "10"}))
    assert (changed["name"], changed["weight"], changed["cost"]) == ("Podcast guest", "2.5", "10")
    assert _delete(api, "/v1/activity-types/podcast").status_code == 204
    assert api.get("/v1/activity-types/podcast").json() == {
        "detail": "activity type 'podcast' not found"
    }


def test_creating_an_existing_key_is_a_conflict(api: Api) -> None:
    response = api.post(
        "/v1/activity-types", json={"key": "referral", "name": "Again", "category": "acquisition"}
    )
    assert (response.status_code, response.json()) == (
        409,
        {"detail": "activity type 'referral' already exists"},
    )
    assert _ok(api.get("/v1/activity-types/referral"))["name"] == "Referred a peer"


def test_a_used_activity_type_is_not_deleted(api: Api) -> None:
    _ok(api.post("/v1/touchpoints:batch", json={"touchpoints": [_touch()]}))
    response = _delete(api, "/v1/activity-types/forum_answer")
    assert (response.status_code, response.json()) == (
        409,
        {
            "detail": "activity type 'forum_answer' is used by 1 touchpoint and 0 attribution "
            "runs: it can be deleted only while unused"
        },
    )
    assert _ok(api.get("/v1/activity-types/forum_answer"))["key"] == "forum_answer"


def test_making_a_marketing_type_community_is_rejected(api: Api) -> None:
    response = api.patch("/v1/activity-types/campaign_response", json={"is_community": True})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "is_community"],
            "msg": "an activity type of category 'marketing' is never community",
            "type": "value_error",
        }
    ]
    assert _ok(api.get("/v1/activity-types/campaign_response"))["is_community"] is False


def test_changing_the_category_to_marketing_makes_it_marketing(api: Api) -> None:
    changed = _ok(api.patch("/v1/activity-types/chat_message", json={"category": "marketing"}))
    assert (changed["category"], changed["is_community"]) == ("marketing", False)


@pytest.fixture
def summit(api: Api) -> Api:
    created = api.post(
        "/v1/programs",
        json={"key": "summit", "name": "Summit", "cost": "12000.00", "currency": "USD"},
    )
    assert created.status_code == 201, created.text
    return api


def test_a_program_is_created_changed_and_deleted(summit: Api) -> None:
    changed = _ok(
        summit.patch("/v1/programs/summit", json={"cost": "15000.50", "start_date": "2025-05-01"})
    )
    assert (changed["cost_minor"], changed["currency"], changed["start_date"]) == (
        1_500_050,
        "USD",
        "2025-05-01",
    )
    assert _delete(summit, "/v1/programs/summit").status_code == 204
    assert summit.get("/v1/programs/summit").json() == {"detail": "program 'summit' not found"}


def test_a_program_ending_before_it_starts_is_rejected(summit: Api) -> None:
    _ok(summit.patch("/v1/programs/summit", json={"start_date": "2025-05-01"}))
    response = summit.patch("/v1/programs/summit", json={"end_date": "2025-04-30"})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "end_date"], "msg": "must not be before start_date", "type": "value_error"}
    ]
    assert _ok(summit.get("/v1/programs/summit"))["end_date"] is None


def test_a_used_program_is_not_deleted(summit: Api) -> None:
    _ok(summit.post("/v1/touchpoints:batch", json={"touchpoints": [_touch(program="summit")]}))
    response = _delete(summit, "/v1/programs/summit")
    assert (response.status_code, response.json()["detail"]) == (
        409,
        "program 'summit' is used by 1 touchpoint and 0 attribution runs: it can be deleted only "
        "while unused",
    )
