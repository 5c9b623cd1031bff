"""A second wall on PostgreSQL (issue 10): row-level security holds every workspace table to the
workspace of the transaction, whatever a query forgets to filter.

Every table with a ``workspace_id`` column (and ``workspace`` itself, by ``id``) has the policy
``workspace_isolation`` (migration ``row_level_security``): a row is visible and writable only while
the transaction's setting ``app.workspace_id`` names its workspace. The policies hold for a role
that does not own the tables: the service's runtime role (``COMMATTR_DATABASE_URL`` when
``COMMATTR_MIGRATION_DATABASE_URL`` names the owner). The owner is not held (no ``FORCE``):
migrations, the command line, the worker (which serves every workspace) and the BI views (owned by
it, filtering by their own role, app/bi.py) run as the owner.

Per request, the setting follows the API key: while the key (or a webhook source, by its address)
is looked up, ``app.lookup`` lets ``api_key`` and ``webhook_source`` show their rows to a SELECT;
once the workspace is known, it is set (``set_config(..., true)``: local to the transaction) on
every transaction of every session the request opens, including the ones a streamed export opens
after the answer has started. A transaction without it sees no row. On SQLite this is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

WORKSPACE_SETTING = "app.workspace_id"
LOOKUP_SETTING = "app.lookup"
POLICY = "workspace_isolation"
LOOKUP_TABLES = ("api_key", "webhook_source")  # found by a secret before the workspace is known


@dataclass
class _RequestScope:
    """Mutable: what a dependency sets in a worker thread (a copied context) the request sees."""

    workspace_id: int | None = None
    lookup: bool = False


_scope: ContextVar[_RequestScope | None] = ContextVar("commattr_rls_scope", default=None)


class RequestScope:
    """Gives each HTTP request its own scope, empty (no row visible) until its key is known."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _scope.set(_RequestScope())
        try:
            await self.app(scope, receive, send)
        finally:
            _scope.reset(token)


def _apply(connection: Connection, current: _RequestScope) -> None:
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        text(
            f"SELECT set_config('{WORKSPACE_SETTING}', :workspace, true),"
            f" set_config('{LOOKUP_SETTING}', :lookup, true)"
        ),
        {
            "workspace": "" if current.workspace_id is None else str(current.workspace_id),
            "lookup": "on" if current.lookup else "off",
        },
    )


def _on_begin(_session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    current = _scope.get()
    if current is not None:
        _apply(connection, current)


def scope_sessions(factory: sessionmaker[Session]) -> None:
    """Every transaction of ``factory``'s sessions, inside a request, gets the request's scope."""
    event.listen(factory, "after_begin", _on_begin)


def _update(session: Session, **changes: Any) -> None:
    current = _scope.get()
    if current is None:  # outside a request (the CLI, the worker, tests calling services)
        return
    for name, value in changes.items():
        setattr(current, name, value)
    _apply(session.connection(), current)


def begin_lookup(session: Session) -> None:
    """Let this request read ``api_key`` and ``webhook_source`` rows of any workspace."""
    _update(session, lookup=True)


def enter_workspace(session: Session, workspace_id: int) -> None:
    """From now on this request's transactions see the rows of ``workspace_id`` only."""
    _update(session, workspace_id=workspace_id, lookup=False)


def policy_statements(table: str, column: str = "workspace_id") -> list[str]:
    """Row-level security on ``table`` with the workspace policy (for migrations)."""
    current = f"NULLIF(current_setting('{WORKSPACE_SETTING}', true), '')::bigint"
    using = f"{column} = {current}"
    if table in LOOKUP_TABLES:
        using = f"({using} OR current_setting('{LOOKUP_SETTING}', true) = 'on')"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY} ON {table}",
        f"CREATE POLICY {POLICY} ON {table} USING ({using}) WITH CHECK ({column} = {current})",
    ]


def workspace_tables(connection: Connection) -> list[str]:
    """Tables of the current schema with a ``workspace_id`` column."""
    return list(
        connection.execute(
            text(
                "SELECT c.table_name FROM information_schema.columns c"
                " JOIN information_schema.tables t USING (table_schema, table_name)"
                " WHERE c.table_schema = current_schema() AND c.column_name = 'workspace_id'"
                " AND t.table_type = 'BASE TABLE' ORDER BY c.table_name"
            )
        ).scalars()
    )


def protected_tables(connection: Connection) -> set[str]:
    """Tables of the current schema with row-level security on and the workspace policy."""
    return set(
        connection.execute(
            text(
                "SELECT c.relname FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
                " JOIN pg_policies p ON p.schemaname = n.nspname AND p.tablename = c.relname"
                " WHERE c.relrowsecurity AND p.policyname = :policy"
            ),
            {"policy": POLICY},
        ).scalars()
    )


def grant_runtime_role(engine: Engine, role: str) -> None:
    """Give ``role`` (an existing login role that owns nothing) what serving the API needs: the
    rows of every table and sequence of the schema, now and of tables later migrations create."""
    with engine.begin() as connection:
        if connection.dialect.name != "postgresql":
            raise ValueError("a runtime role is a PostgreSQL matter; SQLite has no roles")
        quote = connection.dialect.identifier_preparer.quote_identifier
        schema = quote(str(connection.execute(text("SELECT current_schema()")).scalar_one()))
        for statement in _grants(schema, quote(role)):
            connection.exec_driver_sql(statement)


def _grants(schema: str, role: str) -> Iterable[str]:
    yield f"GRANT USAGE ON SCHEMA {schema} TO {role}"
    yield f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}"
    yield f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}"
    yield (
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
    )
    yield f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}"
