"""All SQL of imports: temporary staging tables filled by COPY (PostgreSQL) or executemany
(SQLite), then one set-based insert that keeps the earliest row of each key."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    Select,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app.models import (
    IdentityKind,
    ImportChunk,
    ImportJob,
    ImportRejection,
    ImportSource,
    MemberIdentity,
    Touchpoint,
)
from app.models.base import UTCDateTime
from app.upsert import copy_rows

_stage = MetaData()

touch_stage = Table(
    "import_touch_stage",
    _stage,
    Column("seq", BigInteger),
    Column("line", BigInteger),
    Column("source", String),
    Column("external_id", String),
    Column("activity_type_id", BigInteger),
    Column("program_id", BigInteger),
    Column("occurred_at", UTCDateTime()),
    Column("member_id", BigInteger),
    Column("member_email", String),
    Column("properties", Text),
    prefixes=["TEMPORARY"],
)
first_touch = Table(
    "import_first_touch",
    _stage,
    Column("source", String),
    Column("external_id", String),
    Column("activity_type_id", BigInteger),
    Column("program_id", BigInteger),
    Column("occurred_at", UTCDateTime()),
    Column("member_id", BigInteger),
    Column("properties", Text),
    prefixes=["TEMPORARY"],
)
member_stage = Table(
    "import_member_stage",
    _stage,
    Column("seq", BigInteger),
    Column("line", BigInteger),
    Column("external_id", String),
    Column("name", String),
    Column("emails", Text),
    Column("properties", Text),
    Column("user_id", String),
    Column("handle", String),
    Index("import_member_stage_key", "external_id", "seq"),
    prefixes=["TEMPORARY"],
)
rejection_stage = Table(
    "import_rejection_stage",
    _stage,
    Column("line", BigInteger),
    Column("position", BigInteger, doc="of the problem among its row's"),
    Column("field", String),
    Column("message", String),
    prefixes=["TEMPORARY"],
)
STAGE_TABLES = (touch_stage, first_touch, member_stage, rejection_stage)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@contextmanager
def staging(session: Session) -> Iterator[None]:
    """Fresh temporary tables on the session's connection, dropped when the block ends well.

    After an error the transaction may be unusable: the tables are left to the rollback (they
    were made in it) or to the next import on the connection, which starts by dropping them."""
    connection = session.connection()
    for table in STAGE_TABLES:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table.name}")
        table.create(connection)
    yield
    for table in STAGE_TABLES:
        session.connection().exec_driver_sql(f"DROP TABLE IF EXISTS {table.name}")


def stage(session: Session, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Append rows (tuples in the table's column order) to a staging table."""
    copy_rows(session, table, rows)


def analyze(session: Session) -> None:
    """Give PostgreSQL's planner the staged tables' real sizes (temporary tables have none)."""
    if _is_postgres(session):
        for table in (touch_stage, first_touch, member_stage):
            session.connection().exec_driver_sql(f"ANALYZE {table.name}")


def count(session: Session, table: Table) -> int:
    return int(session.scalar(select(func.count()).select_from(table)) or 0)


def _email_identity(workspace_id: int, email: Any) -> Any:
    return and_(
        MemberIdentity.workspace_id == workspace_id,
        MemberIdentity.kind == IdentityKind.EMAIL.value,
        MemberIdentity.platform == "",
        MemberIdentity.value == email,
    )


def new_emails(session: Session, workspace_id: int, *, after: str, limit: int) -> list[str]:
    """The next staged emails (in order, after ``after``) that no member has."""
    column = touch_stage.c.member_email
    owned = select(MemberIdentity.id).where(_email_identity(workspace_id, column)).exists()
    return list(
        session.scalars(
            select(column)
            .where(column.is_not(None), column > after, ~owned)
            .group_by(column)
            .order_by(column)
            .limit(limit)
        )
    )


def _first_touches() -> Any:
    """Staged touches ranked within their key: the earliest (then the first in the file) is 1."""
    return select(
        touch_stage,
        func.row_number()
        .over(
            partition_by=(touch_stage.c.source, touch_stage.c.external_id),
            order_by=(touch_stage.c.occurred_at, touch_stage.c.seq),
        )
        .label("rank"),
    ).subquery()


def keep_first_touches(session: Session, *, workspace_id: int) -> int:
    """The first staged touch of each key, with its member (None: an erased person's email),
    into ``first_touch``; answers how many keys."""
    ranked = _first_touches()
    chosen = (
        select(
            ranked.c.source,
            ranked.c.external_id,
            ranked.c.activity_type_id,
            ranked.c.program_id,
            ranked.c.occurred_at,
            func.coalesce(ranked.c.member_id, MemberIdentity.member_id),
            ranked.c.properties,
        )
        .select_from(
            ranked.outerjoin(MemberIdentity, _email_identity(workspace_id, ranked.c.member_email))
        )
        .where(ranked.c.rank == 1)
    )
    session.execute(insert(first_touch).from_select([c.name for c in first_touch.columns], chosen))
    return count(session, first_touch)


def first_touches_without_person(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(first_touch).where(first_touch.c.member_id.is_(None))
        )
        or 0
    )


def store_touches(session: Session, *, workspace_id: int, now: datetime) -> None:
    """Upsert the first staged touch of each key that has a person into ``touchpoint``, in one
    statement."""
    postgres = _is_postgres(session)
    chosen = first_touch.c
    properties = chosen.properties.cast(JSONB) if postgres else chosen.properties
    columns = [
        "workspace_id",
        "source",
        "external_id",
        "activity_type_id",
        "program_id",
        "occurred_at",
        "member_id",
        "properties",
        "received_at",
    ]
    rows: Select[Any] = select(
        literal(workspace_id, BigInteger),
        chosen.source,
        chosen.external_id,
        chosen.activity_type_id,
        chosen.program_id,
        chosen.occurred_at,
        chosen.member_id,
        properties,
        literal(now, UTCDateTime()),
    ).where(chosen.member_id.is_not(None))
    table = cast(Table, Touchpoint.__table__)
    statement = (postgresql.insert if postgres else sqlite.insert)(table).from_select(columns, rows)
    keep = {"workspace_id", "source", "external_id"}
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "source", "external_id"],
        set_={c: statement.excluded[c] for c in columns if c not in keep},
    )
    if postgres and _may_check_references_itself(session):
        _lock_references(session, workspace_id)
        with _row_triggers_off(session):
            session.execute(statement)
    else:
        session.execute(statement)


# Foreign keys are checked by PostgreSQL one row at a time (a trigger per key and row: about
# three quarters of the cost of storing a touch). An import checks them itself, set-based: it
# locks every row its touches refer to (FOR KEY SHARE, the lock those triggers take, so that
# none can be deleted before the import commits) and counts them, then writes the touches with
# the session's row triggers off (``session_replication_role = replica``, as pg_restore
# --disable-triggers and logical replication do). That takes a role allowed to set it (a
# superuser, or GRANT SET ON PARAMETER session_replication_role, PostgreSQL 15+); other roles,
# or a touchpoint table given triggers of its own, store through the triggers as before.
_REFERENCES = (
    ("activity_type_id", "activity_type"),
    ("program_id", "program"),
    ("member_id", "member"),
)


def _may_check_references_itself(session: Session) -> bool:
    allowed = session.execute(
        text(
            "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
            " OR (current_setting('server_version_num')::int >= 150000"
            "     AND has_parameter_privilege('session_replication_role', 'SET'))"
        )
    ).scalar_one()
    own_triggers = session.execute(
        text(
            "SELECT count(*) FROM pg_trigger"
            " WHERE tgrelid = 'touchpoint'::regclass AND NOT tgisinternal"
        )
    ).scalar_one()
    return bool(allowed) and own_triggers == 0


class ReferenceGone(Exception):
    """A row the import's touches refer to was deleted meanwhile (the import is rolled back)."""


def _lock_references(session: Session, workspace_id: int) -> None:
    locked = session.execute(
        text("SELECT count(*) FROM (SELECT 1 FROM workspace WHERE id = :id FOR KEY SHARE) AS w"),
        {"id": workspace_id},
    ).scalar_one()
    if locked != 1:
        raise ReferenceGone("workspace")
    for column, table in _REFERENCES:
        wanted, locked = session.execute(
            text(
                f"SELECT (SELECT count(DISTINCT {column}) FROM {first_touch.name}),"
                f" (SELECT count(*) FROM (SELECT 1 FROM {table} WHERE id IN"
                f"  (SELECT {column} FROM {first_touch.name}) FOR KEY SHARE) AS locked)"
            )
        ).one()
        if wanted != locked:
            raise ReferenceGone(table)


@contextmanager
def _row_triggers_off(session: Session) -> Iterator[None]:
    previous = session.execute(text("SHOW session_replication_role")).scalar_one()
    session.execute(text("SET LOCAL session_replication_role = replica"))
    yield
    session.execute(text(f"SET LOCAL session_replication_role = {previous}"))


def _first_members() -> Any:
    return select(
        member_stage,
        func.row_number()
        .over(partition_by=member_stage.c.external_id, order_by=member_stage.c.seq)
        .label("rank"),
    ).subquery()


def first_members(session: Session, *, after_seq: int, limit: int) -> list[Any]:
    """The next staged members in file order, each external_id's first row only."""
    ranked = _first_members()
    return list(
        session.execute(
            select(ranked)
            .where(ranked.c.rank == 1, ranked.c.seq > after_seq)
            .order_by(ranked.c.seq)
            .limit(limit)
        )
    )


def member_counts(session: Session) -> tuple[int, int]:
    """(staged rows, distinct external ids)."""
    ranked = _first_members()
    row = session.execute(
        select(func.count(), func.count().filter(ranked.c.rank == 1)).select_from(ranked)
    ).one()
    return int(row[0]), int(row[1])


def staged_rejections(session: Session, *, limit: int) -> list[tuple[int, str, str]]:
    rows = session.execute(
        select(rejection_stage.c.line, rejection_stage.c.field, rejection_stage.c.message)
        .order_by(rejection_stage.c.line, rejection_stage.c.position)
        .limit(limit)
    )
    return [(int(line), field, message) for line, field, message in rows]


def rejected_rows(session: Session) -> int:
    return int(session.scalar(select(func.count(func.distinct(rejection_stage.c.line)))) or 0)


def keep_rejections(session: Session, import_id: int) -> None:
    session.execute(
        insert(ImportRejection).from_select(
            ["import_id", "line", "field", "message"],
            select(
                literal(import_id, BigInteger),
                rejection_stage.c.line,
                rejection_stage.c.field,
                rejection_stage.c.message,
            ).order_by(rejection_stage.c.line, rejection_stage.c.position),
        )
    )


def rejections(
    session: Session, import_id: int, *, after: int, limit: int
) -> list[ImportRejection]:
    return list(
        session.scalars(
            select(ImportRejection)
            .where(ImportRejection.import_id == import_id, ImportRejection.id > after)
            .order_by(ImportRejection.id)
            .limit(limit)
        )
    )


def import_job(session: Session, workspace_id: int, import_id: int) -> ImportJob | None:
    return session.scalar(
        select(ImportJob).where(ImportJob.workspace_id == workspace_id, ImportJob.id == import_id)
    )


def add_chunks(session: Session, import_id: int, chunks: Iterator[bytes]) -> None:
    for seq, data in enumerate(chunks):
        session.execute(insert(ImportChunk), [{"import_id": import_id, "seq": seq, "data": data}])


def chunk(session: Session, import_id: int, seq: int) -> bytes | None:
    return session.scalar(
        select(ImportChunk.data).where(ImportChunk.import_id == import_id, ImportChunk.seq == seq)
    )


def drop_chunks(session: Session, import_id: int) -> None:
    session.execute(delete(ImportChunk).where(ImportChunk.import_id == import_id))


def import_source(session: Session, workspace_id: int, kind: str, key: str) -> ImportSource | None:
    return session.scalar(
        select(ImportSource).where(
            ImportSource.workspace_id == workspace_id,
            ImportSource.kind == kind,
            ImportSource.key == key,
        )
    )


def import_sources(session: Session, workspace_id: int) -> list[ImportSource]:
    return list(
        session.scalars(
            select(ImportSource)
            .where(ImportSource.workspace_id == workspace_id)
            .order_by(ImportSource.kind, ImportSource.key)
        )
    )
