"""calls: data-storage costs — a call's rate per TB and whether it funds data costs; budget lines of TB × rate

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

Budget lines keep person-months × monthly cost for employment (and the other kinds); a data-storage line
carries the TB to store and the call's rate per TB instead, so person-months and monthly cost may be empty.
Existing lines are untouched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("storage_rate_per_tb", sa.Numeric(precision=14, scale=2), nullable=True))
        batch.add_column(
            sa.Column("data_costs_fundable", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("application_budget") as batch:
        batch.add_column(sa.Column("storage_tb", sa.Numeric(precision=12, scale=3), nullable=True))
        batch.add_column(sa.Column("rate_per_tb", sa.Numeric(precision=14, scale=2), nullable=True))
        batch.alter_column("person_months", existing_type=sa.Numeric(precision=8, scale=2), nullable=True)
        batch.alter_column("monthly_cost", existing_type=sa.Numeric(precision=14, scale=2), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM application_budget WHERE cost_type = 'data-storage'")
    with op.batch_alter_table("application_budget") as batch:
        batch.alter_column("monthly_cost", existing_type=sa.Numeric(precision=14, scale=2), nullable=False)
        batch.alter_column("person_months", existing_type=sa.Numeric(precision=8, scale=2), nullable=False)
        batch.drop_column("rate_per_tb")
        batch.drop_column("storage_tb")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("data_costs_fundable")
        batch.drop_column("storage_rate_per_tb")
