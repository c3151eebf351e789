"""catalog: confidential proposals and datasets (a confidential pilot's proprietary data)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD/DROP COLUMN on both databases: batch mode would copy the tables on SQLite and lose the search
    # generation triggers of catalog_datasets (migration 0009)
    for table in ("catalog_proposals", "catalog_datasets"):
        op.add_column(
            table, sa.Column("confidential", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    for table in ("catalog_datasets", "catalog_proposals"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN confidential")
