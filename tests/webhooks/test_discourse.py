"""Discourse web hooks: topics, replies, accepted solutions and likes, signed with sha256= HMAC."""

from __future__ import annotations

from tests.conftest import Api
from tests.webhooks.conftest import Source, member_by_identity, touches
from tests.webhooks.payloads import (
    discourse_headers,
    discourse_like,
    discourse_post,
    discourse_topic,
)


def test_a_reply_is_stored_for_the_member_known_by_discourse_user_id(
    api: Api, discourse: Source
) -> None:
    response = discourse.deliver(discourse_post(), discourse_headers("post_created", "1001"))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "stored", "touchpoints": 1}
    member = member_by_identity(api, "user_id", "discourse", "12")
    assert member is not None
    assert touches(api) == [("discourse", "post:987", "forum_answer", member)]


def test_topics_solutions_and_likes_become_their_activity_types(
    api: Api, discourse: Source
) -> None:
    discourse.deliver(discourse_topic(), discourse_headers("topic_created", "1"))
    discourse.deliver(discourse_post(post_number=1), discourse_headers("post_created", "2"))
    discourse.deliver(discourse_post(), discourse_headers("accepted_solution", "3"))
    discourse.deliver(discourse_like(), discourse_headers("post_liked", "4"))
    assert [(e, k) for _, e, k, _ in touches(api)] == [
        ("like:987:31", "reaction"),
        ("solution:987", "forum_solution"),
        ("topic:55", "forum_question"),
    ]  # the topic's first post is the topic itself: counted once


def test_a_replayed_delivery_stores_nothing_twice(api: Api, discourse: Source) -> None:
    headers = discourse_headers("post_created", "1001")
    discourse.deliver(discourse_post(), headers)
    again = discourse.deliver(discourse_post(), headers)
    assert again.json() == {"status": "duplicate", "touchpoints": 0}
    redelivered = discourse.deliver(discourse_post(), discourse_headers("post_created", "1002"))
    assert redelivered.json() == {"status": "stored", "touchpoints": 1}
    assert len(touches(api)) == 1  # the same post: idempotent by source + external_id


def test_a_bad_signature_answers_401_and_stores_nothing(api: Api, discourse: Source) -> None:
    response = discourse.deliver(
        discourse_post(), discourse_headers("post_created", "1001"), secret="not-the-secret-at-all"
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "X-Discourse-Event-Signature does not match the body"}
    unsigned = discourse.deliver(
        discourse_post(), discourse_headers("post_created", "1001"), signed=False
    )
    assert unsigned.status_code == 401
    assert unsigned.json() == {"detail": "missing X-Discourse-Event-Signature"}
    assert touches(api) == []
    assert member_by_identity(api, "user_id", "discourse", "12") is None
    signed = discourse.deliver(discourse_post(), discourse_headers("post_created", "1001"))
    assert signed.json()["status"] == "stored"  # the refused ones did not use up the event id


def test_a_tampered_body_is_refused(api: Api, discourse: Source) -> None:
    from app.webhooks.signatures import sign

    body = b'{"post": {"id": 1}}'
    response = api.client.post(
        discourse.path,
        content=body.replace(b"1", b"2"),
        headers={
            **discourse_headers("post_created", "9"),
            "X-Discourse-Event-Signature": sign("discourse", discourse.secret, body),
        },
    )
    assert response.status_code == 401


def test_an_event_mapped_to_nothing_is_ignored(api: Api, discourse: Source) -> None:
    response = discourse.deliver({"ping": "OK"}, discourse_headers("ping", "1"))
    assert response.json() == {"status": "ignored", "touchpoints": 0}
    assert touches(api) == []


def test_an_unknown_address_is_404(api: Api) -> None:
    assert api.client.post("/v1/webhooks/discourse-nope", content=b"{}").status_code == 404
