"""accounts: when an account was erased (its personal data removed or pseudonymised, halric.gdpr)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02

A column added with ALTER TABLE ADD COLUMN (no batch copy of the users table).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import halric.core.db

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UTC = halric.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.add_column("users", sa.Column("erased_at", UTC, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("erased_at")
