"""member identities on platforms, link confidence, links removed by hand

Identities gain a platform (emails have "") and the member record that claimed them; every
existing identity is an email claimed by its member's own record. Existing links get the
confidence of their method.

Revision ID: f16c84c46a32
Revises: be77622fdf04
Create Date: 2026-12-03 09:17:12.730705
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base
from app.members.emails import registrable_domain

revision: str = "f16c84c46a32"
down_revision: str | None = "be77622fdf04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CONFIDENCE = {"email": "1", "manual": "1", "converted_lead": "0.95", "domain": "0.7"}


def upgrade() -> None:
    op.create_table(
        "member_link_block",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("workspace_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("contact_id", Id, nullable=True),
        sa.Column("lead_id", Id, nullable=True),
        sa.Column("account_id", Id, nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "CAST(contact_id IS NOT NULL AS INTEGER) + CAST(lead_id IS NOT NULL AS INTEGER)"
            " + CAST(account_id IS NOT NULL AS INTEGER) = 1",
            name=op.f("ck_member_link_block_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_member_link_block_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_member_link_block_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["lead.id"],
            name=op.f("fk_member_link_block_lead_id_lead"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_member_link_block_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_member_link_block_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_link_block")),
    )
    with op.batch_alter_table("member_link_block", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_link_block_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_member_link_block_workspace_id"), ["workspace_id"], unique=False
        )

    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=64), nullable=True))

    with op.batch_alter_table("member_identity", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("platform", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("claimed_by", sa.String(length=128), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("registrable_domain", sa.String(length=255), nullable=True))
    op.execute(
        "UPDATE member_identity SET claimed_by ="
        " (SELECT member.external_id FROM member WHERE member.id = member_identity.member_id)"
    )
    _fill_registrable_domains()
    with op.batch_alter_table("member_identity", schema=None) as batch_op:
        batch_op.alter_column("platform", server_default=None)
        batch_op.alter_column("claimed_by", server_default=None)
        batch_op.drop_constraint("uq_member_identity_workspace_id_kind_value", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_member_identity_workspace_id_kind_platform_value"),
            ["workspace_id", "kind", "platform", "value"],
        )
        batch_op.create_index(
            batch_op.f("ix_member_identity_workspace_id_registrable_domain"),
            ["workspace_id", "registrable_domain"],
            unique=False,
        )

    with op.batch_alter_table("member_link", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "confidence", sa.Numeric(precision=4, scale=3), nullable=False, server_default="1"
            )
        )
    for method, confidence in CONFIDENCE.items():
        op.execute(f"UPDATE member_link SET confidence = {confidence} WHERE method = '{method}'")
    with op.batch_alter_table("member_link", schema=None) as batch_op:
        batch_op.alter_column("confidence", server_default=None)


def _fill_registrable_domains() -> None:
    connection = op.get_bind()
    identity = sa.table(
        "member_identity",
        sa.column("id", Id),
        sa.column("kind", sa.String()),
        sa.column("value", sa.String()),
        sa.column("registrable_domain", sa.String()),
    )
    rows = connection.execute(
        sa.select(identity.c.id, identity.c.value).where(identity.c.kind == "email")
    ).all()
    updates = [{"row_id": id_, "domain": registrable_domain(value)} for id_, value in rows]
    if updates:
        connection.execute(
            identity.update()
            .where(identity.c.id == sa.bindparam("row_id"))
            .values(registrable_domain=sa.bindparam("domain")),
            updates,
        )


def downgrade() -> None:
    op.execute(
        "DELETE FROM member_link WHERE method NOT IN ('email', 'converted_lead', 'domain', 'manual')"
    )
    with op.batch_alter_table("member_link", schema=None) as batch_op:
        batch_op.drop_column("confidence")

    op.execute("DELETE FROM member_identity WHERE kind <> 'email'")
    with op.batch_alter_table("member_identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_identity_workspace_id_registrable_domain"))
        batch_op.drop_constraint(
            batch_op.f("uq_member_identity_workspace_id_kind_platform_value"), type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_member_identity_workspace_id_kind_value", ["workspace_id", "kind", "value"]
        )
        batch_op.drop_column("registrable_domain")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("platform")

    op.drop_column("member", "source")  # not in batch mode: SQLite keeps the views on member

    with op.batch_alter_table("member_link_block", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_link_block_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_member_link_block_member_id"))
    op.drop_table("member_link_block")
