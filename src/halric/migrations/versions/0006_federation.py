"""federation: remote sites, per-user site tokens, harvested records

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import halric.core.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "federation_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("landing_template", sa.String(length=500), nullable=True),
        sa.Column("service_token", sa.Text(), nullable=True),
        sa.Column(
            "group_map",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_checked_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_contact_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_elapsed_ms", sa.Float(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("harvest_cursor_time", sa.String(length=64), nullable=True),
        sa.Column(
            "harvest_cursor_seen",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("harvest_started_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("harvest_finished_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("harvest_lease_until", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("harvest_lease_owner", sa.String(length=64), nullable=True),
        sa.Column(
            "harvest_stats",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=150), nullable=False),
        sa.Column("updated_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_federation_sites_name")),
    )
    op.create_table(
        "federation_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("pid", sa.String(length=255), nullable=False),
        sa.Column("doi", sa.String(length=255), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("owner_group", sa.String(length=150), nullable=True),
        sa.Column("creation_time", sa.String(length=64), nullable=True),
        sa.Column("modified", sa.String(length=64), nullable=True),
        sa.Column(
            "record",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("harvested_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["federation_sites.id"],
            name=op.f("fk_federation_records_site_id_federation_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_records")),
        sa.UniqueConstraint("site_id", "pid", name=op.f("uq_federation_records_site_id")),
    )
    with op.batch_alter_table("federation_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federation_records_doi"), ["doi"], unique=False)
        batch_op.create_index("ix_federation_records_site_public", ["site_id", "is_public"], unique=False)

    op.create_table(
        "federation_user_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["federation_sites.id"],
            name=op.f("fk_federation_user_tokens_site_id_federation_sites"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_federation_user_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_user_tokens")),
        sa.UniqueConstraint("site_id", "user_id", name=op.f("uq_federation_user_tokens_site_id")),
    )
    with op.batch_alter_table("federation_user_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_federation_user_tokens_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_federation_user_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "federation_record_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["federation_records.id"],
            name=op.f("fk_federation_record_terms_record_id_federation_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_record_terms")),
    )
    with op.batch_alter_table("federation_record_terms", schema=None) as batch_op:
        batch_op.create_index("ix_federation_record_terms_kind_value", ["kind", "value"], unique=False)
        batch_op.create_index(batch_op.f("ix_federation_record_terms_record_id"), ["record_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("federation_record_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_record_terms_record_id"))
        batch_op.drop_index("ix_federation_record_terms_kind_value")

    op.drop_table("federation_record_terms")
    with op.batch_alter_table("federation_user_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_federation_user_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_federation_user_tokens_site_id"))

    op.drop_table("federation_user_tokens")
    with op.batch_alter_table("federation_records", schema=None) as batch_op:
        batch_op.drop_index("ix_federation_records_site_public")
        batch_op.drop_index(batch_op.f("ix_federation_records_doi"))

    op.drop_table("federation_records")
    op.drop_table("federation_sites")
