"""catalog: search generation (one row that database triggers change on every write a search could see)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25

``catalog_search_generation`` holds one row (id 1): ``counter`` counts the writing statements (PostgreSQL)
or rows (SQLite) on the tables a catalog search reads, and ``token`` becomes a new random number with
every write. Cached search answers are keyed by both (see halric.catalog.searchcache), so an answer is
never served after the data it was computed from changed, whichever way the data changed: the hub's
services, the SciCat API, a bulk COPY or raw SQL.

- PostgreSQL: one statement-level trigger per table, ``BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE``
  (before, so a writer takes the generation row's lock before any row lock of the statement), enabled
  ``ALWAYS`` so it also fires for sessions with ``session_replication_role = replica``.
- SQLite: row-level ``AFTER INSERT/UPDATE/DELETE`` triggers (SQLite has no statement-level triggers).

The trigger objects live outside the SQLAlchemy models (alembic does not compare triggers or functions);
the SQL is written out here so this migration keeps meaning what it meant when it was written. A later
migration that rebuilds one of these tables on SQLite (batch mode copies the table, and its triggers are
lost) must create them again; until then the search cache switches itself off (it checks that the
triggers exist on every read of the generation).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("catalog_datasets", "catalog_dataset_terms", "catalog_origdatablocks")
PG_TOKEN = "floor(random() * 9007199254740991)::bigint"

PG_UP = [
    "CREATE FUNCTION catalog_search_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"UPDATE catalog_search_generation SET counter = counter + 1, token = {PG_TOKEN} WHERE id = 1; "
    "RETURN NULL; END $$",
    *(
        statement
        for table in TABLES
        for statement in (
            f"CREATE TRIGGER {table}_search_generation BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_generation_bump()",
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_search_generation",
        )
    ),
]
PG_DOWN = [
    *(f"DROP TRIGGER IF EXISTS {table}_search_generation ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS catalog_search_generation_bump()",
]
SQLITE_UP = [
    f"CREATE TRIGGER {table}_search_generation_{suffix} AFTER {event} ON {table} BEGIN "
    "UPDATE catalog_search_generation SET counter = counter + 1, token = random() WHERE id = 1; END"
    for table in TABLES
    for suffix, event in (("ai", "INSERT"), ("au", "UPDATE"), ("ad", "DELETE"))
]
SQLITE_DOWN = [
    f"DROP TRIGGER IF EXISTS {table}_search_generation_{suffix}"
    for table in TABLES
    for suffix in ("ai", "au", "ad")
]


def upgrade() -> None:
    op.create_table(
        "catalog_search_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"INSERT INTO catalog_search_generation (id, counter, token) VALUES (1, 0, {PG_TOKEN})")
        for statement in PG_UP:
            op.execute(statement)
    elif bind.dialect.name == "sqlite":
        op.execute("INSERT INTO catalog_search_generation (id, counter, token) VALUES (1, 0, random())")
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for statement in PG_DOWN if bind.dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    op.drop_table("catalog_search_generation")
