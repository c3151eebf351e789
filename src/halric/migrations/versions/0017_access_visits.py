"""calls: access visits — slots on an instrument, the booking lock per instrument, samples under safety
review, visitors and their feedback

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import halric.core.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visit_instrument_locks",
        sa.Column("instrument_id", sa.String(length=80), nullable=False),
        sa.Column("bookings", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("instrument_id", name=op.f("pk_visit_instrument_locks")),
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.Column("done_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminder_sent_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_visits_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by"], ["users.id"], name=op.f("fk_visits_confirmed_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("application_id", "instrument_id", name=op.f("uq_visits_application_id")),
    )
    op.create_index(op.f("ix_visits_application_id"), "visits", ["application_id"], unique=False)
    op.create_index(op.f("ix_visits_state"), "visits", ["state"], unique=False)
    op.create_table(
        "visit_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("biosafety_level", sa.Integer(), nullable=False),
        sa.Column(
            "chemical_hazards",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("hazard_details", sa.Text(), nullable=False),
        sa.Column("radioactive", sa.Boolean(), nullable=False),
        sa.Column("radiation_details", sa.Text(), nullable=False),
        sa.Column("human_material", sa.Boolean(), nullable=False),
        sa.Column("ethics_reference", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_visit_samples_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"],
            ["users.id"],
            name=op.f("fk_visit_samples_reviewed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_visit_samples_visit_id_visits"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_samples")),
    )
    op.create_index(op.f("ix_visit_samples_visit_id"), "visit_samples", ["visit_id"], unique=False)
    op.create_table(
        "visit_slots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.String(length=80), nullable=False),
        sa.Column("starts_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("offered_by", sa.Integer(), nullable=True),
        sa.Column("offered_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("booked_by", sa.Integer(), nullable=True),
        sa.Column("booked_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["booked_by"], ["users.id"], name=op.f("fk_visit_slots_booked_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["offered_by"], ["users.id"], name=op.f("fk_visit_slots_offered_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_visit_slots_visit_id_visits"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_slots")),
    )
    op.create_index(op.f("ix_visit_slots_instrument_id"), "visit_slots", ["instrument_id"], unique=False)
    op.create_index(op.f("ix_visit_slots_starts_at"), "visit_slots", ["starts_at"], unique=False)
    op.create_index(op.f("ix_visit_slots_state"), "visit_slots", ["state"], unique=False)
    op.create_index(op.f("ix_visit_slots_visit_id"), "visit_slots", ["visit_id"], unique=False)
    op.create_table(
        "visit_visitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("arrives_on", sa.Date(), nullable=False),
        sa.Column("departs_on", sa.Date(), nullable=False),
        sa.Column("feedback_token_hash", sa.String(length=64), nullable=True),
        sa.Column("feedback_sent_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("feedback_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("feedback_comments", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_visit_visitors_visit_id_visits"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_visitors")),
        sa.UniqueConstraint("feedback_token_hash", name=op.f("uq_visit_visitors_feedback_token_hash")),
        sa.UniqueConstraint("visit_id", "email", name=op.f("uq_visit_visitors_visit_id")),
    )
    op.create_index(op.f("ix_visit_visitors_visit_id"), "visit_visitors", ["visit_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_visit_visitors_visit_id"), table_name="visit_visitors")
    op.drop_table("visit_visitors")
    op.drop_index(op.f("ix_visit_slots_visit_id"), table_name="visit_slots")
    op.drop_index(op.f("ix_visit_slots_state"), table_name="visit_slots")
    op.drop_index(op.f("ix_visit_slots_starts_at"), table_name="visit_slots")
    op.drop_index(op.f("ix_visit_slots_instrument_id"), table_name="visit_slots")
    op.drop_table("visit_slots")
    op.drop_index(op.f("ix_visit_samples_visit_id"), table_name="visit_samples")
    op.drop_table("visit_samples")
    op.drop_index(op.f("ix_visits_state"), table_name="visits")
    op.drop_index(op.f("ix_visits_application_id"), table_name="visits")
    op.drop_table("visits")
    op.drop_table("visit_instrument_locks")
