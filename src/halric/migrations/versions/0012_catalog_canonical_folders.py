"""catalog: canonical source folders (symbolic links followed, as this machine resolves them)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

``catalog_datasets.canonical_folder`` is the dataset's ``sourceFolder`` as the hub's machine resolves it
(halric.catalog.folders.canonical): folder claims and download checks compare these, never the strings
clients sent. Bytewise order (collation "C" on PostgreSQL, SQLite's default) so "inside a folder" is a
range on the index. Existing rows are filled in here, resolved on the machine that runs the upgrade.

The column is added with ALTER TABLE ADD COLUMN (no batch copy), so SQLite keeps the search-generation
triggers of 0009.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "catalog_datasets",
        sa.Column(
            "canonical_folder",
            sa.String(length=1000).with_variant(sa.String(length=1000, collation="C"), "postgresql"),
            nullable=True,
        ),
    )
    op.create_index("ix_catalog_datasets_canonical_folder", "catalog_datasets", ["canonical_folder"])
    fill(op.get_bind())


def fill(conn: sa.Connection) -> None:
    """Set ``canonical_folder`` of every row from its ``source_folder`` (also used by the tests)."""
    from halric.catalog.folders import canonical

    # Each distinct folder is resolved once; the rows are then updated in one statement through a
    # temporary mapping table (one UPDATE per folder would take hours at a million datasets).
    mapping = sa.Table(
        "tmp_canonical_folders",
        sa.MetaData(),
        sa.Column("source_folder", sa.String(1000), primary_key=True),
        sa.Column("canonical_folder", sa.String(1000), nullable=False),
        prefixes=["TEMPORARY"],
    )
    mapping.create(conn)
    rows: list[dict[str, str]] = []
    for (folder,) in conn.execute(sa.text("SELECT DISTINCT source_folder FROM catalog_datasets")):
        if folder is None:
            continue
        try:
            rows.append({"source_folder": folder, "canonical_folder": canonical(folder)})
        except Exception:  # a NUL or similar in an old row: no claim, never served
            continue
        if len(rows) >= 10_000:
            conn.execute(mapping.insert(), rows)
            rows.clear()
    if rows:
        conn.execute(mapping.insert(), rows)
    conn.execute(
        sa.text(
            "UPDATE catalog_datasets SET canonical_folder = (SELECT m.canonical_folder "
            "FROM tmp_canonical_folders m WHERE m.source_folder = catalog_datasets.source_folder) "
            "WHERE source_folder IN (SELECT source_folder FROM tmp_canonical_folders)"
        )
    )
    mapping.drop(conn)


def downgrade() -> None:
    op.drop_index("ix_catalog_datasets_canonical_folder", table_name="catalog_datasets")
    op.execute("ALTER TABLE catalog_datasets DROP COLUMN canonical_folder")  # no batch copy (triggers)
