"""catalog: a dataset's pid leaves its search text

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05

``search_text`` began with the dataset's lower-cased pid. Its UUID is random letters and digits: about a sixth
of the trigrams a dataset puts into the PostgreSQL word index (``ix_catalog_datasets_search_gin``), nearly
all of them rare keys, and so about a third of that index's work on every write (docs/catalog.md, session 22).
A pid is now found through the ``pid`` column instead (``halric.catalog.fulltext.pid_condition``): a whole
pid by the primary key, a UUID by the pid's end. This migration takes the pid off the front of the stored
texts (SQLite's full-text table follows through its update trigger; PostgreSQL's index with the rows). On a
large catalog it rewrites every row once: about as long as loading the catalog again, in one transaction.
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE catalog_datasets SET search_text = substr(search_text, length(pid) + 2) "
        "WHERE substr(search_text, 1, length(pid) + 1) = lower(pid) || ' '"
    )


def downgrade() -> None:
    op.execute("UPDATE catalog_datasets SET search_text = lower(pid) || ' ' || search_text")
