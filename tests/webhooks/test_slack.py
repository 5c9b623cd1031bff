"""Slack Events API: v0 signatures with a fresh timestamp, url_verification, messages, reactions
and member joins; a user known by id until an email joins them to a person."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Api, SettableClock
from tests.webhooks.conftest import Source, member_by_identity, touches
from tests.webhooks.payloads import slack_envelope, slack_message, slack_reaction, slack_team_join


def _now(clock: SettableClock) -> int:
    return int(clock().timestamp())


def test_url_verification_is_answered_with_the_challenge(slack: Source) -> None:
    payload = {
        "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    response = slack.deliver(payload)
    assert response.status_code == 200
    assert response.json() == {"challenge": payload["challenge"]}
    assert slack.deliver(payload, signed=False).status_code == 401


def test_messages_and_reactions_are_stored_for_the_slack_user(
    api: Api, slack: Source, clock: SettableClock
) -> None:
    now = _now(clock)
    message = slack_envelope(slack_message("U0ADA00001", f"{now - 60}.000200"), "Ev01", now - 60)
    reaction = slack_envelope(
        slack_reaction("U0ADA00001", f"{now - 60}.000200", f"{now - 30}.000300"), "Ev02", now - 30
    )
    assert slack.deliver(message).json() == {"status": "stored", "touchpoints": 1}
    assert slack.deliver(reaction).json() == {"status": "stored", "touchpoints": 1}
    member = member_by_identity(api, "user_id", "slack", "U0ADA00001")
    assert member is not None
    assert [(k, m) for _, _, k, m in touches(api)] == [
        ("chat_message", member),
        ("reaction", member),
    ]


def test_a_retried_event_stores_nothing_twice(
    api: Api, slack: Source, clock: SettableClock
) -> None:
    now = _now(clock)
    message = slack_envelope(slack_message("U0ADA00001", f"{now}.000200"), "Ev01", now)
    slack.deliver(message)
    retried = slack.deliver(
        message, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    assert retried.json() == {"status": "duplicate", "touchpoints": 0}
    assert len(touches(api)) == 1


def test_a_stale_timestamp_answers_401_and_stores_nothing(
    api: Api, slack: Source, clock: SettableClock
) -> None:
    now = _now(clock)
    message = slack_envelope(slack_message("U0ADA00001", f"{now}.000200"), "Ev01", now)
    response = slack.deliver(message, timestamp=now - 301)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "X-Slack-Request-Timestamp is more than 5 minutes from now"
    }
    assert slack.deliver(message, timestamp=now + 301).status_code == 401
    assert touches(api) == []


def test_bot_messages_and_edits_are_not_touches(
    api: Api, slack: Source, clock: SettableClock
) -> None:
    now = _now(clock)
    bot = {**slack_message("U0BOT00001", f"{now}.1"), "subtype": "bot_message", "bot_id": "B01"}
    edit = {**slack_message("U0ADA00001", f"{now}.2"), "subtype": "message_changed"}
    assert slack.deliver(slack_envelope(bot, "Ev01", now)).json()["status"] == "ignored"
    assert slack.deliver(slack_envelope(edit, "Ev02", now)).json()["status"] == "ignored"
    assert touches(api) == []


def test_earlier_touches_count_for_the_person_once_an_email_joins_them(
    api: Api, slack: Source, clock: SettableClock
) -> None:
    api.post(
        "/v1/members:batch",
        json={"members": [{"external_id": "m-ada", "emails": ["ada@example.com"]}]},
    )
    now = _now(clock)
    slack.deliver(slack_envelope(slack_message("U0ADA00001", f"{now - 90}.1"), "Ev01", now - 90))
    by_slack_id = member_by_identity(api, "user_id", "slack", "U0ADA00001")
    by_email = member_by_identity(api, "email", "", "ada@example.com")
    assert by_slack_id is not None and by_slack_id != by_email
    clock.now += timedelta(seconds=1)
    joined = slack.deliver(
        slack_envelope(slack_team_join("U0ADA00001", "Ada@Example.com"), "Ev02", now)
    )
    assert joined.json() == {"status": "stored", "touchpoints": 1}
    person = member_by_identity(api, "email", "", "ada@example.com")
    assert member_by_identity(api, "user_id", "slack", "U0ADA00001") == person
    assert [(k, m) for _, _, k, m in touches(api)] == [
        ("chat_message", person),
        ("member_joined", person),
    ]


def test_a_members_import_naming_the_slack_id_and_an_email_joins_them(
    api: Api, slack: Source, clock: SettableClock
) -> None:
    from tests.imports.helpers import upload

    now = _now(clock)
    slack.deliver(slack_envelope(slack_message("U0ADA00001", f"{now - 90}.1"), "Ev01", now - 90))
    before = member_by_identity(api, "user_id", "slack", "U0ADA00001")
    assert before is not None and member_by_identity(api, "email", "", "ada@example.com") is None
    response = upload(
        api,
        "Slack ID,Handle,Email\nU0ADA00001,ada,ada@example.com\n",
        path="/v1/members:import",
        source="slack",
        mapping='{"columns": {"user_id": "Slack ID", "handle": "Handle", "email": "Email"}}',
    )
    assert response.status_code == 200, response.text
    assert (response.json()["stored"], response.json()["members_created"]) == (1, 0)
    person = member_by_identity(api, "email", "", "ada@example.com")
    assert person == member_by_identity(api, "user_id", "slack", "U0ADA00001")
    assert [m for _, _, _, m in touches(api)] == [person]
