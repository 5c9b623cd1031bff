from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Scope = Literal["read", "write", "admin"]


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="What the key is for.")
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=3,
        description="read, write, admin (admin implies write, write read).",
    )
    expires_at: AwareDatetime | None = Field(
        None, description="When the key stops working; null: never (revoke it instead)."
    )


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Key id.")
    name: str = Field(description="What the key is for.")
    prefix: str = Field(description="The key's first characters, to recognise it; never the key.")
    scopes: list[str] = Field(description="Scopes held.")
    created_at: datetime = Field(description="When it was made.")
    expires_at: datetime | None = Field(
        description="When it stops working (its expiry, or the end of a rotation's grace period)."
    )
    last_used_at: datetime | None = Field(description="Last request made with it (to the minute).")
    revoked_at: datetime | None = Field(description="When it was revoked.")
    replaced_by_id: int | None = Field(description="The key that replaced it in a rotation.")


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret: shown this once, stored only as a digest.")
