"""Engine and session factories. The request's session owns the transaction: commit or rollback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app import rls
from app.config import Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def build_engine(settings: Settings) -> Engine:
    """An engine for the settings' URL; SQLite gets foreign keys, WAL and a busy timeout."""
    path = settings.sqlite_path()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if settings.database_url.startswith("sqlite"):
        engine = create_engine(
            settings.database_url, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(settings.database_url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def build_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose transactions, during a request, see only its workspace (app/rls.py)."""
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
    rls.scope_sessions(factory)
    return factory


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed when the block ends cleanly and rolled back otherwise."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
