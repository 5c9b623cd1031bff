from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Event id; ids grow with time.")
    api_key_id: int | None = Field(description="The key that acted; null for the command line.")
    actor: str = Field(description="api_key:<id> or cli.")
    action: str = Field(description="What was done: method and route, or a command.")
    target: dict[str, Any] = Field(description="The ids the action named.")
    change: dict[str, Any] | None = Field(
        description="The request body, with every secret-named field redacted."
    )
    occurred_at: datetime = Field(description="When.")


class AuditPage(BaseModel):
    items: list[AuditEventOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
