"""catalog: one GIN index for instrument, technique and words together (PostgreSQL)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04

Migration 0007 gave each of ``instrument_ids``, ``techniques`` (JSONB containment) and ``search_text``
(trigrams) its own GIN index. A search for a word on one instrument and technique then either combined three
bitmaps (the word's bitmap alone costs up to a hundred milliseconds when its trigrams are common) or read
every row of the instrument and technique from the table to test the word (about 6,600 rows at 1,000,000
datasets: 30–60 ms the first time). One GIN index over the three columns answers the three conditions in one
index scan, in which the rarest key skips through the others' lists, and the table is read only for the
rows that match all three (docs/catalog.md, "the first-time targeted search"). The one index also serves a
condition on any one of its columns alone, so it replaces the three. Without ``pg_trgm`` nothing changes
(the word index is then absent anyway; ``halric db reindex-search`` creates it once the extension is there).
SQLite keeps its FTS5 table and term index.
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

COMBINED = (
    "CREATE INDEX IF NOT EXISTS ix_catalog_datasets_search_gin ON catalog_datasets USING gin "
    "(instrument_ids jsonb_path_ops, techniques jsonb_path_ops, search_text gin_trgm_ops)"
)
REPLACED = (
    "ix_catalog_datasets_search_trgm",
    "ix_catalog_datasets_instrument_ids_gin",
    "ix_catalog_datasets_techniques_gin",
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if not bind.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar():
        log.warning(
            "pg_trgm is not installed: the catalog keeps its separate instrument and technique indexes"
        )
        return
    op.execute(COMBINED)
    for name in REPLACED:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if not bind.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar():
        return
    for column in ("instrument_ids", "techniques"):
        op.execute(
            f"CREATE INDEX IF NOT EXISTS ix_catalog_datasets_{column}_gin "
            f"ON catalog_datasets USING gin ({column} jsonb_path_ops)"
        )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_catalog_datasets_search_trgm "
        "ON catalog_datasets USING gin (search_text gin_trgm_ops)"
    )
    op.execute("DROP INDEX IF EXISTS ix_catalog_datasets_search_gin")
