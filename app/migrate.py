"""Alembic, driven from code: `commattr migrate`, `make run` and the tests all come through here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

import migrations

SCRIPT_LOCATION = Path(migrations.__file__).parent

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


def upgrade(engine: Engine, revision: str = "head", on_step: StepDone | None = None) -> Upgraded:
    """Upgrade to ``revision`` one migration at a time, telling ``on_step`` after each."""
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
