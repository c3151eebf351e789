"""federation: search index for harvested records (PostgreSQL pg_trgm GIN, SQLite FTS5 trigram; covering
term indexes)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25

The word index lives outside the SQLAlchemy models (see halric.federation.models.RECORD_WORDS and
halric.core.fulltext); the SQL is written out here so this migration keeps meaning what it meant when it
was written. On SQLite the FTS5 table is keyed on federation_records.id (the INTEGER PRIMARY KEY, so the
rowid the table keeps when it is copied) and kept in step by triggers; it is filled from the records
already harvested.
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

SQLITE_UP = [
    "CREATE VIRTUAL TABLE federation_records_fts USING fts5("
    "search_text, content='federation_records', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER federation_records_fts_ai AFTER INSERT ON federation_records BEGIN "
    "INSERT INTO federation_records_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER federation_records_fts_ad AFTER DELETE ON federation_records BEGIN "
    "INSERT INTO federation_records_fts(federation_records_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER federation_records_fts_au AFTER UPDATE OF id, search_text ON federation_records BEGIN "
    "INSERT INTO federation_records_fts(federation_records_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO federation_records_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO federation_records_fts(federation_records_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS federation_records_fts_au",
    "DROP TRIGGER IF EXISTS federation_records_fts_ad",
    "DROP TRIGGER IF EXISTS federation_records_fts_ai",
    "DROP TABLE IF EXISTS federation_records_fts",
]


def upgrade() -> None:
    # access checks ("this record's groups") and facet counts read terms by record: both indexes cover
    # (kind, value, record_id), so neither visits the table
    op.drop_index("ix_federation_record_terms_kind_value", table_name="federation_record_terms")
    op.drop_index("ix_federation_record_terms_record_id", table_name="federation_record_terms")
    op.create_index(
        "ix_federation_record_terms_kind_value_record",
        "federation_record_terms",
        ["kind", "value", "record_id"],
    )
    op.create_index(
        "ix_federation_record_terms_record_kind_value",
        "federation_record_terms",
        ["record_id", "kind", "value"],
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        available = bind.execute(
            text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        ).scalar()
        if not available:
            log.warning(
                "pg_trgm is not available on this PostgreSQL server (Debian/Ubuntu: it ships with the "
                "postgresql package; elsewhere install postgresql-contrib); searching harvested records "
                "works without it but scans the table. Install it, then run `halric db reindex-search`."
            )
            return
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_federation_records_search_trgm "
            "ON federation_records USING gin (search_text gin_trgm_ops)"
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_federation_records_search_trgm")
    op.drop_index("ix_federation_record_terms_record_kind_value", table_name="federation_record_terms")
    op.drop_index("ix_federation_record_terms_kind_value_record", table_name="federation_record_terms")
    op.create_index("ix_federation_record_terms_record_id", "federation_record_terms", ["record_id"])
    op.create_index("ix_federation_record_terms_kind_value", "federation_record_terms", ["kind", "value"])
