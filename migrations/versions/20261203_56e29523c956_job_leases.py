"""job leases: who holds a sync run or attribution run and until when, its attempts, its progress

Plain column additions (no batch rebuild), so the BI views over attribution_run stay in place on
SQLite. Runs left ``running`` by an older worker (which had no lease) get a lease that ends now, so
the new worker takes them over.

Revision ID: 56e29523c956
Revises: a7c3e9d41b52
Create Date: 2026-12-03 09:18:38.372633
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models.base

revision: str = "56e29523c956"
down_revision: str | None = "a7c3e9d41b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("attribution_run", "sync_run")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table, sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
        )
        op.add_column(table, sa.Column("leased_by", sa.String(length=100), nullable=True))
        op.add_column(
            table,
            sa.Column("lease_until", app.models.base.UTCDateTime(timezone=True), nullable=True),
        )
        op.add_column(
            table,
            sa.Column(
                "progress",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            ),
        )
    op.create_index(
        op.f("ix_attribution_run_status_id"), "attribution_run", ["status", "id"], unique=False
    )
    for table in TABLES:
        op.execute(
            sa.text(f"UPDATE {table} SET lease_until = :now WHERE status = 'running'").bindparams(
                sa.bindparam("now", datetime.now(UTC), type_=app.models.base.UTCDateTime())
            )
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_attribution_run_status_id"), table_name="attribution_run")
    for table in TABLES:
        for column in ("progress", "lease_until", "leased_by", "attempts"):
            op.drop_column(table, column)
