"""registry: generation (one row that database triggers change on every write to the registry's tables)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03

``registry_generation`` holds one row (id 1), kept exactly as ``catalog_search_generation`` (migration
0009) is: ``counter`` counts the writing statements (PostgreSQL) or rows (SQLite) on the registry's
tables (organisations, infrastructures, instruments, techniques and the links between them, expert
profiles), and ``token`` becomes a new random number with every write. Answers computed from the
registry (matchmaking answers, the registry page's list of instruments) are cached under both (see
halric.registry.generation), so none is served after the registry changed, whichever way it changed:
the hub's pages and API, ``halric registry load``, or raw SQL.

- PostgreSQL: one statement-level trigger per table, ``BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE``,
  enabled ``ALWAYS``.
- SQLite: row-level ``AFTER INSERT/UPDATE/DELETE`` triggers.

A later migration that rebuilds one of these tables on SQLite (batch mode loses its triggers) must create
them again; until then the caches switch themselves off (the triggers are checked on every read).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

TABLES = (
    "organisations", "infrastructures", "instruments", "instrument_techniques", "techniques",
    "technique_parents", "expert_profiles",
)  # fmt: skip
PG_TOKEN = "floor(random() * 9007199254740991)::bigint"

PG_UP = [
    "CREATE FUNCTION registry_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"UPDATE registry_generation SET counter = counter + 1, token = {PG_TOKEN} WHERE id = 1; "
    "RETURN NULL; END $$",
    *(
        statement
        for table in TABLES
        for statement in (
            f"CREATE TRIGGER {table}_registry_generation BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION registry_generation_bump()",
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_registry_generation",
        )
    ),
]
PG_DOWN = [
    *(f"DROP TRIGGER IF EXISTS {table}_registry_generation ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS registry_generation_bump()",
]
SQLITE_UP = [
    f"CREATE TRIGGER {table}_registry_generation_{suffix} AFTER {event} ON {table} BEGIN "
    "UPDATE registry_generation SET counter = counter + 1, token = random() WHERE id = 1; END"
    for table in TABLES
    for suffix, event in (("ai", "INSERT"), ("au", "UPDATE"), ("ad", "DELETE"))
]
SQLITE_DOWN = [
    f"DROP TRIGGER IF EXISTS {table}_registry_generation_{suffix}"
    for table in TABLES
    for suffix in ("ai", "au", "ad")
]


def upgrade() -> None:
    op.create_table(
        "registry_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("counter", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"INSERT INTO registry_generation (id, counter, token) VALUES (1, 0, {PG_TOKEN})")
        for statement in PG_UP:
            op.execute(statement)
    elif bind.dialect.name == "sqlite":
        op.execute("INSERT INTO registry_generation (id, counter, token) VALUES (1, 0, random())")
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for statement in PG_DOWN if bind.dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    op.drop_table("registry_generation")
