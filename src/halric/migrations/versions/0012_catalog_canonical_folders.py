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
    from halric.catalog.folders import canonical

    op.add_column(
        "catalog_datasets",
        sa.Column(
            "canonical_folder",
            sa.String(length=1000).with_variant(sa.String(length=1000, collation="C"), "postgresql"),
            nullable=True,
        ),
    )
    op.create_index("ix_catalog_datasets_canonical_folder", "catalog_datasets", ["canonical_folder"])
    conn = op.get_bind()
    table = sa.table("catalog_datasets", sa.column("pid"), sa.column("source_folder"),
                     sa.column("canonical_folder"))  # fmt: skip
    folders: dict[str, str | None] = {}
    for (folder,) in conn.execute(sa.select(table.c.source_folder).distinct()):
        try:
            folders.setdefault(folder, canonical(folder))
        except Exception:  # a NUL or similar in an old row: no claim, never served
            folders.setdefault(folder, None)
    for folder, real in folders.items():
        if real is not None:
            conn.execute(
                sa.update(table).where(table.c.source_folder == folder).values(canonical_folder=real)
            )


def downgrade() -> None:
    op.drop_index("ix_catalog_datasets_canonical_folder", table_name="catalog_datasets")
    op.execute("ALTER TABLE catalog_datasets DROP COLUMN canonical_folder")  # no batch copy (triggers)
