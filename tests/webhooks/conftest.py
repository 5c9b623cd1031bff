"""Webhook sources made through the admin API, and deliveries signed the way each platform signs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from app.models import MemberIdentity, Touchpoint
from app.webhooks.signatures import sign
from tests.conftest import Api, SettableClock
from tests.imports.helpers import reading


@dataclass
class Source:
    api: Api
    clock: SettableClock
    kind: str
    id: int
    path: str
    secret: str

    def deliver(
        self,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
        *,
        secret: str | None = None,
        timestamp: int | None = None,
        signed: bool = True,
    ) -> Any:
        body = json.dumps(payload).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        stamp = str(int(self.clock().timestamp()) if timestamp is None else timestamp)
        if self.kind == "slack":
            sent["X-Slack-Request-Timestamp"] = stamp
        if self.kind == "generic":
            sent["X-Commattr-Timestamp"] = stamp
        if signed:
            header = {
                "discourse": "X-Discourse-Event-Signature",
                "github": "X-Hub-Signature-256",
                "slack": "X-Slack-Signature",
                "generic": "X-Commattr-Signature",
            }[self.kind]
            uses_time = self.kind in ("slack", "generic")
            sent[header] = sign(
                self.kind, secret or self.secret, body, stamp if uses_time else None
            )
        return self.api.client.post(self.path, content=body, headers=sent)


def make_source(api: Api, clock: SettableClock, kind: str, **extra: Any) -> Source:
    response = api.post("/v1/webhook-sources", json={"kind": kind, **extra})
    assert response.status_code == 201, response.text
    created = response.json()
    return Source(
        api, clock, kind, created["source"]["id"], created["source"]["url_path"], created["secret"]
    )


def touches(api: Api) -> list[tuple[str, str, str, int | None]]:
    """(source, external_id, activity type key, member id) of the workspace's touches."""
    from app.models import ActivityType

    with reading(api) as session:
        rows = session.execute(
            select(
                Touchpoint.source, Touchpoint.external_id, ActivityType.key, Touchpoint.member_id
            )
            .join(ActivityType, ActivityType.id == Touchpoint.activity_type_id)
            .where(Touchpoint.workspace_id == api.workspace_id)
            .order_by(Touchpoint.external_id)
        )
        return [(s, e, k, m) for s, e, k, m in rows]


def member_by_identity(api: Api, kind: str, platform: str, value: str) -> int | None:
    with reading(api) as session:
        return session.scalar(
            select(MemberIdentity.member_id).where(
                MemberIdentity.workspace_id == api.workspace_id,
                MemberIdentity.kind == kind,
                MemberIdentity.platform == platform,
                MemberIdentity.value == value,
            )
        )


USED_TYPES = {
    "forum_question": "support",
    "forum_answer": "support",
    "forum_solution": "support",
    "reaction": "engagement",
    "chat_message": "engagement",
    "member_joined": "engagement",
    "bug_report": "product",
    "code_contribution": "contribution",
    "event_attended": "engagement",
}


@pytest.fixture(autouse=True)
def catalog(api: Api) -> None:
    """The activity types the default event maps name (the default catalog has them too)."""
    for key, category in USED_TYPES.items():
        response = api.put(f"/v1/activity-types/{key}", json={"name": key, "category": category})
        assert response.status_code == 200, response.text


@pytest.fixture
def discourse(api: Api, clock: SettableClock) -> Source:
    return make_source(api, clock, "discourse")


@pytest.fixture
def slack(api: Api, clock: SettableClock) -> Source:
    return make_source(api, clock, "slack", secret="8f742231b10e8888abcd99yyyzzz85a5")


@pytest.fixture
def github(api: Api, clock: SettableClock) -> Source:
    return make_source(api, clock, "github")


@pytest.fixture
def generic(api: Api, clock: SettableClock) -> Source:
    return make_source(api, clock, "generic", source="zapier")
