from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.bounds import Text
from app.runs.schemas import Progress

ImportKind = Literal["touchpoints", "members"]
FileFormat = Literal["csv", "ndjson"]

TOUCHPOINT_FIELDS = (
    "source",
    "external_id",
    "activity_type",
    "occurred_at",
    "member_email",
    "member_external_id",
    "member_user_id",
    "member_handle",
    "program",
    "session",
)
MEMBER_FIELDS = ("external_id", "name", "email", "user_id", "handle")


class ColumnMapping(BaseModel):
    """Which column of the file holds each field; without a mapping, columns named like the fields
    are used. NDJSON columns are keys, or dotted paths into nested objects (``user.email``)."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[Text, Text] = Field(
        default_factory=dict,
        description='Field → column name, e.g. {"member_email": "Email", "occurred_at": '
        '"Join Time"}. Touchpoint fields: '
        + ", ".join(TOUCHPOINT_FIELDS)
        + ". Member fields: "
        + ", ".join(MEMBER_FIELDS)
        + ".",
    )
    defaults: dict[Text, Text] = Field(
        default_factory=dict,
        description='Field → value used where the row has none, e.g. {"activity_type": '
        '"webinar_attended"}.',
    )
    properties: list[Text] | Literal["*"] = Field(
        default_factory=list,
        description='Columns copied into each record\'s properties; "*" copies every unmapped '
        "column.",
    )
    timezone: Text | None = Field(
        None,
        max_length=64,
        description="IANA zone of timestamps written without a UTC offset (Zoom and Eventbrite "
        "exports); without it such a timestamp rejects its row.",
    )
    timestamp_format: Text | None = Field(
        None,
        max_length=64,
        description='strptime format of the timestamps, e.g. "%m/%d/%Y %I:%M %p"; default: '
        "ISO 8601, or Unix seconds.",
    )
    delimiter: Text = Field(",", min_length=1, max_length=1, description="CSV field separator.")
    email_separator: Text = Field(
        ";",
        min_length=1,
        max_length=1,
        description="Members: separates several emails in the email column.",
    )


class ImportSourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: FileFormat | None = Field(None, description="The source's usual file format.")
    mapping: ColumnMapping = Field(description="Columns of this source's files.")


class ImportSourceOut(ImportSourceIn):
    kind: ImportKind = Field(description="touchpoints or members.")
    key: str = Field(description="The source's name; imports with ?source=KEY use its mapping.")
    updated_at: datetime = Field(description="When the mapping was last saved.")


class ImportSourceList(BaseModel):
    sources: list[ImportSourceOut] = Field(description="Saved mappings, by kind and key.")


class Rejection(BaseModel):
    line: int = Field(description="Line of the file where the row starts (the header is line 1).")
    field: str = Field(description="The field (or 'body' for the file itself) that is wrong.")
    message: str = Field(description="What is wrong with it.")


class RejectionPage(BaseModel):
    rejections: list[Rejection] = Field(description="Rejections in the order of the file.")
    next_after: int | None = Field(
        description="Pass as ?after= for the next page; null on the last page."
    )


class ImportOut(BaseModel):
    """The import's progress and, once finished, its result document."""

    id: int = Field(description="The import's id, for GET /v1/imports/{id}.")
    kind: ImportKind = Field(description="touchpoints or members.")
    status: str = Field(
        description="queued, running, succeeded, failed or cancelled; a queued import a worker "
        "failed to finish is tried again until COMMATTR_JOB_MAX_ATTEMPTS attempts."
    )
    progress: Progress | None = Field(
        description="Where a running import is: rows read so far (the total is not known)."
    )
    attempts: int = Field(description="Times a worker took the import up (0: run inline).")
    source: str = Field(description="The source named by the request.")
    format: FileFormat = Field(description="csv or ndjson.")
    partial: bool = Field(description="Whether valid rows are stored beside rejected ones.")
    size_bytes: int = Field(description="Size of the file as sent.")
    rows_read: int = Field(description="Data rows read so far (the header and blank lines aside).")
    stored: int = Field(description="Distinct records written (created or updated).")
    duplicates: int = Field(
        description="Rows repeating an earlier row's key (touchpoints: source + external_id, or "
        "the same person in the same session; members: external_id); the earliest is kept."
    )
    rejected: int = Field(description="Rows rejected (one row may have several reasons).")
    suppressed: int = Field(
        description="Rows of erased people (the suppression list): skipped, never stored."
    )
    members_created: int = Field(description="Members created for people seen the first time.")
    error: str | None = Field(description="Why a failed import failed.")
    rejections: list[Rejection] = Field(
        description="The first 1,000 rejections, by line; every one at /v1/imports/{id}/rejections."
    )
    created_at: datetime = Field(description="When the file was received.")
    started_at: datetime | None = Field(description="When reading it began.")
    finished_at: datetime | None = Field(description="When it succeeded or failed.")
