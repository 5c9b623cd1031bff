from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.bounds import Count, Flag, Text
from app.connections.schemas import OBJECTS
from app.runs.schemas import Progress
from app.sync.schedule import check_cron, check_time_zone


def _check_objects(value: list[str]) -> list[str]:
    unknown = [name for name in value if name not in OBJECTS]
    if unknown:
        raise ValueError(f"unknown object '{unknown[0]}': use {', '.join(OBJECTS)}")
    return value


class SyncJobCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objects: list[Text] = Field(
        default_factory=lambda: list(OBJECTS),
        max_length=len(OBJECTS),
        description="What to sync: " + ", ".join(OBJECTS),
    )
    cron: Text = Field(
        max_length=200, description="When, as a 5-field cron expression, e.g. '0 * * * *'."
    )
    time_zone: Text = Field(
        "UTC", max_length=64, description="IANA time zone the cron expression is read in."
    )
    enabled: Flag = Field(True, description="Whether the schedule runs.")
    reconcile_every: Count = Field(
        24,
        ge=1,
        le=100_000,
        description="Also compare junction rows' ids in full every N runs (Salesforce junction "
        "rows are compared at least hourly and HubSpot associations on every run regardless).",
    )

    _objects = field_validator("objects")(_check_objects)
    _cron = field_validator("cron")(check_cron)
    _zone = field_validator("time_zone")(check_time_zone)


class SyncJobUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objects: list[Text] | None = Field(None, max_length=len(OBJECTS), description="What to sync.")
    cron: Text | None = Field(None, max_length=200, description="5-field cron expression.")
    time_zone: Text | None = Field(
        None, max_length=64, description="IANA time zone of the cron expression."
    )
    enabled: Flag | None = Field(None, description="Whether the schedule runs.")
    reconcile_every: Count | None = Field(
        None, ge=1, le=100_000, description="Full id comparison every N runs."
    )

    @field_validator("objects")
    @classmethod
    def _objects(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_objects(value)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else check_cron(value)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else check_time_zone(value)


class SyncJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Job id.")
    connection_id: int = Field(description="The connection it syncs.")
    objects: list[str] = Field(description="What it syncs.")
    cron: Text = Field(max_length=200, description="5-field cron expression.")
    time_zone: str = Field(description="IANA time zone of the cron expression.")
    enabled: bool = Field(description="Whether the schedule runs.")
    reconcile_every: int = Field(description="Full id comparison every N runs.")
    next_run_at: datetime | None = Field(description="When it runs next (UTC).")


class RunNow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_resync: Flag = Field(
        False, description="Forget the cursors and read everything (deletes reconciled)."
    )


class SyncRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Run id.")
    connection_id: int = Field(description="The connection synced.")
    job_id: int | None = Field(description="The job that queued it, if any.")
    objects: list[str] = Field(description="What it syncs.")
    status: str = Field(
        description="queued, running, succeeded, partial (stopped at the API budget; resumable), "
        "failed (resumable from its cursors), skipped (another run held the connection) or "
        "cancelled."
    )
    progress: Progress | None = Field(
        description="Where a running sync is: the object it reads, objects done and in all."
    )
    attempts: int = Field(description="Times a worker took the run up.")
    full_resync: bool = Field(description="Whether it read everything.")
    reconcile: bool = Field(description="Whether it compared junction ids in full.")
    counts: dict[str, Any] = Field(
        description="Per object: read, created, updated, deleted, unchanged, skipped."
    )
    cursors: dict[str, Any] = Field(description="Per object: the stored (at, id) cursor.")
    error: dict[str, Any] | None = Field(description="Why it failed or stopped.")
    created_at: datetime = Field(description="When it was queued.")
    started_at: datetime | None = Field(description="When it started.")
    finished_at: datetime | None = Field(description="When it ended.")
