"""accounts: confirmed e-mail addresses and single-use e-mail tokens (sign-up, password reset)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import halric.core.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("email_verified_at", halric.core.db.UTCDateTime(timezone=True), nullable=True)
        )
    # accounts that exist were made by administrators: their addresses count as confirmed
    op.execute("UPDATE users SET email_verified_at = created_at")
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_account_tokens_user_id"), "account_tokens", ["user_id"], unique=False)
    op.create_index(op.f("ix_account_tokens_created_at"), "account_tokens", ["created_at"], unique=False)
    op.create_index(op.f("ix_account_tokens_ip"), "account_tokens", ["ip"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_account_tokens_ip"), table_name="account_tokens")
    op.drop_index(op.f("ix_account_tokens_created_at"), table_name="account_tokens")
    op.drop_index(op.f("ix_account_tokens_user_id"), table_name="account_tokens")
    op.drop_table("account_tokens")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
