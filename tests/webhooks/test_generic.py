"""The generic signed webhook (Zapier, Bevy, Zoom, Eventbrite): X-Commattr-Signature v1=HMAC of
'{X-Commattr-Timestamp}.{body}', one event a delivery."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, SettableClock
from tests.webhooks.conftest import Source, member_by_identity, touches


def _event(event_id: str = "evt-1", **overrides: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "event_attended",
        "occurred_at": "2025-09-30T15:00:00Z",
        "person": {"email": "ada@example.com", "name": "Ada"},
        "properties": {"event": "Berlin meetup"},
        **overrides,
    }


def test_a_signed_event_is_stored_with_its_type_as_activity_type(api: Api, generic: Source) -> None:
    response = generic.deliver(_event())
    assert response.json() == {"status": "stored", "touchpoints": 1}
    member = member_by_identity(api, "email", "", "ada@example.com")
    assert touches(api) == [("zapier", "evt-1", "event_attended", member)]
    assert generic.deliver(_event()).json()["status"] == "duplicate"


def test_no_email_and_no_user_id_is_refused_and_writes_nothing(api: Api, generic: Source) -> None:
    response = generic.deliver(_event(person={"name": "Nobody"}))
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "person"], "msg": "give an email or a user_id", "type": "value_error"}
    ]
    assert touches(api) == []
    assert generic.deliver(_event(person={"user_id": "bevy-77"})).json()["status"] == "stored"


def test_an_unknown_activity_type_is_refused_and_writes_nothing(api: Api, generic: Source) -> None:
    response = generic.deliver(_event(type="podcast_listened"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == (
        "event 'podcast_listened' maps to activity type 'podcast_listened', which is not defined: "
        "create it (PUT /v1/activity-types/podcast_listened) or change the source's event_map"
    )
    assert touches(api) == []
    assert member_by_identity(api, "email", "", "ada@example.com") is None
    assert generic.deliver(_event(type="podcast_listened")).status_code == 422  # not "duplicate"


def test_a_bad_timestamp_is_refused(api: Api, generic: Source) -> None:
    response = generic.deliver(_event(occurred_at="2025-09-30 15:00"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "occurred_at"]
    assert touches(api) == []


def test_stale_and_unsigned_deliveries_answer_401(
    api: Api, generic: Source, clock: SettableClock
) -> None:
    stale = generic.deliver(_event(), timestamp=int(clock().timestamp()) - 600)
    assert stale.status_code == 401
    assert stale.json() == {"detail": "X-Commattr-Timestamp is more than 5 minutes from now"}
    unsigned = generic.deliver(_event(), signed=False)
    assert unsigned.json() == {"detail": "missing X-Commattr-Signature"}
    assert touches(api) == []


def test_a_webinar_attendee_who_joins_three_times_is_one_attendance_at_the_first_join(
    api: Api, generic: Source
) -> None:
    joins = ["2025-09-30T15:10:00Z", "2025-09-30T15:02:00Z", "2025-09-30T15:30:00Z"]
    for n, at in enumerate(joins):
        answer = generic.deliver(
            _event(
                f"join-{n}",
                session="webinar-853",
                occurred_at=at,
                person={"email": "Ada@example.com"},
            )
        )
        assert answer.json() == {"status": "stored", "touchpoints": 1}
    stored = touches(api)
    assert [(s, e, k) for s, e, k, _ in stored] == [
        ("zapier", "webinar-853:ada@example.com", "event_attended")
    ]
    from sqlalchemy import select

    from app.models import Touchpoint
    from tests.imports.helpers import reading

    with reading(api) as session:
        when = session.scalar(
            select(Touchpoint.occurred_at).where(Touchpoint.workspace_id == api.workspace_id)
        )
    assert when is not None and when.isoformat() == "2025-09-30T15:02:00+00:00"
