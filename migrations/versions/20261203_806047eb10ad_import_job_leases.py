"""import job leases: imports are claimed like sync runs and attribution runs (who holds one and
until when, its attempts, its progress)

Plain column additions. Imports left ``running`` by an older worker (which had no lease) get a
lease that ends now, so the new worker takes them over and reads their file again.

Revision ID: 806047eb10ad
Revises: 7b1e0c4d2f9a
Create Date: 2026-12-03 15:05:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models.base

revision: str = "806047eb10ad"
down_revision: str | None = "7b1e0c4d2f9a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "import_job", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("import_job", sa.Column("leased_by", sa.String(length=100), nullable=True))
    op.add_column(
        "import_job",
        sa.Column("lease_until", app.models.base.UTCDateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "import_job",
        sa.Column(
            "progress",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )
    op.execute(
        sa.text("UPDATE import_job SET lease_until = :now WHERE status = 'running'").bindparams(
            sa.bindparam("now", datetime.now(UTC), type_=app.models.base.UTCDateTime())
        )
    )


def downgrade() -> None:
    for column in ("progress", "lease_until", "leased_by", "attempts"):
        op.drop_column("import_job", column)
