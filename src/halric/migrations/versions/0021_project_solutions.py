"""calls: solutions a pilot developed and their uptake by organisations (evidence for RCO116 and RCR104)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import halric.core.db

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

UTC = halric.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "project_solutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("uptake_plan", sa.Text(), nullable=False),
        sa.Column("declared_by", sa.Integer(), nullable=True),
        sa.Column("declared_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_project_solutions_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["declared_by"],
            ["users.id"],
            name=op.f("fk_project_solutions_declared_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_solutions")),
    )
    op.create_index(op.f("ix_project_solutions_application_id"), "project_solutions", ["application_id"])
    op.create_table(
        "solution_uptakes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("solution_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("evidence_url", sa.String(length=500), nullable=True),
        sa.Column("declared_by", sa.Integer(), nullable=True),
        sa.Column("declared_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["solution_id"],
            ["project_solutions.id"],
            name=op.f("fk_solution_uptakes_solution_id_project_solutions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["declared_by"],
            ["users.id"],
            name=op.f("fk_solution_uptakes_declared_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_solution_uptakes")),
    )
    op.create_index(op.f("ix_solution_uptakes_solution_id"), "solution_uptakes", ["solution_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_solution_uptakes_solution_id"), table_name="solution_uptakes")
    op.drop_table("solution_uptakes")
    op.drop_index(op.f("ix_project_solutions_application_id"), table_name="project_solutions")
    op.drop_table("project_solutions")
