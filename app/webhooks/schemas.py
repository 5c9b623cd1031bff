from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

WebhookKind = Literal["discourse", "slack", "github", "generic"]
SOURCE_PATTERN = r"^[a-z0-9][a-z0-9_.\-]{0,31}$"

EventMap = dict[str, str | None]


class WebhookSourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: WebhookKind = Field(description="discourse, slack, github or generic.")
    source: str | None = Field(
        None,
        pattern=SOURCE_PATTERN,
        description="The touches' source and the platform of member ids (default: the kind); "
        "one per workspace, e.g. 'discourse-eu' for a second forum.",
    )
    event_map: EventMap = Field(
        default_factory=dict,
        description="Event type → activity type key, over the kind's defaults; null ignores an "
        "event type. Generic events use their `type` as the activity type unless mapped.",
    )
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=256,
        description="The signing secret, when the platform makes it (Slack's app signing "
        "secret); default: one is generated and shown once, to paste into the platform.",
        repr=False,
    )


class WebhookSourceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_map: EventMap = Field(description="Replaces the overrides of the kind's defaults.")


class RotateSecret(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str | None = Field(
        None,
        min_length=16,
        max_length=256,
        description="The new secret (default: generated and shown once).",
        repr=False,
    )
    overlap_hours: int = Field(
        24,
        ge=0,
        le=720,
        description="How long the old secret is still accepted, while the platform is updated.",
    )


class WebhookSourceOut(BaseModel):
    id: int = Field(description="The source's id, for the admin routes.")
    kind: WebhookKind = Field(description="discourse, slack, github or generic.")
    source: str = Field(description="The touches' source and the platform of member ids.")
    url_path: str = Field(description="Where the platform posts: /v1/webhooks/{key}.")
    event_map: EventMap = Field(description="The effective map: defaults with the overrides.")
    created_at: datetime = Field(description="When the source was created.")
    rotated_at: datetime | None = Field(description="When the secret was last rotated.")
    previous_secret_expires_at: datetime | None = Field(
        description="Until when the secret before the last rotation is still accepted."
    )


class WebhookSourceList(BaseModel):
    sources: list[WebhookSourceOut] = Field(description="The workspace's webhook sources.")


class WebhookSecret(BaseModel):
    source: WebhookSourceOut = Field(description="The source.")
    secret: str = Field(description="The signing secret: shown this once, never again.")


class WebhookAnswer(BaseModel):
    status: Literal["stored", "ignored", "duplicate"] | None = Field(
        None, description="stored, ignored (an event type mapped to nothing) or duplicate."
    )
    touchpoints: int | None = Field(None, description="Touchpoints stored by this delivery.")
    challenge: str | None = Field(None, description="Slack url_verification: the challenge.")


class GenericPerson(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=320, description="The person's email.")
    user_id: str | None = Field(
        None, min_length=1, max_length=128, description="Their id on the sending platform."
    )
    handle: str | None = Field(
        None, min_length=1, max_length=128, description="Their handle on the sending platform."
    )
    name: str | None = Field(None, max_length=255, description="Display name.")


class GenericEvent(BaseModel):
    """The body of a generic webhook: one event of one person."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=1, max_length=128, description="The event's id: a repeat stores nothing twice."
    )
    type: str = Field(
        min_length=1, max_length=64, description="The event type (mapped to an activity type)."
    )
    occurred_at: AwareDatetime = Field(description="When it happened, with a UTC offset.")
    person: GenericPerson = Field(description="Who: an email, or a user id on the platform.")
    session: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="A webinar or event session: one touch per person and session, at their "
        "earliest join, however often they join (Zoom's participant_joined).",
    )
    properties: dict[str, Any] = Field(default_factory=dict, description="Free attributes.")
