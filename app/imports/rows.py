"""Checking one mapped row of an import: every wrong field is named, with what is wrong with it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import partial
from itertools import repeat
from operator import attrgetter, contains, methodcaller
from typing import Any

from app.bounds import MAX_INSTANT, MIN_INSTANT, properties_problem, surrogate_position
from app.imports.reading import Chunk, Record
from app.members.emails import normalize_email

Problems = list[tuple[str, str]]
LINE, MEMBER = 0, 7  # positions in a staged touch (the staging table's column order)
REQUIRED = "a value is required"
_TEXT_OR_NONE = {str, type(None)}


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

    def column(self, chunk: Chunk, name: str) -> list[Any]:
        """The field's value in every row of the chunk."""
        position = self.index.get(name)
        default = self.defaults.get(name)
        if position is None:
            return [default] * len(chunk)
        values = chunk.columns[position]
        return values if default is None else [default if v is None else v for v in values]


@dataclass(frozen=True)
class TouchRules:
    fields: Fields
    activity_types: Mapping[str, int]
    programs: Mapping[str, int]
    zone: tzinfo | None
    timestamp_format: str | None


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


@dataclass
class CheckedTouches:
    """A chunk's touches as they will be staged (in file order), and the problems of the others
    (line, field, message; a row's problems in the order of its fields)."""

    staged: list[tuple[Any, ...]]
    rejections: list[tuple[int, str, str]]


class _Problems:
    """Problems by row position, each row's in the order they are found."""

    def __init__(self) -> None:
        self.by_row: dict[int, Problems] = {}

    def add(self, row: int, field_name: str, message: str) -> None:
        self.by_row.setdefault(row, []).append((field_name, message))


def check_touches(chunk: Chunk, rules: TouchRules) -> CheckedTouches:
    """Every row of the chunk checked column by column: the rows to stage, as tuples in the
    staging table's order (seq and line: the line; source, external_id, activity_type_id,
    program_id, occurred_at, member_external_id, member_email, properties), and every problem
    of the other rows."""
    problems = _Problems()
    column = partial(rules.fields.column, chunk)
    raw_source = column("source")
    source = _bounded_column(raw_source, 64, "source", problems)
    for row in _missing(raw_source):
        problems.add(row, "source", "a value is required: give ?source= or map a source column")
    instants = _instants(column("occurred_at"), rules, problems)
    type_ids = _keys(
        column("activity_type"),
        rules.activity_types,
        "activity_type",
        "activity type",
        problems,
        required=True,
    )
    program_ids = _keys(
        column("program"), rules.programs, "program", "program", problems, required=False
    )
    raw_member_ids = column("member_external_id")
    member_ids = _bounded_column(raw_member_ids, 128, "member_external_id", problems)
    raw_emails = column("member_email")
    emails = _email_column(raw_emails, "member_email", problems)
    for row in _both_missing(raw_member_ids, raw_emails):
        problems.add(row, "member_email", "give member_email or member_external_id")
    by_email = member_ids.count(None) == len(member_ids)
    persons = emails if by_email else [m or e for m, e in zip(member_ids, emails, strict=True)]
    external_ids = _external_ids(column("external_id"), column("session"), persons, problems)
    properties = _properties_column(chunk, problems)
    staged = zip(
        chunk.lines,
        chunk.lines,
        source,
        external_ids,
        type_ids,
        program_ids,
        instants,
        member_ids,
        emails if by_email else [None if m else e for m, e in zip(member_ids, emails, strict=True)],
        properties,
        strict=True,
    )
    if not problems.by_row:
        return CheckedTouches(list(staged), [])
    bad = problems.by_row
    return CheckedTouches(
        [row for n, row in enumerate(staged) if n not in bad],
        [(chunk.lines[n], name, message) for n in sorted(bad) for name, message in bad[n]],
    )


def _missing(values: list[Any]) -> list[int]:
    if None not in values:
        return []
    return [n for n, value in enumerate(values) if value is None]


def _both_missing(first: list[Any], second: list[Any]) -> list[int]:
    if None not in first or None not in second:
        return []
    return [
        n for n, (a, b) in enumerate(zip(first, second, strict=True)) if a is None and b is None
    ]


def _all_text(values: list[Any]) -> bool:
    """Every value is text or None (always so in CSV; NDJSON may hold numbers and objects)."""
    return set(map(type, values)) <= _TEXT_OR_NONE


def _bounded_column(
    values: list[Any], limit: int, name: str, problems: _Problems
) -> list[str | None]:
    """The values as text; one that is too long, or holds NUL or a lone surrogate, is a problem
    (and None)."""
    texts = (
        values
        if _all_text(values)
        else [value if value is None or value.__class__ is str else str(value) for value in values]
    )
    present = list(filter(None, texts))
    joined = "".join(present)
    if (
        max(map(len, present), default=0) <= limit
        and "\x00" not in joined
        and surrogate_position(joined) is None
    ):
        return texts
    checked: list[str | None] = []
    for n, text in enumerate(texts):
        row_problems: Problems = []
        checked.append(_bounded(text, limit, name, row_problems))
        for field_name, message in row_problems:
            problems.add(n, field_name, message)
    return checked


def _instants(values: list[Any], rules: TouchRules, problems: _Problems) -> list[datetime | None]:
    zone, timestamp_format = rules.zone, rules.timestamp_format
    if timestamp_format is None and (whole := _iso_column(values)) is not None:
        return whole
    parsed = [
        None
        if value is None
        else parse_instant(value, zone=zone, timestamp_format=timestamp_format)
        for value in values
    ]
    instants: list[datetime | None] = parsed  # type: ignore[assignment]
    for n, value in enumerate(parsed):
        if value.__class__ is not datetime:
            problems.add(n, "occurred_at", REQUIRED if value is None else str(value))
            instants[n] = None
    return instants


def _iso_column(values: list[Any]) -> list[datetime | None] | None:
    """The common case read by whole columns: every value ISO 8601 text with a UTC offset,
    within the calendar. None when any value needs ``parse_instant``'s closer look (a Unix time,
    no offset, a bad value): the column is then read value by value, with the same results."""
    if None in values or not _all_text(values):
        return None
    try:
        parsed = list(map(datetime.fromisoformat, values))
        if None in map(attrgetter("tzinfo"), parsed):
            return None
        instants: list[datetime] = list(map(methodcaller("astimezone", UTC), parsed))
    except (ValueError, OverflowError):
        return None
    if min(instants) < MIN_INSTANT or max(instants) > MAX_INSTANT:
        return None
    return list[datetime | None](instants)


def _keys(
    values: list[Any],
    known: Mapping[str, int],
    name: str,
    what: str,
    problems: _Problems,
    *,
    required: bool,
) -> list[int | None]:
    """The ids of the keys named (activity types, programs); an unknown key is a problem."""
    if values.count(None) == len(values) and not required:
        return values
    ids = (
        list(map(known.get, values))
        if _all_text(values)
        else [None if v is None else known.get(str(v)) for v in values]
    )
    for n in _missing(ids):
        value = values[n]
        if value is not None:
            problems.add(n, name, f"unknown {what} {shown(value)}")
        elif required:
            problems.add(n, name, REQUIRED)
    return ids


def _email_column(values: list[Any], name: str, problems: _Problems) -> list[str | None]:
    if values and None not in values and _all_text(values):
        normalized: list[str | None] = list(map(str.lower, map(str.strip, values)))
        if max(map(len, normalized)) <= 320 and all(map(contains, normalized, repeat("@"))):  # type: ignore[arg-type]
            return normalized
    emails = [None if v is None else normalize_email(str(v)) for v in values]
    for n, (value, email) in enumerate(zip(values, emails, strict=True)):
        if value is not None and (email is None or len(email) > 320):
            problems.add(n, name, f"{shown(value)} is not an email address")
            emails[n] = None
    return emails


def _external_ids(
    given: list[Any], sessions: list[Any], persons: list[str | None], problems: _Problems
) -> list[str | None]:
    """The row's own id, else one per person and session: a webinar attendee who joins three
    times is one attendance."""
    if None not in given:
        return _bounded_column(given, 128, "external_id", problems)
    ids: list[Any] = []
    for n, (value, session, person) in enumerate(zip(given, sessions, persons, strict=True)):
        if value is not None:
            ids.append(value)
        elif session is None:
            problems.add(
                n,
                "external_id",
                f"{REQUIRED} (or map a session column: one touch per person and session)",
            )
            ids.append(None)
        else:
            ids.append(None if person is None else f"{session}:{person}")
    return _bounded_column(ids, 128, "external_id", problems)


def _properties_column(chunk: Chunk, problems: _Problems) -> list[str]:
    if chunk.properties is None:
        return ["{}"] * len(chunk)
    texts = []
    for n, properties in enumerate(chunk.properties):
        if properties and (problem := properties_problem(properties)) is not None:
            problems.add(n, "properties", problem)
        texts.append(json.dumps(properties, default=str) if properties else "{}")
    return texts


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
