"""attribution run started_at: when its last attempt started, for job durations

Revision ID: 7b1e0c4d2f9a
Revises: 56e29523c956
Create Date: 2026-12-03 10:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "7b1e0c4d2f9a"
down_revision: str | None = "56e29523c956"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "attribution_run",
        sa.Column("started_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("attribution_run", "started_at")
