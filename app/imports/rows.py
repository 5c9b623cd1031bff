"""Checking one mapped row of an import: every wrong field is named, with what is wrong with it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from app.bounds import MAX_INSTANT, MIN_INSTANT, properties_problem, surrogate_position
from app.imports.reading import Record
from app.members.emails import normalize_email

Problems = list[tuple[str, str]]
REQUIRED = "a value is required"


@dataclass(frozen=True)
class Fields:
    """Where each field's value is in a record, and the value to use where the row has none."""

    index: Mapping[str, int]
    defaults: Mapping[str, str]

    def get(self, record: Record, name: str) -> Any:
        position = self.index.get(name)
        if position is not None:
            value = record.values[position]
            if value is not None:
                return value
        return self.defaults.get(name)


@dataclass(frozen=True)
class TouchRules:
    fields: Fields
    activity_types: Mapping[str, int]
    programs: Mapping[str, int]
    zone: tzinfo | None
    timestamp_format: str | None


@dataclass
class StagedTouch:
    line: int
    source: str
    external_id: str
    activity_type_id: int
    program_id: int | None
    occurred_at: datetime
    member_email: str | None
    member_external_id: str | None
    properties: str


@dataclass
class StagedMember:
    line: int
    external_id: str
    name: str | None
    emails: list[str] = field(default_factory=list)
    properties: str = "{}"
    user_id: str | None = None
    handle: str | None = None


def shown(value: Any) -> str:
    """A value quoted in a message, cut short so a message never carries a whole row."""
    text = str(value)
    return f"'{text[:80]}…'" if len(text) > 80 else f"'{text}'"


def parse_instant(
    value: Any, *, zone: tzinfo | None, timestamp_format: str | None
) -> datetime | str:
    """The instant in UTC, or what is wrong with the value."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_unix(value, value)
    text = str(value)
    try:
        if timestamp_format:
            instant = datetime.strptime(text, timestamp_format)
        elif text.replace(".", "", 1).isdigit():
            return _from_unix(float(text), text)
        else:
            instant = datetime.fromisoformat(text)
    except ValueError:
        if timestamp_format:
            return f"{shown(text)} does not match the format '{timestamp_format}'"
        return (
            f"{shown(text)} is not a timestamp: use ISO 8601 (2025-03-01T12:00:00Z) or Unix seconds"
        )
    if instant.tzinfo is None:
        if zone is None:
            return f"{shown(text)} has no UTC offset: add one, or set the mapping's timezone"
        instant = instant.replace(tzinfo=zone)
    try:
        return _in_calendar(instant.astimezone(UTC), text)
    except OverflowError:
        return _in_calendar(None, text)


def _in_calendar(instant: datetime | None, raw: Any) -> datetime | str:
    if instant is None or not MIN_INSTANT <= instant <= MAX_INSTANT:
        return f"{shown(raw)} is outside {MIN_INSTANT:%Y-%m-%d}..{MAX_INSTANT:%Y-%m-%d}"
    return instant


def _from_unix(seconds: float, raw: Any) -> datetime | str:
    try:
        return _in_calendar(datetime.fromtimestamp(seconds, UTC), raw)
    except (OverflowError, OSError, ValueError):
        return f"{shown(raw)} is not a timestamp: Unix seconds out of range"


def _bounded(value: Any, limit: int, name: str, problems: Problems) -> str | None:
    if value is None:
        return None
    text = str(value)
    if len(text) > limit:
        problems.append((name, f"at most {limit} characters"))
        return None
    if "\x00" in text or surrogate_position(text) is not None:
        problems.append((name, "must be valid Unicode text without NUL characters"))
        return None
    return text


def check_touch(record: Record, rules: TouchRules) -> tuple[StagedTouch | None, Problems]:
    """The row as it will be staged, or every problem it has."""
    get = rules.fields.get
    problems: Problems = []
    raw_source = get(record, "source")
    source = _bounded(raw_source, 64, "source", problems)
    if raw_source is None:
        problems.append(("source", "a value is required: give ?source= or map a source column"))
    instant: datetime | None = None
    raw_time = get(record, "occurred_at")
    if raw_time is None:
        problems.append(("occurred_at", REQUIRED))
    else:
        parsed = parse_instant(raw_time, zone=rules.zone, timestamp_format=rules.timestamp_format)
        if isinstance(parsed, str):
            problems.append(("occurred_at", parsed))
        else:
            instant = parsed
    type_key = get(record, "activity_type")
    type_id = rules.activity_types.get(str(type_key)) if type_key is not None else None
    if type_key is None:
        problems.append(("activity_type", REQUIRED))
    elif type_id is None:
        problems.append(("activity_type", f"unknown activity type {shown(type_key)}"))
    program_key = get(record, "program")
    program_id = rules.programs.get(str(program_key)) if program_key is not None else None
    if program_key is not None and program_id is None:
        problems.append(("program", f"unknown program {shown(program_key)}"))
    member_external_id = _bounded(
        get(record, "member_external_id"), 128, "member_external_id", problems
    )
    email = _email(get(record, "member_email"), "member_email", problems)
    if get(record, "member_external_id") is None and get(record, "member_email") is None:
        problems.append(("member_email", "give member_email or member_external_id"))
    external_id = _external_id(record, rules.fields, member_external_id or email, problems)
    _check_properties(record.properties, problems)
    if problems:
        return None, problems
    assert source is not None and instant is not None and type_id is not None
    assert external_id is not None
    return (
        StagedTouch(
            line=record.line,
            source=source,
            external_id=external_id,
            activity_type_id=type_id,
            program_id=program_id,
            occurred_at=instant,
            member_email=None if member_external_id else email,
            member_external_id=member_external_id,
            properties=json.dumps(record.properties, default=str) if record.properties else "{}",
        ),
        problems,
    )


def _check_properties(properties: Mapping[str, Any] | None, problems: Problems) -> None:
    problem = properties_problem(properties) if properties else None
    if problem is not None:
        problems.append(("properties", problem))


def _email(value: Any, name: str, problems: Problems) -> str | None:
    if value is None:
        return None
    email = normalize_email(str(value))
    if email is None or len(email) > 320:
        problems.append((name, f"{shown(value)} is not an email address"))
        return None
    return email


def _external_id(
    record: Record, fields: Fields, person: str | None, problems: Problems
) -> str | None:
    """The row's own id, else one per person and session: a webinar attendee who joins three
    times is one attendance."""
    given = fields.get(record, "external_id")
    if given is None:
        session = fields.get(record, "session")
        if session is None:
            problems.append(
                (
                    "external_id",
                    f"{REQUIRED} (or map a session column: one touch per person and session)",
                )
            )
            return None
        if person is None:
            return None
        given = f"{session}:{person}"
    return _bounded(given, 128, "external_id", problems)


def check_member(
    record: Record, fields: Fields, *, separator: str, platform: str
) -> tuple[StagedMember | None, Problems]:
    """A member row: its emails, and its user id and handle on the import's source platform."""
    problems: Problems = []
    emails: list[str] = []
    raw_emails = fields.get(record, "email")
    for raw in str(raw_emails).split(separator) if raw_emails is not None else ():
        if raw.strip() and (email := _email(raw.strip(), "email", problems)) is not None:
            emails.append(email)
    if len(emails) > 50:
        problems.append(("email", "at most 50 emails per member"))
    user_id = _bounded(fields.get(record, "user_id"), 128, "user_id", problems)
    handle = _bounded(fields.get(record, "handle"), 128, "handle", problems)
    raw_id = fields.get(record, "external_id")
    external_id = _bounded(raw_id, 128, "external_id", problems)
    if raw_id is None:
        if raw_emails is None and fields.get(record, "user_id") is None:
            problems.append(("external_id", "give external_id, email or user_id"))
        external_id = f"{platform}:{user_id}" if user_id else emails[0] if emails else None
    name = _bounded(fields.get(record, "name"), 255, "name", problems)
    _check_properties(record.properties, problems)
    if problems or external_id is None:
        return None, problems
    return (
        StagedMember(
            line=record.line,
            external_id=external_id,
            name=name,
            emails=list(dict.fromkeys(emails)),
            properties=json.dumps(record.properties, default=str) if record.properties else "{}",
            user_id=user_id,
            handle=handle,
        ),
        problems,
    )
