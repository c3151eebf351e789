"""accounts: OpenID Connect sign-in (identity providers, group rules, identities keyed by issuer + sub)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

Columns are added with ALTER TABLE ADD COLUMN (no batch copy of existing tables).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import halric.core.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UTC = halric.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "identity_providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret_sealed", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("groups_claim", sa.String(length=100), nullable=True),
        sa.Column("preset", sa.String(length=32), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_providers")),
        sa.UniqueConstraint("name", name=op.f("uq_identity_providers_name")),
    )
    op.create_table(
        "idp_group_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("claim", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("group_name", sa.String(length=150), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idp_group_rules")),
        sa.UniqueConstraint(
            "provider", "claim", "value", "group_name", name=op.f("uq_idp_group_rules_provider")
        ),
    )
    op.add_column(
        "external_identities", sa.Column("issuer", sa.String(500), nullable=False, server_default="")
    )
    op.add_column("external_identities", sa.Column("email", sa.String(320), nullable=True))
    op.add_column("external_identities", sa.Column("last_used_at", UTC, nullable=True))
    op.create_index(
        "uq_external_identities_issuer_subject", "external_identities", ["issuer", "subject"], unique=True
    )
    op.add_column("users", sa.Column("orcid", sa.String(19), nullable=True))
    op.add_column("user_groups", sa.Column("source", sa.String(80), nullable=True))
    op.add_column("web_sessions", sa.Column("idp", sa.String(64), nullable=True))
    op.add_column("web_sessions", sa.Column("id_token", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_column("id_token")
        batch.drop_column("idp")
    with op.batch_alter_table("user_groups") as batch:
        batch.drop_column("source")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("orcid")
    op.drop_index("uq_external_identities_issuer_subject", table_name="external_identities")
    with op.batch_alter_table("external_identities") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("email")
        batch.drop_column("issuer")
    op.drop_table("idp_group_rules")
    op.drop_table("identity_providers")
