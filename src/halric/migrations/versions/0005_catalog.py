"""experiment-data catalog (datasets, datablocks, attachments, samples, proposals, published data)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import halric.core.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_datasets",
        sa.Column("pid", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("dataset_name", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("owner_email", sa.String(length=320), nullable=True),
        sa.Column("orcid_of_owner", sa.String(length=200), nullable=True),
        sa.Column("contact_email", sa.String(length=320), nullable=False),
        sa.Column(
            "shared_with",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source_folder", sa.String(length=1000), nullable=False),
        sa.Column("source_folder_host", sa.String(length=300), nullable=True),
        sa.Column("creation_location", sa.String(length=300), nullable=True),
        sa.Column("creation_time", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("start_time", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_time", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("data_format", sa.String(length=200), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("packed_size", sa.BigInteger(), nullable=False),
        sa.Column("number_of_files", sa.BigInteger(), nullable=False),
        sa.Column("number_of_files_archived", sa.BigInteger(), nullable=False),
        sa.Column(
            "principal_investigators",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "keywords",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "techniques",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "scientific_metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("scientific_metadata_schema", sa.String(length=500), nullable=True),
        sa.Column("scientific_metadata_valid", sa.Boolean(), nullable=True),
        sa.Column(
            "proposal_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "sample_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "instrument_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "input_datasets",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "used_software",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "job_parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("job_log_data", sa.Text(), nullable=True),
        sa.Column("license", sa.String(length=300), nullable=True),
        sa.Column("classification", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("data_quality_metrics", sa.Integer(), nullable=True),
        sa.Column("run_number", sa.String(length=100), nullable=True),
        sa.Column("validation_status", sa.String(length=200), nullable=True),
        sa.Column(
            "relationships",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("published_at", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("embargo_until", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("never_release", sa.Boolean(), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("owner_group", sa.String(length=150), nullable=False),
        sa.Column(
            "access_groups",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("instrument_group", sa.String(length=150), nullable=True),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=150), nullable=False),
        sa.Column("updated_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pid", name=op.f("pk_catalog_datasets")),
    )
    with op.batch_alter_table("catalog_datasets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_datasets_creation_time"), ["creation_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_datasets_embargo_until"), ["embargo_until"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_catalog_datasets_owner_group"), ["owner_group"], unique=False)
        batch_op.create_index(
            "ix_catalog_datasets_published_created", ["is_published", "creation_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_catalog_datasets_type"), ["type"], unique=False)

    op.create_table(
        "catalog_instruments",
        sa.Column("pid", sa.String(length=255), nullable=False),
        sa.Column("unique_name", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column(
            "custom_metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=150), nullable=False),
        sa.Column("updated_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pid", name=op.f("pk_catalog_instruments")),
        sa.UniqueConstraint("unique_name", name=op.f("uq_catalog_instruments_unique_name")),
    )
    op.create_table(
        "catalog_proposals",
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("firstname", sa.String(length=200), nullable=True),
        sa.Column("lastname", sa.String(length=200), nullable=True),
        sa.Column("pi_email", sa.String(length=320), nullable=True),
        sa.Column("pi_firstname", sa.String(length=200), nullable=True),
        sa.Column("pi_lastname", sa.String(length=200), nullable=True),
        sa.Column("start_time", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_time", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("type", sa.String(length=100), nullable=True),
        sa.Column("parent_proposal_id", sa.String(length=255), nullable=True),
        sa.Column(
            "proposal_metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "measurement_periods",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("pilot_project_id", sa.String(length=100), nullable=True),
        sa.Column("embargo_years", sa.Integer(), nullable=True),
        sa.Column("never_release", sa.Boolean(), nullable=False),
        sa.Column("owner_group", sa.String(length=150), nullable=False),
        sa.Column(
            "access_groups",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("instrument_group", sa.String(length=150), nullable=True),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=150), nullable=False),
        sa.Column("updated_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("proposal_id", name=op.f("pk_catalog_proposals")),
    )
    with op.batch_alter_table("catalog_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_proposals_owner_group"), ["owner_group"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_catalog_proposals_pilot_project_id"), ["pilot_project_id"], unique=False
        )

    op.create_table(
        "catalog_published_data",
        sa.Column("doi", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("data_description", sa.Text(), nullable=False),
        sa.Column("resource_type", sa.String(length=100), nullable=False),
        sa.Column(
            "creator",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("publisher", sa.String(length=300), nullable=False),
        sa.Column("publication_year", sa.Integer(), nullable=False),
        sa.Column("affiliation", sa.String(length=300), nullable=True),
        sa.Column(
            "authors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "pid_array",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("number_of_files", sa.BigInteger(), nullable=True),
        sa.Column("size_of_archive", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("registered_time", halric.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "datacite",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("thumbnail", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=150), nullable=False),
        sa.Column("updated_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("doi", name=op.f("pk_catalog_published_data")),
    )
    with op.batch_alter_table("catalog_published_data", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_published_data_status"), ["status"], unique=False)

    op.create_table(
        "catalog_samples",
        sa.Column("sample_id", sa.String(length=255), nullable=False),
        sa.Column("sample_name", sa.String(length=300), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "sample_characteristics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("proposal_id", sa.String(length=255), nullable=True),
        sa.Column("parent_sample_id", sa.String(length=255), nullable=True),
        sa.Column("type", sa.String(length=100), nullable=True),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("owner_group", sa.String(length=150), nullable=False),
        sa.Column(
            "access_groups",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("instrument_group", sa.String(length=150), nullable=True),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=150), nullable=False),
        sa.Column("updated_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sample_id", name=op.f("pk_catalog_samples")),
    )
    with op.batch_alter_table("catalog_samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_samples_owner_group"), ["owner_group"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_samples_proposal_id"), ["proposal_id"], unique=False)

    op.create_table(
        "catalog_attachments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("dataset_pid", sa.String(length=255), nullable=True),
        sa.Column("proposal_id", sa.String(length=255), nullable=True),
        sa.Column("sample_id", sa.String(length=255), nullable=True),
        sa.Column("caption", sa.Text(), nullable=False),
        sa.Column("thumbnail", sa.Text(), nullable=True),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("owner_group", sa.String(length=150), nullable=False),
        sa.Column(
            "access_groups",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("instrument_group", sa.String(length=150), nullable=True),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=150), nullable=False),
        sa.Column("updated_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_pid"],
            ["catalog_datasets.pid"],
            name=op.f("fk_catalog_attachments_dataset_pid_catalog_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_attachments")),
    )
    with op.batch_alter_table("catalog_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_attachments_dataset_pid"), ["dataset_pid"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_attachments_owner_group"), ["owner_group"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_attachments_proposal_id"), ["proposal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_catalog_attachments_sample_id"), ["sample_id"], unique=False)

    op.create_table(
        "catalog_dataset_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_pid", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_pid"],
            ["catalog_datasets.pid"],
            name=op.f("fk_catalog_dataset_terms_dataset_pid_catalog_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_dataset_terms")),
    )
    with op.batch_alter_table("catalog_dataset_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_dataset_terms_dataset_pid"), ["dataset_pid"], unique=False
        )
        batch_op.create_index("ix_catalog_dataset_terms_kind_value", ["kind", "value"], unique=False)

    op.create_table(
        "catalog_origdatablocks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("dataset_pid", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("chk_alg", sa.String(length=64), nullable=True),
        sa.Column(
            "data_file_list",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("owner_group", sa.String(length=150), nullable=False),
        sa.Column(
            "access_groups",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("instrument_group", sa.String(length=150), nullable=True),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=150), nullable=False),
        sa.Column("updated_at", halric.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_pid"],
            ["catalog_datasets.pid"],
            name=op.f("fk_catalog_origdatablocks_dataset_pid_catalog_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_origdatablocks")),
    )
    with op.batch_alter_table("catalog_origdatablocks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalog_origdatablocks_dataset_pid"), ["dataset_pid"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_catalog_origdatablocks_owner_group"), ["owner_group"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("catalog_origdatablocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_origdatablocks_owner_group"))
        batch_op.drop_index(batch_op.f("ix_catalog_origdatablocks_dataset_pid"))

    op.drop_table("catalog_origdatablocks")
    with op.batch_alter_table("catalog_dataset_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_dataset_terms_kind_value")
        batch_op.drop_index(batch_op.f("ix_catalog_dataset_terms_dataset_pid"))

    op.drop_table("catalog_dataset_terms")
    with op.batch_alter_table("catalog_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_attachments_sample_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_attachments_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_attachments_owner_group"))
        batch_op.drop_index(batch_op.f("ix_catalog_attachments_dataset_pid"))

    op.drop_table("catalog_attachments")
    with op.batch_alter_table("catalog_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_samples_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_samples_owner_group"))

    op.drop_table("catalog_samples")
    with op.batch_alter_table("catalog_published_data", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_published_data_status"))

    op.drop_table("catalog_published_data")
    with op.batch_alter_table("catalog_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_proposals_pilot_project_id"))
        batch_op.drop_index(batch_op.f("ix_catalog_proposals_owner_group"))

    op.drop_table("catalog_proposals")
    op.drop_table("catalog_instruments")
    with op.batch_alter_table("catalog_datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_datasets_type"))
        batch_op.drop_index("ix_catalog_datasets_published_created")
        batch_op.drop_index(batch_op.f("ix_catalog_datasets_owner_group"))
        batch_op.drop_index(batch_op.f("ix_catalog_datasets_embargo_until"))
        batch_op.drop_index(batch_op.f("ix_catalog_datasets_creation_time"))

    op.drop_table("catalog_datasets")
