"""matchmaking: the language each question was asked in (for the gaps report per language)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("match_queries") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch.create_index("ix_match_queries_language", ["language"])


def downgrade() -> None:
    with op.batch_alter_table("match_queries") as batch:
        batch.drop_index("ix_match_queries_language")
        batch.drop_column("language")
