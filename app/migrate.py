"""Alembic, driven from code: `commattr migrate`, `make run` and the tests all come through here."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

import migrations

SCRIPT_LOCATION = Path(migrations.__file__).parent

MIGRATION_LOCK = 0x636F6D6D61747472  # "commattr": the advisory lock `upgrade` holds on PostgreSQL

# called with (revision just applied, steps done, steps in all)
StepDone = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Upgraded:
    """What one `upgrade` did: from which revision (None: an empty database) to which."""

    before: str | None
    after: str
    steps: int


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    # ConfigParser interpolates "%": a URL-encoded password (p%40ss) must be escaped
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", url)
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def _with_connection(engine: Engine, action: str, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def head_revision() -> str:
    """The newest revision the code knows."""
    heads = ScriptDirectory(str(SCRIPT_LOCATION)).get_heads()
    return heads[0]


def current_revision(connection: Connection) -> str | None:
    """The database's revision; None for a database without the schema."""
    return MigrationContext.configure(connection).get_current_revision()


def _pending(before: str | None) -> list[str]:
    script = ScriptDirectory(str(SCRIPT_LOCATION))
    # iterate_revisions walks from the head down; apply from the oldest up
    steps = script.iterate_revisions("heads", before or "base")
    return [step.revision for step in reversed(list(steps))]


@contextmanager
def _one_migrator(engine: Engine) -> Iterator[None]:
    """A lock held while migrating, so a server and a worker starting together migrate in turn:
    PostgreSQL's advisory lock, or a lock file beside a SQLite database file."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with open(f"{database}.migrate-lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        return
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            yield
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})


def upgrade(engine: Engine, revision: str = "head", on_step: StepDone | None = None) -> Upgraded:
    """Upgrade to ``revision`` one migration at a time, telling ``on_step`` after each."""
    with _one_migrator(engine):
        return _upgrade(engine, revision, on_step)


def _upgrade(engine: Engine, revision: str, on_step: StepDone | None) -> Upgraded:
    with engine.connect() as connection:
        before = current_revision(connection)
    if revision != "head":
        _with_connection(engine, "upgrade", revision)
        return Upgraded(before=before, after=revision, steps=1)
    pending = _pending(before)
    for done, step in enumerate(pending, start=1):
        _with_connection(engine, "upgrade", step)
        if on_step is not None:
            on_step(step, done, len(pending))
    return Upgraded(before=before, after=head_revision(), steps=len(pending))


def downgrade(engine: Engine, revision: str = "base") -> None:
    _with_connection(engine, "downgrade", revision)
