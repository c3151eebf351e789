"""catalog: search indexes (full text: PostgreSQL pg_trgm GIN, SQLite FTS5 trigram; covering term indexes)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

The index objects live outside the SQLAlchemy models (see halric.catalog.fulltext); the SQL is written out
here so this migration keeps meaning what it meant when it was written.
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

SQLITE_UP = [
    "CREATE VIRTUAL TABLE catalog_datasets_fts USING fts5("
    "search_text, content='catalog_datasets', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER catalog_datasets_fts_ai AFTER INSERT ON catalog_datasets BEGIN "
    "INSERT INTO catalog_datasets_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER catalog_datasets_fts_ad AFTER DELETE ON catalog_datasets BEGIN "
    "INSERT INTO catalog_datasets_fts(catalog_datasets_fts, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER catalog_datasets_fts_au AFTER UPDATE OF search_text ON catalog_datasets BEGIN "
    "INSERT INTO catalog_datasets_fts(catalog_datasets_fts, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); "
    "INSERT INTO catalog_datasets_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "INSERT INTO catalog_datasets_fts(catalog_datasets_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS catalog_datasets_fts_au",
    "DROP TRIGGER IF EXISTS catalog_datasets_fts_ad",
    "DROP TRIGGER IF EXISTS catalog_datasets_fts_ai",
    "DROP TABLE IF EXISTS catalog_datasets_fts",
]


def upgrade() -> None:
    op.drop_index("ix_catalog_dataset_terms_kind_value", table_name="catalog_dataset_terms")
    op.drop_index("ix_catalog_dataset_terms_dataset_pid", table_name="catalog_dataset_terms")
    op.create_index(
        "ix_catalog_dataset_terms_kind_value_pid", "catalog_dataset_terms", ["kind", "value", "dataset_pid"]
    )
    op.create_index(
        "ix_catalog_dataset_terms_pid_kind_value", "catalog_dataset_terms", ["dataset_pid", "kind", "value"]
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        # a finer histogram of term values: filters on one instrument or technique among millions of terms
        # are then estimated right, and the planner starts from the term index instead of scanning
        op.execute("ALTER TABLE catalog_dataset_terms ALTER COLUMN value SET STATISTICS 1000")
        for column in ("instrument_ids", "techniques", "proposal_ids", "sample_ids", "keywords"):
            # facet filters as JSONB containment on the row: combined with the word index by bitmap AND
            op.execute(
                f"CREATE INDEX IF NOT EXISTS ix_catalog_datasets_{column}_gin "
                f"ON catalog_datasets USING gin ({column} jsonb_path_ops)"
            )
        available = bind.execute(
            text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        ).scalar()
        if not available:
            log.warning(
                "pg_trgm is not available on this PostgreSQL server (Debian/Ubuntu: it ships with the "
                "postgresql package; elsewhere install postgresql-contrib); catalog full-text search "
                "works without it but scans the table. Install it, then run `halric db reindex-search`."
            )
            return
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_catalog_datasets_search_trgm "
            "ON catalog_datasets USING gin (search_text gin_trgm_ops)"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_catalog_datasets_search_trgm")
        for column in ("instrument_ids", "techniques", "proposal_ids", "sample_ids", "keywords"):
            op.execute(f"DROP INDEX IF EXISTS ix_catalog_datasets_{column}_gin")
        op.execute("ALTER TABLE catalog_dataset_terms ALTER COLUMN value SET STATISTICS -1")
    op.drop_index("ix_catalog_dataset_terms_pid_kind_value", table_name="catalog_dataset_terms")
    op.drop_index("ix_catalog_dataset_terms_kind_value_pid", table_name="catalog_dataset_terms")
    op.create_index("ix_catalog_dataset_terms_dataset_pid", "catalog_dataset_terms", ["dataset_pid"])
    op.create_index("ix_catalog_dataset_terms_kind_value", "catalog_dataset_terms", ["kind", "value"])
