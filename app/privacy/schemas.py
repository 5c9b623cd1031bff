from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(None, max_length=320, description="Erase the person with this email.")
    member: str | None = Field(
        None, min_length=1, max_length=128, description="Or: erase this member (its external_id)."
    )

    @model_validator(mode="after")
    def _one_subject(self) -> ErasureRequest:
        if (self.email is None) == (self.member is None):
            raise ValueError("give either email or member")
        return self


class ErasureOut(BaseModel):
    id: int = Field(description="The erasure's id.")
    requested_at: datetime = Field(description="When it was done, UTC.")
    subject_kind: str = Field(description="email or member: what the request named (not who).")
    members: int = Field(description="Members removed, with their identities and links.")
    identities: int = Field(description="Emails, platform ids and handles removed.")
    crm_records: int = Field(description="CRM contacts and leads with the person's emails removed.")
    touchpoints: int = Field(description="Touchpoints removed.")
    credits: int = Field(description="Credits removed from attribution runs.")
    runs_amended: list[int] = Field(
        description="Attribution runs whose credits were amended (frozen ones too)."
    )


class ErasurePage(BaseModel):
    items: list[ErasureOut] = Field(description="Erasures, oldest first. No personal data.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
