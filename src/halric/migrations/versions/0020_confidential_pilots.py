"""calls: confidential pilots — an application's confidential flag, non-confidential summary and excluded
organisations; a call's confidentiality terms; who accepted which version of them

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03

Columns are added with ALTER TABLE ADD COLUMN (no batch copy of existing tables); existing applications are
not confidential and name no excluded organisation.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import halric.core.db

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

UTC = halric.core.db.UTCDateTime(timezone=True)
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("calls", sa.Column("confidentiality_terms", sa.Text(), nullable=False, server_default=""))
    op.add_column(
        "applications", sa.Column("confidential", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("applications", sa.Column("public_summary", sa.Text(), nullable=False, server_default=""))
    op.add_column(
        "applications",
        sa.Column("excluded_organisations", JSON, nullable=False, server_default=sa.text("'[]'")),
    )
    op.create_table(
        "confidentiality_acceptances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("terms_sha256", sa.String(length=64), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("accepted_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_confidentiality_acceptances_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_confidentiality_acceptances_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confidentiality_acceptances")),
        sa.UniqueConstraint(
            "call_id", "user_id", "terms_sha256", name=op.f("uq_confidentiality_acceptances_call_id")
        ),
    )  # fmt: skip
    op.create_index(
        op.f("ix_confidentiality_acceptances_call_id"), "confidentiality_acceptances", ["call_id"]
    )
    op.create_index(
        op.f("ix_confidentiality_acceptances_user_id"), "confidentiality_acceptances", ["user_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_confidentiality_acceptances_user_id"), table_name="confidentiality_acceptances")
    op.drop_index(op.f("ix_confidentiality_acceptances_call_id"), table_name="confidentiality_acceptances")
    op.drop_table("confidentiality_acceptances")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("excluded_organisations")
        batch.drop_column("public_summary")
        batch.drop_column("confidential")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("confidentiality_terms")
