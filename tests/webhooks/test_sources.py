"""Admins create, list, rotate and delete webhook sources; secrets are shown once and kept
encrypted."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.models import WebhookSource
from tests.conftest import Api, SettableClock, new_workspace
from tests.imports.helpers import reading
from tests.webhooks.conftest import Source, make_source, touches
from tests.webhooks.payloads import discourse_headers, discourse_post


def test_the_secret_is_shown_once_and_stored_encrypted(api: Api, discourse: Source) -> None:
    listed = api.get("/v1/webhook-sources")
    assert listed.status_code == 200
    assert discourse.secret not in listed.text
    assert listed.json()["sources"][0]["event_map"]["post_created"] == "forum_answer"
    with reading(api) as session:
        stored = session.scalar(
            select(WebhookSource.secret_encrypted).where(WebhookSource.id == discourse.id)
        )
    assert stored is not None and discourse.secret.encode() not in stored


def test_rotation_accepts_both_secrets_until_the_old_one_expires(
    api: Api, discourse: Source, clock: SettableClock
) -> None:
    rotated = api.post(f"/v1/webhook-sources/{discourse.id}/rotate", json={"overlap_hours": 1})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != discourse.secret
    old = discourse.deliver(discourse_post(1), discourse_headers("post_created", "1"))
    new = discourse.deliver(
        discourse_post(2), discourse_headers("post_created", "2"), secret=new_secret
    )
    assert (old.status_code, new.status_code) == (200, 200)
    clock.now += timedelta(hours=1, seconds=1)
    expired = discourse.deliver(discourse_post(3), discourse_headers("post_created", "3"))
    assert expired.status_code == 401
    assert len(touches(api)) == 2


def test_a_second_source_of_a_kind_needs_its_own_name(api: Api, clock: SettableClock) -> None:
    make_source(api, clock, "discourse")
    again = api.post("/v1/webhook-sources", json={"kind": "discourse"})
    assert again.status_code == 409
    second = make_source(api, clock, "discourse", source="discourse-eu")
    assert second.path != "/v1/webhooks/discourse"


def test_an_event_map_naming_an_unknown_activity_type_is_refused(api: Api) -> None:
    response = api.post(
        "/v1/webhook-sources", json={"kind": "github", "event_map": {"star.created": "stargazing"}}
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "event_map", "star.created"],
            "msg": "unknown activity type 'stargazing'",
            "type": "value_error",
        }
    ]


def test_sources_need_an_admin_key_and_belong_to_their_workspace(
    api: Api, discourse: Source, settings
) -> None:  # type: ignore[no-untyped-def]
    workspace_id, key = new_workspace(settings, "Other Co")
    other = Api(client=api.client, workspace_id=workspace_id, key=key)
    assert other.get("/v1/webhook-sources").json() == {"sources": []}
    assert (
        other.client.delete(
            f"/v1/webhook-sources/{discourse.id}", headers=other.headers
        ).status_code
        == 404
    )
    assert (
        api.client.delete(f"/v1/webhook-sources/{discourse.id}", headers=api.headers).status_code
        == 204
    )
    assert (
        discourse.deliver(discourse_post(), discourse_headers("post_created", "1")).status_code
        == 404
    )
