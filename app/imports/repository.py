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
    delete,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from app.models import ImportChunk, ImportJob, ImportRejection, ImportSource, Touchpoint
from app.models.base import UTCDateTime

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
    Index("import_touch_stage_email", "member_email"),
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
    Column("field", String),
    Column("message", String),
    prefixes=["TEMPORARY"],
)
email_map = Table(
    "import_email_map",
    _stage,
    Column("email", String, primary_key=True),
    Column("member_id", BigInteger),
    prefixes=["TEMPORARY"],
)
STAGE_TABLES = (touch_stage, member_stage, rejection_stage, email_map)


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


def _sqlite_value(value: Any) -> Any:
    # the text SQLAlchemy's SQLite DateTime stores, so INSERT ... SELECT copies it unchanged
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


def stage(session: Session, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Append rows (tuples in the table's column order) to a staging table."""
    if not rows:
        return
    names = [column.name for column in table.columns]
    if _is_postgres(session):
        raw = session.connection().connection.driver_connection
        with (
            raw.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in names)
    session.connection().exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})",
        [tuple(_sqlite_value(v) for v in row) for row in rows],
    )


def analyze(session: Session) -> None:
    """Give PostgreSQL's planner the staged tables' real sizes (temporary tables have none)."""
    if _is_postgres(session):
        for table in (touch_stage, member_stage, email_map):
            session.connection().exec_driver_sql(f"ANALYZE {table.name}")


def count(session: Session, table: Table) -> int:
    return int(session.scalar(select(func.count()).select_from(table)) or 0)


def staged_emails(session: Session, *, after: str, limit: int) -> list[str]:
    column = touch_stage.c.member_email
    return list(
        session.scalars(
            select(column)
            .where(column.is_not(None), column > after)
            .group_by(column)
            .order_by(column)
            .limit(limit)
        )
    )


def map_emails(session: Session, ids: dict[str, int]) -> None:
    stage(session, email_map, list(ids.items()))


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


def touch_counts(session: Session) -> tuple[int, int, int]:
    """(staged rows, distinct keys, distinct keys whose person is unknown: suppressed)."""
    ranked = _first_touches()
    person = func.coalesce(ranked.c.member_id, email_map.c.member_id)
    row = session.execute(
        select(
            func.count(),
            func.count().filter(ranked.c.rank == 1),
            func.count().filter(ranked.c.rank == 1, person.is_(None)),
        ).select_from(ranked.outerjoin(email_map, email_map.c.email == ranked.c.member_email))
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def store_touches(session: Session, *, workspace_id: int, now: datetime) -> None:
    """Upsert the first staged touch of each key into ``touchpoint`` in one statement."""
    ranked = _first_touches()
    person = func.coalesce(ranked.c.member_id, email_map.c.member_id)
    postgres = _is_postgres(session)
    properties = ranked.c.properties.cast(JSONB) if postgres else ranked.c.properties
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
    chosen: Select[Any] = (
        select(
            literal(workspace_id, BigInteger),
            ranked.c.source,
            ranked.c.external_id,
            ranked.c.activity_type_id,
            ranked.c.program_id,
            ranked.c.occurred_at,
            person,
            properties,
            literal(now, UTCDateTime()),
        )
        .select_from(ranked.outerjoin(email_map, email_map.c.email == ranked.c.member_email))
        .where(ranked.c.rank == 1, person.is_not(None))
    )
    table = cast(Table, Touchpoint.__table__)
    statement = (postgresql.insert if postgres else sqlite.insert)(table).from_select(
        columns, chosen
    )
    keep = {"workspace_id", "source", "external_id"}
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "source", "external_id"],
        set_={c: statement.excluded[c] for c in columns if c not in keep},
    )
    session.execute(statement)


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
        .order_by(rejection_stage.c.line)
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
            ).order_by(rejection_stage.c.line),
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
