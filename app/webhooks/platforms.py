"""What each platform's payload means: its events as touches of a person, with stable ids.

Each reader takes the request's headers and decoded JSON body and answers a ``Delivery``: the
platform's delivery id (a replay of it stores nothing) and the events it holds, each with the
event type the source's event map turns into an activity type. Shapes follow the platforms'
documentation: Discourse web hooks (``X-Discourse-Event``, ``{"post": ...}``,
``{"topic": ...}``, ``{"like": {"post", "user"}}``; discourse-solved's ``accepted_solution``
sends the post), the Slack Events API (``event_callback`` envelopes with ``event_id``,
``url_verification``), GitHub webhooks (``X-GitHub-Event``, ``X-GitHub-Delivery``, ``action``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from app.exceptions import InvalidInput
from app.webhooks.schemas import GenericEvent

# Keys of the default activity type catalog every workspace starts with (app/catalog/defaults.py).
DEFAULT_EVENT_MAPS: dict[str, dict[str, str | None]] = {
    "discourse": {
        "topic_created": "forum_question",
        "post_created": "forum_answer",
        "accepted_solution": "forum_solution",
        "post_liked": "reaction",
    },
    "slack": {
        "message": "chat_message",
        "reaction_added": "reaction",
        "team_join": "member_joined",
        "member_joined_channel": None,  # joining #general comes with team_join: off by default
    },
    "github": {
        "issues.opened": "bug_report",
        "issue_comment.created": "forum_answer",
        "pull_request.opened": "code_contribution",
        "pull_request.merged": None,
        "discussion.created": "forum_question",
        "discussion_comment.created": "forum_answer",
        "star.created": "reaction",
    },
    "generic": {},
}


@dataclass(frozen=True)
class Person:
    email: str | None = None
    user_id: str | None = None
    handle: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Event:
    event_type: str
    external_id: str
    occurred_at: datetime
    person: Person
    properties: dict[str, Any] = field(default_factory=dict)
    session: str | None = None  # one touch per person and session: the earliest is kept


@dataclass(frozen=True)
class Delivery:
    delivery_id: str | None
    event_type: str
    events: list[Event]
    challenge: str | None = None


Reader = Callable[[Mapping[str, str], dict[str, Any], datetime], Delivery]


class PayloadError(ValueError):
    """The payload lacks what its event needs."""


def _instant(value: Any) -> datetime:
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.replace(".", "", 1).isdigit()
    ):
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise PayloadError(f"not a timestamp: {value!r}")


def _get(document: Mapping[str, Any], *path: str) -> Any:
    value: Any = document
    for part in path:
        if not isinstance(value, Mapping) or value.get(part) is None:
            raise PayloadError(f"the payload has no {'.'.join(path)}")
        value = value[part]
    return value


def _compact(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# -- Discourse ------------------------------------------------------------------------------------


def _discourse_post_author(post: Mapping[str, Any]) -> Person:
    return Person(
        user_id=str(_get(post, "user_id")), handle=post.get("username"), name=post.get("name")
    )


def discourse(headers: Mapping[str, str], payload: dict[str, Any], now: datetime) -> Delivery:
    name = headers.get("X-Discourse-Event", "")
    delivery_id = headers.get("X-Discourse-Event-Id")
    events: list[Event] = []
    if name == "topic_created":
        topic = _get(payload, "topic")
        author = topic.get("created_by") or {}
        events.append(
            Event(
                name,
                f"topic:{_get(topic, 'id')}",
                _instant(_get(topic, "created_at")),
                Person(
                    user_id=str(author.get("id") or _get(topic, "user_id")),
                    handle=author.get("username"),
                    name=author.get("name"),
                ),
                _compact(
                    topic_id=topic.get("id"),
                    title=topic.get("title"),
                    category_id=topic.get("category_id"),
                ),
            )
        )
    elif name == "post_created":
        post = _get(payload, "post")
        if post.get("post_number") != 1:  # the first post is the topic, counted by topic_created
            events.append(
                Event(
                    name,
                    f"post:{_get(post, 'id')}",
                    _instant(_get(post, "created_at")),
                    _discourse_post_author(post),
                    _compact(topic_id=post.get("topic_id"), post_number=post.get("post_number")),
                )
            )
    elif name == "accepted_solution":
        post = _get(payload, "post")
        events.append(
            Event(
                name,
                f"solution:{_get(post, 'id')}",
                now,
                _discourse_post_author(post),
                _compact(topic_id=post.get("topic_id"), post_id=post.get("id")),
            )
        )
    elif name == "post_liked":
        post = _get(payload, "like", "post")
        user = _get(payload, "like", "user")
        events.append(
            Event(
                name,
                f"like:{_get(post, 'id')}:{_get(user, 'id')}",
                now,
                Person(user_id=str(user["id"]), handle=user.get("username"), name=user.get("name")),
                _compact(post_id=post.get("id"), topic_id=post.get("topic_id")),
            )
        )
    return Delivery(delivery_id, name or "unknown", events)


# -- Slack ----------------------------------------------------------------------------------------

_COUNTED_MESSAGES = {None, "thread_broadcast", "file_share"}


def slack(headers: Mapping[str, str], payload: dict[str, Any], now: datetime) -> Delivery:
    kind = payload.get("type")
    if kind == "url_verification":
        return Delivery(None, "url_verification", [], challenge=str(_get(payload, "challenge")))
    if kind != "event_callback":
        return Delivery(None, str(kind), [])
    event = _get(payload, "event")
    name = str(event.get("type", ""))
    events: list[Event] = []
    if name == "message":
        if (
            event.get("subtype") in _COUNTED_MESSAGES
            and not event.get("bot_id")
            and event.get("user")
        ):
            channel = event.get("channel")
            events.append(
                Event(
                    name,
                    f"message:{channel}:{_get(event, 'ts')}",
                    _instant(event["ts"]),
                    Person(user_id=str(event["user"])),
                    _compact(
                        channel=channel,
                        channel_type=event.get("channel_type"),
                        thread_ts=event.get("thread_ts"),
                    ),
                )
            )
    elif name == "reaction_added":
        item = event.get("item") or {}
        user = str(_get(event, "user"))
        events.append(
            Event(
                name,
                f"reaction:{item.get('channel')}:{item.get('ts')}:{user}:{event.get('reaction')}",
                _instant(event.get("event_ts") or payload.get("event_time") or now.timestamp()),
                Person(user_id=user),
                _compact(reaction=event.get("reaction"), channel=item.get("channel")),
            )
        )
    elif name == "member_joined_channel":
        user = str(_get(event, "user"))
        channel = _get(event, "channel")
        events.append(
            Event(
                name,
                f"join:{channel}:{user}",
                _instant(payload.get("event_time") or now.timestamp()),
                Person(user_id=user),
                _compact(channel=channel, channel_type=event.get("channel_type")),
            )
        )
    elif name == "team_join":
        user = _get(event, "user")
        profile = user.get("profile") or {}
        events.append(
            Event(
                name,
                f"team_join:{_get(user, 'id')}",
                _instant(payload.get("event_time") or now.timestamp()),
                Person(
                    user_id=str(user["id"]),
                    handle=user.get("name"),
                    email=profile.get("email"),
                    name=profile.get("real_name") or user.get("real_name"),
                ),
            )
        )
    return Delivery(payload.get("event_id"), name or "unknown", events)


# -- GitHub ---------------------------------------------------------------------------------------

_GITHUB_ITEMS = {
    "issues": ("issue", "issue"),
    "issue_comment": ("comment", "comment"),
    "pull_request": ("pull_request", "pull_request"),
    "discussion": ("discussion", "discussion"),
    "discussion_comment": ("comment", "discussion_comment"),
}


def _github_person(user: Mapping[str, Any]) -> Person:
    return Person(user_id=str(_get(user, "id")), handle=user.get("login"))


def github(headers: Mapping[str, str], payload: dict[str, Any], now: datetime) -> Delivery:
    name = headers.get("X-GitHub-Event", "")
    action = payload.get("action")
    delivery_id = headers.get("X-GitHub-Delivery")
    repository = (payload.get("repository") or {}).get("full_name")
    events: list[Event] = []
    if name in _GITHUB_ITEMS:
        field_name, prefix = _GITHUB_ITEMS[name]
        item = _get(payload, field_name)
        event_type, instant = f"{name}.{action}", item.get("created_at")
        if name == "pull_request" and action == "closed" and item.get("merged"):
            event_type, prefix, instant = (
                "pull_request.merged",
                "pull_request_merged",
                item.get("merged_at"),
            )
        author = item.get("user") or _get(payload, "sender")
        events.append(
            Event(
                event_type,
                f"{prefix}:{_get(item, 'id')}",
                _instant(instant) if instant else now,
                _github_person(author),
                _compact(
                    repository=repository, number=item.get("number"), url=item.get("html_url")
                ),
            )
        )
    elif name == "star" and action == "created":
        sender = _get(payload, "sender")
        repository_id = _get(payload, "repository", "id")
        starred_at = payload.get("starred_at")
        events.append(
            Event(
                "star.created",
                f"star:{repository_id}:{_get(sender, 'id')}",
                _instant(starred_at) if starred_at else now,
                _github_person(sender),
                _compact(repository=repository),
            )
        )
    return Delivery(delivery_id, f"{name}.{action}" if action else name or "unknown", events)


# -- generic --------------------------------------------------------------------------------------


def generic(headers: Mapping[str, str], payload: dict[str, Any], now: datetime) -> Delivery:
    try:
        event = GenericEvent.model_validate(payload)
    except ValidationError as error:
        raise InvalidInput(
            [
                {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in error.errors(include_url=False, include_context=False, include_input=False)
            ]
        ) from error
    person = Person(
        email=event.person.email,
        user_id=event.person.user_id,
        handle=event.person.handle,
        name=event.person.name,
    )
    external_id = event.id
    if event.session is not None:
        who = event.person.email or event.person.user_id or ""
        external_id = f"{event.session}:{who.strip().lower()}"
    return Delivery(
        event.id,
        event.type,
        [
            Event(
                event.type, external_id, event.occurred_at, person, event.properties, event.session
            )
        ],
    )


READERS: dict[str, Reader] = {
    "discourse": discourse,
    "slack": slack,
    "github": github,
    "generic": generic,
}
