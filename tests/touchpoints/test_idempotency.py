"""Idempotency-Key on batch requests: a repeat answers the first answer and writes nothing more."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.models import IdempotencyKey
from tests.conftest import Api, SettableClock
from tests.imports.helpers import reading


def _touch(external_id: str, occurred_at: str = "2025-03-01T12:00:00Z") -> dict[str, Any]:
    return {
        "source": "discourse",
        "external_id": external_id,
        "activity_type": "forum_answer",
        "occurred_at": occurred_at,
        "member_email": "ada@example.com",
    }


def _batch(api: Api, touches: list[dict[str, Any]], key: str | None) -> Any:
    headers = {**api.headers, **({"Idempotency-Key": key} if key else {})}
    return api.client.post("/v1/touchpoints:batch", json={"touchpoints": touches}, headers=headers)


def _keys(api: Api) -> list[tuple[str, str]]:
    with reading(api) as session:
        rows = session.execute(
            select(IdempotencyKey.key, IdempotencyKey.state).where(
                IdempotencyKey.workspace_id == api.workspace_id
            )
        )
        return [(k, s) for k, s in rows]


def test_the_same_key_and_body_replays_the_first_answer(catalog: Api) -> None:
    first = _batch(catalog, [_touch("t-1")], "key-1")
    assert first.json() == {"received": 1, "stored": 1, "members_created": 1}
    again = _batch(catalog, [_touch("t-1")], "key-1")
    assert again.status_code == 200
    assert again.json() == first.json()  # members_created stays 1: the first answer, replayed
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


def test_the_same_key_with_another_body_is_refused(catalog: Api) -> None:
    _batch(catalog, [_touch("t-1")], "key-1")
    other = _batch(catalog, [_touch("t-2")], "key-1")
    assert other.status_code == 422
    assert other.json()["detail"] == [
        {
            "loc": ["header", "Idempotency-Key"],
            "msg": "this key was used for a different request; send a new key for a new request",
            "type": "value_error",
        }
    ]


def test_a_key_still_in_flight_answers_409_until_its_lease_ends(
    catalog: Api, clock: SettableClock
) -> None:
    touches = [_touch("t-3")]
    with reading(catalog) as session:  # what a concurrent request holds while it runs
        session.add(
            IdempotencyKey(
                workspace_id=catalog.workspace_id,
                key="key-3",
                fingerprint=_fingerprint_of(catalog, touches),
                state="in_flight",
                response_headers={},
                created_at=clock(),
                locked_until=clock() + timedelta(minutes=10),
                expires_at=clock() + timedelta(hours=24),
            )
        )
    in_flight = _batch(catalog, touches, "key-3")
    assert in_flight.status_code == 409
    assert in_flight.json() == {
        "detail": "Idempotency-Key: a request with this key is still in flight; retry later"
    }
    clock.now += timedelta(minutes=11)  # the first request died: a retry takes the key over
    retried = _batch(catalog, touches, "key-3")
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    assert _keys(catalog) == [("key-3", "done")]


def _fingerprint_of(api: Api, touches: list[dict[str, Any]]) -> str:
    """The fingerprint the server computes, read back from a key stored for the same request."""
    probe = _batch(api, touches, "probe")
    assert probe.status_code == 200
    with reading(api) as session:
        row = session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.workspace_id == api.workspace_id, IdempotencyKey.key == "probe"
            )
        )
        assert row is not None
        fingerprint = row.fingerprint
        session.delete(row)
    return fingerprint


def test_a_rejected_request_releases_its_key_and_writes_nothing(catalog: Api) -> None:
    bad = _batch(catalog, [_touch("t-1", occurred_at="2025-03-01T12:00:00")], "key-1")
    assert bad.status_code == 422
    assert _keys(catalog) == []
    assert catalog.get("/v1/members/ada@example.com").status_code == 404
    good = _batch(catalog, [_touch("t-1")], "key-1")
    assert good.status_code == 200
    assert _keys(catalog) == [("key-1", "done")]


def test_an_oversized_batch_is_refused_by_count_and_writes_nothing(catalog: Api) -> None:
    catalog.client.app.state.settings.touchpoint_batch_limit = 2  # type: ignore[attr-defined]
    response = _batch(catalog, [_touch(f"t-{i}") for i in range(3)], "key-1")
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "touchpoints"], "msg": "at most 2 per call", "type": "value_error"}
    ]
    assert _keys(catalog) == []
    assert catalog.get("/v1/members/ada@example.com").status_code == 404


def test_keys_expire_after_a_day(catalog: Api, clock: SettableClock) -> None:
    _batch(catalog, [_touch("t-1")], "key-1")
    clock.now += timedelta(hours=25)
    again = _batch(catalog, [_touch("t-2")], "key-1")
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers


def test_keys_belong_to_their_workspace(catalog: Api, settings: Any) -> None:
    from tests.conftest import new_workspace

    _batch(catalog, [_touch("t-1")], "key-1")
    _, key = new_workspace(settings)
    other = Api(client=catalog.client, workspace_id=0, key=key)
    other.put("/v1/activity-types/forum_answer", json={"name": "Answer", "category": "support"})
    response = _batch(other, [_touch("t-1")], "key-1")
    assert response.status_code == 200 and "Idempotent-Replayed" not in response.headers


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_a_malformed_key_is_refused(catalog: Api, key: str) -> None:
    response = catalog.client.post(
        "/v1/touchpoints:batch",
        json={"touchpoints": [_touch("t-1")]},
        headers={**catalog.headers, "Idempotency-Key": key},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
