"""A PostgreSQL login role that owns nothing, granted what serving the API needs (app/rls.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from app import rls
from app.config import Settings
from app.db import build_engine


@contextmanager
def runtime_role(database_url: str) -> Iterator[Settings]:
    """The service's settings connecting as a new runtime role, the owner for everything else."""
    owner = build_engine(Settings(database_url=database_url))
    url = make_url(database_url)
    role = f"commattr_app_{url.database}"
    with owner.begin() as connection:
        connection.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
    rls.grant_runtime_role(owner, role)
    runtime_url = url.set(username=role).render_as_string(hide_password=False)
    try:
        yield Settings(database_url=runtime_url, migration_database_url=database_url)
    finally:
        with owner.begin() as connection:
            connection.exec_driver_sql(f'DROP OWNED BY "{role}"')
            connection.exec_driver_sql(f'DROP ROLE "{role}"')
        owner.dispose()
