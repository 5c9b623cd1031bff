"""privacy: erasure audit, suppression list, run amendments, a secret salt per workspace

Every existing workspace gets its own random salt. The column is added with a server default and
filled in place: rebuilding the workspace table on SQLite would cascade into every other table.

Revision ID: 4eaecc942cc1
Revises: c42534b37220
Create Date: 2026-12-03 10:03:45.642344
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "4eaecc942cc1"
down_revision: str | None = "c42534b37220"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erasure",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("requested_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "api_key_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("identities", sa.Integer(), nullable=False),
        sa.Column("crm_records", sa.Integer(), nullable=False),
        sa.Column("touchpoints", sa.Integer(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("runs_amended", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_erasure_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure")),
    )
    with op.batch_alter_table("erasure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "suppression",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_suppression_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppression")),
        sa.UniqueConstraint(
            "workspace_id", "subject_hash", name=op.f("uq_suppression_workspace_id_subject_hash")
        ),
    )
    with op.batch_alter_table("suppression", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_suppression_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "run_amendment",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "erasure_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("credits_removed", sa.Integer(), nullable=False),
        sa.Column("amended_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["erasure_id"],
            ["erasure.id"],
            name=op.f("fk_run_amendment_erasure_id_erasure"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["attribution_run.id"],
            name=op.f("fk_run_amendment_run_id_attribution_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_run_amendment_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_amendment")),
    )
    with op.batch_alter_table("run_amendment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_run_amendment_erasure_id"), ["erasure_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_run_amendment_run_id"), ["run_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_run_amendment_workspace_id"), ["workspace_id"], unique=False
        )

    op.add_column(
        "workspace",
        sa.Column("privacy_salt", sa.String(length=64), nullable=False, server_default=""),
    )
    workspace = sa.table("workspace", sa.column("id", Id), sa.column("privacy_salt", sa.String()))
    connection = op.get_bind()
    for (workspace_id,) in connection.execute(sa.select(workspace.c.id)).all():
        connection.execute(
            workspace.update()
            .where(workspace.c.id == workspace_id)
            .values(privacy_salt=secrets.token_hex(32))
        )
    if connection.dialect.name == "postgresql":
        op.alter_column("workspace", "privacy_salt", server_default=None)


def downgrade() -> None:
    op.drop_column("workspace", "privacy_salt")  # not in batch mode: see the module's note

    with op.batch_alter_table("run_amendment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_amendment_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_run_amendment_run_id"))
        batch_op.drop_index(batch_op.f("ix_run_amendment_erasure_id"))

    op.drop_table("run_amendment")
    with op.batch_alter_table("suppression", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppression_workspace_id"))

    op.drop_table("suppression")
    with op.batch_alter_table("erasure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_workspace_id"))

    op.drop_table("erasure")
