from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.bounds import Instant, Properties, Text


class PersonRef(BaseModel):
    """A CRM contact or lead as the person of a touch (campaign responses, CRM-logged activity)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["contact", "lead"] = Field(description="contact or lead.")
    external_id: Text = Field(
        min_length=1, max_length=64, description="The record's id in the CRM."
    )
    source: Text | None = Field(
        None,
        max_length=32,
        description="The CRM source of the record; default: the touchpoint's own source.",
    )


class TouchpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Text = Field(
        min_length=1, max_length=64, description="System the touch comes from (discourse, bevy)."
    )
    external_id: Text = Field(
        min_length=1, max_length=128, description="Its id there; with source, the idempotency key."
    )
    activity_type: Text = Field(max_length=64, description="Key of a defined activity type.")
    occurred_at: Instant = Field(description="When it happened, with a UTC offset.")
    member_external_id: Text | None = Field(
        None, max_length=128, description="The member's id in the community platform."
    )
    member_email: Text | None = Field(
        None,
        max_length=320,
        description="The member's email; a new member is created for an unknown email.",
    )
    person: PersonRef | None = Field(None, description="A CRM contact or lead instead of a member.")
    program: Text | None = Field(
        None, max_length=128, description="Key of the program the touch belongs to."
    )
    properties: Properties = Field(default_factory=dict, description="Free attributes.")

    @model_validator(mode="after")
    def _exactly_one_person(self) -> TouchpointIn:
        given = [self.member_external_id, self.member_email, self.person]
        if sum(value is not None for value in given) != 1:
            raise ValueError(
                "member_external_id: give exactly one of member_external_id, member_email, person"
            )
        return self


class TouchpointBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    touchpoints: list[TouchpointIn] = Field(
        min_length=1,
        max_length=100_000,
        description="Touchpoints (at most COMMATTR_TOUCHPOINT_BATCH_LIMIT); re-sending one replaces it (same source + id).",
    )


class TouchpointBatchResult(BaseModel):
    received: int = Field(description="Rows in the request.")
    stored: int = Field(description="Distinct touchpoints written (a repeated key counts once).")
    members_created: int = Field(description="Members created for unknown emails.")
