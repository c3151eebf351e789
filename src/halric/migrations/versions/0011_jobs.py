"""jobs: the task queue's outbox and job records; per-site harvest interval

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import halric.core.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("args", json, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("schedule", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=150), nullable=False),
        sa.Column("actor", json, nullable=False),
        sa.Column("progress", sa.String(length=500), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", json, nullable=True),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("queued_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("key", name=op.f("uq_jobs_key")),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.create_index(batch.f("ix_jobs_created_at"), ["created_at"], unique=False)
        batch.create_index(batch.f("ix_jobs_finished_at"), ["finished_at"], unique=False)
        batch.create_index(batch.f("ix_jobs_kind"), ["kind"], unique=False)
        batch.create_index(batch.f("ix_jobs_schedule"), ["schedule"], unique=False)
        batch.create_index(batch.f("ix_jobs_state"), ["state"], unique=False)
    with op.batch_alter_table("federation_sites") as batch:
        batch.add_column(sa.Column("harvest_interval_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("federation_sites") as batch:
        batch.drop_column("harvest_interval_minutes")
    op.drop_table("jobs")
