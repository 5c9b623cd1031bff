"""touchpoint: no index of its own on workspace_id (the unique key starts with it); contact,
lead and program indexes hold only the touches that have one

Revision ID: a7c3e9d41b52
Revises: 78e1b4cb6a69
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "a7c3e9d41b52"
down_revision: str | None = "78e1b4cb6a69"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTIAL = (
    ("ix_touchpoint_contact_id_occurred_at", ["contact_id", "occurred_at"], "contact_id"),
    ("ix_touchpoint_lead_id_occurred_at", ["lead_id", "occurred_at"], "lead_id"),
    ("ix_touchpoint_program_id", ["program_id"], "program_id"),
)


def upgrade() -> None:
    with op.batch_alter_table("touchpoint") as batch:
        batch.drop_index("ix_touchpoint_workspace_id")
        for name, columns, column in PARTIAL:
            batch.drop_index(name)
            where = sa.text(f"{column} IS NOT NULL")
            batch.create_index(name, columns, postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    with op.batch_alter_table("touchpoint") as batch:
        for name, columns, _column in PARTIAL:
            batch.drop_index(name)
            batch.create_index(name, columns)
        batch.create_index("ix_touchpoint_workspace_id", ["workspace_id"])
