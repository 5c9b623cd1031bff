"""row-level security: every workspace table shows only the workspace of the transaction

On PostgreSQL, each table with a ``workspace_id`` column (and ``workspace`` by its ``id``) gets
row-level security and the policy ``workspace_isolation`` (app/rls.py): rows are visible and
writable only while ``app.workspace_id`` names their workspace; ``api_key`` and ``webhook_source``
also show their rows to a lookup (``app.lookup``), which finds a key or a webhook address before its
workspace is known. The owner of the tables is not held (no FORCE), so migrations, the command line,
the worker and the BI views keep working; the service's runtime role, which owns nothing, is. A
later migration that creates a workspace table adds the same policy
(``app.rls.policy_statements``); tests/security/test_rls.py fails until it does.

A no-op on SQLite.

Revision ID: 5e1a3c9d7b20
Revises: 806047eb10ad
Create Date: 2026-12-03 15:00:00.000000
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "5e1a3c9d7b20"
down_revision: str | None = "806047eb10ad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POLICY = "workspace_isolation"
CURRENT = "NULLIF(current_setting('app.workspace_id', true), '')::bigint"
LOOKUP = "current_setting('app.lookup', true) = 'on'"
LOOKUP_TABLES = ("api_key", "webhook_source")


def _tables() -> list[tuple[str, str]]:
    found = op.get_bind().execute(
        text(
            "SELECT c.table_name FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = current_schema() AND c.column_name = 'workspace_id'"
            " AND t.table_type = 'BASE TABLE' ORDER BY c.table_name"
        )
    )
    return [("workspace", "id")] + [(table, "workspace_id") for table in found.scalars()]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _tables():
        using = f"{column} = {CURRENT}"
        if table in LOOKUP_TABLES:
            using = f"({using} OR {LOOKUP})"
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON {table} USING ({using}) WITH CHECK ({column} = {CURRENT})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _column in _tables():
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
