"""catalog and projects: where a project's data may live (allowed countries)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # plain ADD/DROP COLUMN (see 0023: batch mode would lose the search triggers on SQLite)
    for table in ("catalog_proposals", "project_spaces"):
        op.add_column(table, sa.Column("allowed_countries", JSON, nullable=True))


def downgrade() -> None:
    for table in ("project_spaces", "catalog_proposals"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN allowed_countries")
