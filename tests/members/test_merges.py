"""POST /v1/members:batch: records of one person (a shared email or platform user id) are merged,
never rejected, and every merge is reported."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.conftest import Api


def _batch(api: Api, *members: dict[str, Any]) -> Any:
    response = api.post("/v1/members:batch", json={"members": list(members)})
    assert response.status_code == 200, response.text
    return response.json()


def test_an_export_of_4000_records_with_shared_emails_loads_in_one_call(api: Api) -> None:
    """The shape that took 239 calls: every 80th record repeats the previous record's email."""
    records = [
        {"external_id": f"u{n:04d}", "name": f"User {n}", "emails": [f"user{n}@example.com"]}
        for n in range(4000)
    ]
    shared = range(80, 4000, 80)
    for n in shared:
        records[n]["emails"].append(f"User{n - 1}@Example.com ")
    answer = _batch(api, *records)
    assert (answer["records"], answer["members"], answer["created"]) == (4000, 3951, 3951)
    assert len(answer["merges"]) == len(shared) == 49
    assert answer["merges"][0] == {
        "member": "u0079",
        "merged": ["u0080"],
        "shared": ["email user79@example.com"],
    }
    merged = api.get("/v1/members/u0080").json()
    assert merged["external_id"] == "u0079"
    assert merged["emails"] == ["user79@example.com", "user80@example.com"]
    assert {"kind": "alias", "platform": "", "value": "u0080"} in merged["identities"]


def test_a_record_sharing_an_email_with_a_stored_member_is_merged_into_it(api: Api) -> None:
    _batch(api, {"external_id": "forum-7", "name": "Jo", "emails": ["jo@acme.com"]})
    answer = _batch(
        api, {"external_id": "slack-U1", "emails": ["jo@acme.com", "jo@personal.example"]}
    )
    assert answer["merges"] == [
        {"member": "forum-7", "merged": ["slack-U1"], "shared": ["email jo@acme.com"]}
    ]
    member = api.get("/v1/members/slack-U1").json()
    assert (member["external_id"], member["name"]) == ("forum-7", "Jo")
    assert member["emails"] == ["jo@acme.com", "jo@personal.example"]


def test_two_stored_members_joined_by_a_record_become_the_oldest(api: Api) -> None:
    _batch(api, {"external_id": "a", "emails": ["a@acme.com"]})
    _batch(api, {"external_id": "b", "emails": ["b@acme.com"]})
    answer = _batch(api, {"external_id": "c", "emails": ["a@acme.com", "b@acme.com"]})
    assert answer["merges"] == [
        {"member": "a", "merged": ["b", "c"], "shared": ["email a@acme.com", "email b@acme.com"]}
    ]
    assert api.get("/v1/members/b").json()["emails"] == ["a@acme.com", "b@acme.com"]


def test_touches_of_a_merged_member_belong_to_the_survivor(api: Api) -> None:
    api.put("/v1/activity-types/forum_answer", json={"name": "Answer", "category": "support"})
    _batch(api, {"external_id": "a", "emails": ["a@acme.com"]})
    _batch(api, {"external_id": "b", "emails": ["b@acme.com"]})
    stored = api.post(
        "/v1/touchpoints:batch",
        json={
            "touchpoints": [
                {
                    "source": "forum",
                    "external_id": "t1",
                    "activity_type": "forum_answer",
                    "occurred_at": "2025-03-01T12:00:00Z",
                    "member_external_id": "b",
                }
            ]
        },
    )
    assert stored.status_code == 200, stored.text
    _batch(api, {"external_id": "b", "emails": ["b@acme.com", "a@acme.com"]})
    again = api.post(
        "/v1/touchpoints:batch",
        json={
            "touchpoints": [
                {
                    "source": "forum",
                    "external_id": "t2",
                    "activity_type": "forum_answer",
                    "occurred_at": "2025-03-02T12:00:00Z",
                    "member_external_id": "b",
                }
            ]
        },
    )
    assert again.json() == {"received": 1, "stored": 1, "members_created": 0}
    rows = list(csv.DictReader(io.StringIO(api.get("/v1/exports/touchpoints.csv").text)))
    assert [(r["touchpoint_external_id"], r["person_external_id"]) for r in rows] == [
        ("t1", "a"),
        ("t2", "a"),
    ]


def test_records_with_the_same_platform_user_id_are_one_member(api: Api) -> None:
    slack = {"platform": "slack", "user_id": "U024BE7LH", "handle": "jo"}
    answer = _batch(
        api,
        {"external_id": "export-1", "identities": [slack]},
        {"external_id": "export-2", "identities": [slack], "emails": ["jo@acme.com"]},
    )
    assert answer["merges"] == [
        {"member": "export-1", "merged": ["export-2"], "shared": ["slack user id U024BE7LH"]}
    ]
    assert (answer["members"], answer["created"]) == (1, 1)


def test_a_blank_email_is_ignored_when_a_platform_id_is_given(api: Api) -> None:
    answer = _batch(
        api,
        {
            "external_id": "gh-1",
            "emails": ["", "  "],
            "identities": [{"platform": "github", "user_id": "583231", "handle": "@Octocat"}],
        },
    )
    assert (answer["members"], answer["merges"]) == (1, [])
    member = api.get("/v1/members/gh-1").json()
    assert member["emails"] == []
    assert member["identities"] == [
        {"kind": "handle", "platform": "github", "value": "octocat"},
        {"kind": "user_id", "platform": "github", "value": "583231"},
    ]


def test_a_blank_email_without_a_platform_id_is_rejected_and_nothing_is_written(api: Api) -> None:
    response = api.post(
        "/v1/members:batch",
        json={
            "members": [
                {"external_id": "ok", "emails": ["ok@acme.com"]},
                {"external_id": "x", "emails": [" "]},
            ]
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "members", 1, "emails", 0],
            "msg": "blank email: give an email address or a platform user id",
            "type": "value_error",
        }
    ]
    assert api.get("/v1/members/ok").status_code == 404


def test_every_bad_email_of_a_batch_is_named_at_once(api: Api) -> None:
    response = api.post(
        "/v1/members:batch",
        json={
            "members": [
                {"external_id": "a", "emails": ["not-an-email"]},
                {"external_id": "b", "emails": ["b@acme.com"]},
                {"external_id": "c", "emails": ["c@acme.com", "c at acme.com"]},
            ]
        },
    )
    assert response.status_code == 422
    assert [(e["loc"], e["msg"]) for e in response.json()["detail"]] == [
        (["body", "members", 0, "emails", 0], "'not-an-email' is not an email address"),
        (["body", "members", 2, "emails", 1], "'c at acme.com' is not an email address"),
    ]
    assert api.get("/v1/members/b").status_code == 404


def test_a_record_sent_again_replaces_only_the_emails_it_brought(api: Api) -> None:
    _batch(api, {"external_id": "a", "emails": ["a@acme.com"]})
    _batch(api, {"external_id": "b", "emails": ["a@acme.com", "b@acme.com"]})
    _batch(api, {"external_id": "b", "emails": ["b2@acme.com"]})
    assert api.get("/v1/members/a").json()["emails"] == ["a@acme.com", "b2@acme.com"]


def test_a_handle_moves_to_the_member_who_claims_it_last(api: Api) -> None:
    _batch(
        api,
        {
            "external_id": "old",
            "identities": [{"platform": "github", "user_id": "1", "handle": "jo"}],
        },
    )
    answer = _batch(
        api,
        {
            "external_id": "new",
            "identities": [{"platform": "github", "user_id": "2", "handle": "jo"}],
        },
    )
    assert answer["merges"] == []
    assert api.get("/v1/members/old").json()["identities"] == [
        {"kind": "user_id", "platform": "github", "value": "1"}
    ]
    assert {"kind": "handle", "platform": "github", "value": "jo"} in api.get(
        "/v1/members/new"
    ).json()["identities"]
