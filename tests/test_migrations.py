"""Migrations build the schema the models describe, and unwind cleanly, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app import migrate
from app.config import Settings
from app.db import build_engine
from app.models import Base
from tests.conftest import fresh_database_url


@pytest.fixture
def empty_engine(backend: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    engine = build_engine(Settings(database_url=fresh_database_url(backend, tmp_path_factory)))
    yield engine
    engine.dispose()


def test_upgrade_then_downgrade_to_base_then_upgrade_again(empty_engine) -> None:  # type: ignore[no-untyped-def]
    migrate.upgrade(empty_engine)
    assert set(Base.metadata.tables) <= set(inspect(empty_engine).get_table_names())
    migrate.downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(empty_engine)
    assert set(Base.metadata.tables) <= set(inspect(empty_engine).get_table_names())


def test_models_and_migrations_agree(empty_engine) -> None:  # type: ignore[no-untyped-def]
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = build_engine(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
