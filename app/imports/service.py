"""Touchpoint and member imports: read the file once, check and stage every row, then store the
valid rows in one set-based statement, or nothing at all when a row is wrong (unless partial).

Memory stays flat in the file's size: rows are checked and staged ``import_batch_rows`` at a time
in temporary tables, and duplicates are removed there by the database.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.catalog import repository as catalog
from app.config import Settings
from app.exceptions import AppError, InvalidInput, NotFound
from app.imports import repository
from app.imports.reading import Binary, Chunk, FileError, chunks
from app.imports.rows import (
    LINE,
    MEMBER,
    CheckedTouches,
    Fields,
    StagedMember,
    TouchRules,
    check_member,
    check_touches,
    shown,
)
from app.imports.schemas import (
    MEMBER_FIELDS,
    TOUCHPOINT_FIELDS,
    ColumnMapping,
    ImportOut,
    ImportSourceIn,
    ImportSourceList,
    ImportSourceOut,
    Rejection,
)
from app.members import repository as members_repository
from app.members.schemas import PLATFORM_PATTERN, MemberIn, PlatformIdentityIn
from app.members.service import create_email_members, upsert_members
from app.models import ImportJob, ImportSource, Workspace
from app.runs.schemas import Progress

CHUNK_BYTES = 1024 * 1024
SHOWN_REJECTIONS = 1_000
MEMBER_BATCH = 5_000
EMAIL_BATCH = 10_000
CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/x-jsonlines": "ndjson",
}
FIELDS = {"touchpoints": TOUCHPOINT_FIELDS, "members": MEMBER_FIELDS}

Checkpoint = Callable[[int], None]


class FileTooLarge(AppError):
    status_code = 413


class ImportRejected(Exception):
    """All-or-nothing: some rows are wrong, so nothing is stored."""

    def __init__(self, rejected: int, rejections: list[tuple[int, str, str]]) -> None:
        super().__init__(f"{rejected} rows rejected; nothing was stored")
        self.rejected = rejected
        self.rejections = rejections

    def as_invalid_input(self) -> InvalidInput:
        return InvalidInput(
            [
                {"loc": ["body", "line", line, field], "msg": message, "type": "value_error"}
                for line, field, message in self.rejections
            ]
        )


@dataclass(frozen=True)
class ImportSettings:
    kind: str
    source: str
    file_format: str
    mapping: ColumnMapping
    partial: bool


def file_too_large(settings: Settings) -> FileTooLarge:
    return FileTooLarge(f"body: an import holds at most {settings.import_max_bytes} bytes")


def resolve_settings(
    session: Session,
    *,
    workspace_id: int,
    kind: str,
    source: str,
    file_format: str | None,
    mapping: str | None,
    content_type: str | None,
    partial: bool,
) -> ImportSettings:
    """The request's format and mapping, else the ones saved for the source; checked."""
    if kind == "members" and not re.fullmatch(PLATFORM_PATTERN, source):
        raise InvalidInput.at(
            ("query", "source"),
            "a members import's source is the platform of its user ids: lower-case letters, "
            "digits, '_', '.', '-', at most 32",
        )
    saved = repository.import_source(session, workspace_id, kind, source)
    chosen = (
        _parse_mapping(mapping)
        if mapping is not None
        else ColumnMapping.model_validate(saved.mapping)
        if saved is not None
        else ColumnMapping()
    )
    _check_mapping(kind, chosen, ("query", "mapping"))
    media_type = (content_type or "").split(";")[0].strip().lower()
    resolved_format = (
        file_format or CONTENT_TYPES.get(media_type) or (saved.format if saved else None)
    )
    if resolved_format is None:
        raise InvalidInput.at(
            ("query", "format"),
            "give format=csv or format=ndjson, or send Content-Type text/csv or "
            "application/x-ndjson",
        )
    return ImportSettings(kind, source, resolved_format, chosen, partial)


def _parse_mapping(raw: str) -> ColumnMapping:
    try:
        return ColumnMapping.model_validate_json(raw)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidInput.at(("query", "mapping", *first["loc"]), first["msg"]) from error


def _check_mapping(kind: str, mapping: ColumnMapping, loc: tuple[str, ...]) -> None:
    known = FIELDS[kind]
    for part in ("columns", "defaults"):
        for name in getattr(mapping, part):
            if name not in known:
                raise InvalidInput.at(
                    (*loc, part, name), f"unknown field '{name}'; fields: {', '.join(known)}"
                )
    if mapping.timezone is not None:
        try:
            ZoneInfo(mapping.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise InvalidInput.at(
                (*loc, "timezone"), f"unknown time zone '{mapping.timezone}'"
            ) from error


def new_job(
    session: Session,
    *,
    workspace_id: int,
    request: ImportSettings,
    size: int,
    status: str,
    now: datetime,
) -> ImportJob:
    job = ImportJob(
        workspace_id=workspace_id,
        kind=request.kind,
        status=status,
        source=request.source,
        format=request.file_format,
        mapping=request.mapping.model_dump(),
        partial=request.partial,
        size_bytes=size,
        rows_read=0,
        stored=0,
        duplicates=0,
        rejected=0,
        suppressed=0,
        members_created=0,
        created_at=now,
        started_at=now if status == "running" else None,
    )
    session.add(job)
    session.flush()
    return job


def queue_file(session: Session, *, job: ImportJob, file: IO[bytes]) -> None:
    """Keep a queued import's file in the database, so a worker on any machine can read it."""
    repository.add_chunks(session, job.id, iter(lambda: file.read(CHUNK_BYTES), b""))


class ChunkReader(io.RawIOBase):
    """Reads a queued import's file back, one stored chunk at a time."""

    def __init__(self, session: Session, import_id: int) -> None:
        self._session = session
        self._import_id = import_id
        self._seq = 0
        self._data = memoryview(b"")
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._offset >= len(self._data):
            chunk = repository.chunk(self._session, self._import_id, self._seq)
            if chunk is None:
                return 0
            self._data, self._offset, self._seq = memoryview(chunk), 0, self._seq + 1
        taken = self._data[self._offset : self._offset + len(buffer)]
        buffer[: len(taken)] = taken
        self._offset += len(taken)
        return len(taken)


def execute(
    session: Session,
    *,
    workspace: Workspace,
    job: ImportJob,
    file: Binary,
    settings: Settings,
    now: datetime,
    checkpoint: Checkpoint | None = None,
) -> None:
    """Run the import into the session's transaction and fill in the job's result; the caller
    made the staging tables (``repository.staging``).

    Raises ``ImportRejected`` (all-or-nothing and a row is wrong) or ``FileError`` (the file
    cannot be read on); the caller rolls back."""
    mapping = ColumnMapping.model_validate(job.mapping)
    fields = FIELDS[job.kind]
    columns = [mapping.columns.get(name, name) for name in fields]
    read = chunks(
        file,
        file_format=job.format,
        columns=columns,
        required=list(mapping.columns.values()),
        properties=mapping.properties,
        delimiter=mapping.delimiter,
        size=settings.import_batch_rows,
    )
    located = Fields(
        index={name: i for i, name in enumerate(fields)},
        defaults={
            **({"source": job.source} if job.kind == "touchpoints" else {}),
            **mapping.defaults,
        },
    )
    if job.kind == "touchpoints":
        _import_touchpoints(
            session, workspace, job, read, located, mapping, settings, now, checkpoint
        )
    else:
        _import_members(session, workspace, job, read, located, mapping, settings, now, checkpoint)
    job.rejected = repository.rejected_rows(session)
    if job.rejected:
        repository.keep_rejections(session, job.id)
    job.status = "succeeded"
    job.finished_at = now
    session.flush()


def _limited(read: Iterator[Chunk], settings: Settings) -> Iterator[Chunk]:
    limit = settings.import_row_limit
    rows = 0
    for chunk in read:
        if rows + len(chunk) > limit:
            raise FileError(
                chunk.lines[limit - rows], "body", f"an import holds at most {limit} rows"
            )
        rows += len(chunk)
        yield chunk


def _all_or_nothing(session: Session, job: ImportJob) -> None:
    if job.partial:
        return
    rejected = repository.rejected_rows(session)
    if rejected:
        raise ImportRejected(rejected, repository.staged_rejections(session, limit=10_000))


def _import_touchpoints(
    session: Session,
    workspace: Workspace,
    job: ImportJob,
    read: Iterator[Chunk],
    fields: Fields,
    mapping: ColumnMapping,
    settings: Settings,
    now: datetime,
    checkpoint: Checkpoint | None,
) -> None:
    rules = TouchRules(
        fields=fields,
        activity_types={t.key: t.id for t in catalog.activity_types(session, workspace.id)},
        programs={p.key: p.id for p in catalog.programs(session, workspace.id)},
        zone=ZoneInfo(mapping.timezone) if mapping.timezone else None,
        timestamp_format=mapping.timestamp_format,
    )
    staged = 0
    for chunk in _limited(read, settings):
        job.rows_read += len(chunk)
        staged += _stage_touches(session, workspace.id, check_touches(chunk, rules))
        if checkpoint is not None:
            checkpoint(job.rows_read)
    _all_or_nothing(session, job)
    repository.analyze(session)
    job.members_created = _members_for_emails(session, workspace, now)
    distinct = repository.keep_first_touches(session, workspace_id=workspace.id)
    repository.analyze(session)
    job.duplicates = staged - distinct
    job.suppressed = repository.first_touches_without_person(session)
    job.stored = distinct - job.suppressed
    repository.store_touches(session, workspace_id=workspace.id, now=now)


def _stage_touches(session: Session, workspace_id: int, checked: CheckedTouches) -> int:
    """Stage the chunk's good rows and its rejections; a row naming an unknown member by its id
    is rejected. Answers how many rows were staged."""
    rows = checked.staged
    rejections = [
        (line, position, field, message)
        for position, (line, field, message) in enumerate(checked.rejections)
    ]
    named = {row[MEMBER] for row in rows if row[MEMBER] is not None}
    if named:
        members = members_repository.member_ids_by_external_id(session, workspace_id, named)
        unknown = {
            row[LINE] for row in rows if row[MEMBER] is not None and row[MEMBER] not in members
        }
        rejections += [
            (row[LINE], 0, "member_external_id", f"unknown member {shown(row[MEMBER])}")
            for row in rows
            if row[LINE] in unknown
        ]
        rows = [
            (*row[:MEMBER], members.get(row[MEMBER]) if row[MEMBER] else None, *row[MEMBER + 1 :])
            for row in rows
            if row[LINE] not in unknown
        ]
    repository.stage(session, repository.touch_stage, rows)
    repository.stage(session, repository.rejection_stage, rejections)
    return len(rows)


def _members_for_emails(session: Session, workspace: Workspace, now: datetime) -> int:
    """A member for every staged email no member has (set-based, then resolved); answers how
    many were created."""
    created = 0
    after = ""
    while emails := repository.new_emails(session, workspace.id, after=after, limit=EMAIL_BATCH):
        created += create_email_members(
            session, workspace=workspace, emails=emails, now=now
        ).created
        after = emails[-1]
    return created


def _import_members(
    session: Session,
    workspace: Workspace,
    job: ImportJob,
    read: Iterator[Chunk],
    fields: Fields,
    mapping: ColumnMapping,
    settings: Settings,
    now: datetime,
    checkpoint: Checkpoint | None,
) -> None:
    for chunk in _limited(read, settings):
        job.rows_read += len(chunk)
        rows: list[tuple[Any, ...]] = []
        rejections: list[tuple[Any, ...]] = []
        for record in map(chunk.record, range(len(chunk))):
            member, problems = check_member(
                record, fields, separator=mapping.email_separator, platform=job.source
            )
            if member is None:
                rejections += [
                    (record.line, position, field, message)
                    for position, (field, message) in enumerate(problems)
                ]
            else:
                rows.append(_member_row(member))
        repository.stage(session, repository.member_stage, rows)
        repository.stage(session, repository.rejection_stage, rejections)
        if checkpoint is not None:
            checkpoint(job.rows_read)
    _all_or_nothing(session, job)
    staged, distinct = repository.member_counts(session)
    job.duplicates = staged - distinct
    after = 0
    while staged_rows := repository.first_members(session, after_seq=after, limit=MEMBER_BATCH):
        members = [
            MemberIn(
                external_id=row.external_id,
                source=job.source,
                name=row.name,
                emails=row.emails.split("\n") if row.emails else [],
                identities=[
                    PlatformIdentityIn(platform=job.source, user_id=row.user_id, handle=row.handle)
                ]
                if row.user_id
                else [],
                properties=json.loads(row.properties),
            )
            for row in staged_rows
        ]
        result = upsert_members(session, workspace=workspace, members=members, now=now)
        job.members_created += result.created
        job.stored += len(members)
        after = staged_rows[-1].seq


def _member_row(member: StagedMember) -> tuple[Any, ...]:
    return (
        member.line,
        member.line,
        member.external_id,
        member.name,
        "\n".join(member.emails),
        member.properties,
        member.user_id,
        member.handle,
    )


def describe(session: Session, job: ImportJob) -> ImportOut:
    shown_rows = repository.rejections(session, job.id, after=0, limit=SHOWN_REJECTIONS)
    return ImportOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        progress=Progress.model_validate(job.progress) if job.progress else None,
        attempts=job.attempts,
        source=job.source,
        format=job.format,
        partial=job.partial,
        size_bytes=job.size_bytes,
        rows_read=job.rows_read,
        stored=job.stored,
        duplicates=job.duplicates,
        rejected=job.rejected,
        suppressed=job.suppressed,
        members_created=job.members_created,
        error=job.error,
        rejections=[Rejection(line=r.line, field=r.field, message=r.message) for r in shown_rows],
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def get_import(session: Session, *, workspace_id: int, import_id: int) -> ImportJob:
    job = repository.import_job(session, workspace_id, import_id)
    if job is None:
        raise NotFound(f"import {import_id} not found")
    return job


def save_source(
    session: Session,
    *,
    workspace_id: int,
    kind: str,
    key: str,
    body: ImportSourceIn,
    now: datetime,
) -> ImportSourceOut:
    _check_mapping(kind, body.mapping, ("body", "mapping"))
    source = repository.import_source(session, workspace_id, kind, key)
    if source is None:
        source = ImportSource(workspace_id=workspace_id, kind=kind, key=key, created_at=now)
        session.add(source)
    source.format = body.format
    source.mapping = body.mapping.model_dump()
    source.updated_at = now
    session.flush()
    return _source_out(source)


def _source_out(source: ImportSource) -> ImportSourceOut:
    return ImportSourceOut(
        kind=source.kind,
        key=source.key,
        format=source.format,
        mapping=ColumnMapping.model_validate(source.mapping),
        updated_at=source.updated_at,
    )


def list_sources(session: Session, *, workspace_id: int) -> ImportSourceList:
    return ImportSourceList(
        sources=[_source_out(s) for s in repository.import_sources(session, workspace_id)]
    )


def delete_source(session: Session, *, workspace_id: int, kind: str, key: str) -> None:
    source = repository.import_source(session, workspace_id, kind, key)
    if source is None:
        raise NotFound(f"import source '{key}' not found")
    session.delete(source)
    session.flush()


def start_import(
    session: Session,
    *,
    workspace: Workspace,
    request: ImportSettings,
    file: IO[bytes],
    size: int,
    settings: Settings,
    now: datetime,
    wait: bool,
) -> ImportJob:
    """Run a small import now; queue a large one (or any, with ``wait=False``) for the worker."""
    if not wait or size > settings.import_inline_bytes:
        job = new_job(
            session,
            workspace_id=workspace.id,
            request=request,
            size=size,
            status="queued",
            now=now,
        )
        queue_file(session, job=job, file=file)
        return job
    job = new_job(
        session, workspace_id=workspace.id, request=request, size=size, status="running", now=now
    )
    try:
        with repository.staging(session):
            execute(session, workspace=workspace, job=job, file=file, settings=settings, now=now)
    except ImportRejected as error:
        raise error.as_invalid_input() from error
    except FileError as error:
        raise InvalidInput.at(("body", "line", error.line, error.field), error.message) from error
    return job
