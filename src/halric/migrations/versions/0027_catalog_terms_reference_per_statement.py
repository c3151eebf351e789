"""catalog: on PostgreSQL, a dataset's terms are checked against their dataset once per statement, not per row

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04

Every ``catalog_dataset_terms`` row (about eleven per dataset: its proposal, sample, instrument, technique,
keywords, groups, PI…) referenced its dataset by a foreign key, and PostgreSQL checks a foreign key once per
inserted row: a query on the datasets' primary key that also locks the dataset's row (``FOR KEY SHARE``).
For a bulk load that is about a tenth of the time (docs/catalog.md, "the load rate"). The same guarantees
now come from statement-level triggers, which check all rows of a statement in one query:

- inserting or updating terms whose dataset does not exist fails (``foreign_key_violation``, SQLSTATE
  23503, as before: an ``IntegrityError`` for the hub);
- deleting datasets deletes their terms (what ``ON DELETE CASCADE`` did);
- changing the ``pid`` of a dataset that has terms fails (the foreign key's ``NO ACTION``).

A dataset that gets terms is always written in the same transaction (``catalog.service``), so its row is
already locked by that writer and no concurrent delete can slip between the check and the commit; the row
lock the foreign key took added nothing there. SQLite keeps the foreign key (its check is a plain index
lookup). The models keep the ``ForeignKey`` (it orders the ORM's inserts and marks the column as a
reference); model/migration comparisons skip it (``halric.catalog.models.TERMS_REFERENCE``).
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

FK = "fk_catalog_dataset_terms_dataset_pid_catalog_datasets"

UP = [
    f"ALTER TABLE catalog_dataset_terms DROP CONSTRAINT IF EXISTS {FK}",
    # inserted or updated terms must name an existing dataset: one anti-join per statement, each distinct
    # pid looked up in the primary key. The plan is fixed: during a bulk load the datasets table has no
    # statistics yet, and the planner would otherwise take it for empty and scan it once per term.
    "CREATE OR REPLACE FUNCTION catalog_dataset_terms_check_dataset() RETURNS trigger LANGUAGE plpgsql "
    "SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off "
    "SET enable_material = off SET jit = off AS $$ "
    "DECLARE missing text; BEGIN "
    "SELECT t.pid INTO missing FROM (SELECT DISTINCT dataset_pid AS pid FROM written_terms) t "
    "WHERE NOT EXISTS (SELECT 1 FROM catalog_datasets d WHERE d.pid = t.pid) LIMIT 1; "
    "IF FOUND THEN RAISE foreign_key_violation USING MESSAGE = format("
    '\'insert or update on table "catalog_dataset_terms" violates the reference to catalog_datasets: '
    "no dataset %L', missing), TABLE = 'catalog_dataset_terms'; END IF; "
    "RETURN NULL; END $$",
    *(
        f"CREATE TRIGGER catalog_dataset_terms_check_dataset_{suffix} AFTER {event} ON catalog_dataset_terms "
        "REFERENCING NEW TABLE AS written_terms FOR EACH STATEMENT "
        "EXECUTE FUNCTION catalog_dataset_terms_check_dataset()"
        for suffix, event in (("ai", "INSERT"), ("au", "UPDATE"))
    ),
    # deleted datasets take their terms with them
    "CREATE OR REPLACE FUNCTION catalog_datasets_delete_terms() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN DELETE FROM catalog_dataset_terms t USING deleted_datasets d WHERE t.dataset_pid = d.pid; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER catalog_datasets_delete_terms AFTER DELETE ON catalog_datasets "
    "REFERENCING OLD TABLE AS deleted_datasets FOR EACH STATEMENT EXECUTE FUNCTION catalog_datasets_delete_terms()",
    # a dataset with terms keeps its pid (rare: one row at a time, only when the pid really changes)
    "CREATE OR REPLACE FUNCTION catalog_datasets_keep_pid() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF EXISTS (SELECT 1 FROM catalog_dataset_terms t WHERE t.dataset_pid = OLD.pid) THEN "
    "RAISE foreign_key_violation USING MESSAGE = format("
    '\'update on table "catalog_datasets" violates the reference from catalog_dataset_terms: '
    "dataset %L still has terms', OLD.pid), TABLE = 'catalog_datasets'; END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER catalog_datasets_keep_pid AFTER UPDATE OF pid ON catalog_datasets FOR EACH ROW "
    "WHEN (OLD.pid IS DISTINCT FROM NEW.pid) EXECUTE FUNCTION catalog_datasets_keep_pid()",
]

DOWN = [
    "DROP TRIGGER IF EXISTS catalog_datasets_keep_pid ON catalog_datasets",
    "DROP TRIGGER IF EXISTS catalog_datasets_delete_terms ON catalog_datasets",
    "DROP TRIGGER IF EXISTS catalog_dataset_terms_check_dataset_ai ON catalog_dataset_terms",
    "DROP TRIGGER IF EXISTS catalog_dataset_terms_check_dataset_au ON catalog_dataset_terms",
    "DROP FUNCTION IF EXISTS catalog_datasets_keep_pid()",
    "DROP FUNCTION IF EXISTS catalog_datasets_delete_terms()",
    "DROP FUNCTION IF EXISTS catalog_dataset_terms_check_dataset()",
    # terms of datasets that are gone cannot be referenced again: remove them first
    "DELETE FROM catalog_dataset_terms t WHERE NOT EXISTS "
    "(SELECT 1 FROM catalog_datasets d WHERE d.pid = t.dataset_pid)",
    f"ALTER TABLE catalog_dataset_terms ADD CONSTRAINT {FK} FOREIGN KEY (dataset_pid) "
    "REFERENCES catalog_datasets (pid) ON DELETE CASCADE",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in DOWN:
        op.execute(statement)
