"""catalog: the search generation in 64 rows on PostgreSQL, so concurrent writers do not queue on one row

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04

Migration 0009's trigger updated the one row of ``catalog_search_generation`` before every writing
statement on the catalog's tables, so every writing transaction held that row's lock from its first insert
to its commit: all catalog writes of all hub workers ran one at a time (about 120 writes/s, with cores
idle). Now the generation is kept in 64 rows and each database connection bumps the row
``1 + pg_backend_pid() % 64``; readers take the sum of the counters and of the tokens over all rows
(:class:`halric.core.generation.Generation`), which still changes with every committed write and becomes
visible with the data in the same commit. A transaction keeps bumping the same row (its connection's), so
two writers never take two generation rows in opposite order. SQLite serialises writers anyway: it keeps
one row and its triggers.
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

SLOTS = 64
PG_TOKEN = "floor(random() * 9007199254740991)::bigint"


def _bump(where: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION catalog_search_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN UPDATE catalog_search_generation SET counter = counter + 1, token = {PG_TOKEN} WHERE {where}; "
        "RETURN NULL; END $$"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "INSERT INTO catalog_search_generation (id, counter, token) "
        f"SELECT n, 0, {PG_TOKEN} FROM generate_series(2, {SLOTS}) AS n ON CONFLICT (id) DO NOTHING"
    )
    op.execute(_bump(f"id = 1 + pg_backend_pid() % {SLOTS}"))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # fold the other rows into row 1, so the generation a reader sees still changes and never goes back
    op.execute(
        "UPDATE catalog_search_generation SET counter = (SELECT sum(counter) FROM catalog_search_generation), "
        f"token = {PG_TOKEN} WHERE id = 1"
    )
    op.execute("DELETE FROM catalog_search_generation WHERE id > 1")
    op.execute(_bump("id = 1"))
