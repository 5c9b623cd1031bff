"""Declarative base: a naming convention for constraints, and column types shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
Id = BigInteger().with_variant(Integer(), "sqlite")
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: give a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JsonDoc,
    }


def workspace_fk() -> Mapped[int]:
    return mapped_column(Id, ForeignKey("workspace.id", ondelete="CASCADE"), index=True)


def id_pk() -> Mapped[int]:
    return mapped_column(Id, primary_key=True, autoincrement=True)


class Leased:
    """Columns of work `commattr worker` claims (sync runs, attribution runs, imports): which
    worker holds it and until when (renewed while it works; a dead worker's job is taken over once
    the lease runs out; a queued job is not claimed before it either, which spaces out retries),
    how many times it was claimed, and where a running job is."""

    attempts: Mapped[int] = mapped_column(Integer, default=0, doc="claims so far")
    leased_by: Mapped[str | None] = mapped_column(String(100), doc="the worker holding it")
    lease_until: Mapped[datetime | None]
    progress: Mapped[dict[str, Any] | None] = mapped_column(
        doc="phase, done and total while it runs"
    )
