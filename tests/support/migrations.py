"""Rows written as an older revision's schema knows them, for tests of one migration's data step."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa


def _filler(col: sa.Column) -> Any:
    t = col.type
    if isinstance(t, sa.Boolean):
        return False
    if isinstance(t, sa.Integer | sa.Numeric):
        return 0
    if isinstance(t, sa.Date) and not isinstance(t, sa.DateTime):
        return date(2026, 1, 1)
    if isinstance(t, sa.DateTime) or "DateTime" in type(t).__name__:
        return datetime(2026, 1, 1, tzinfo=UTC)
    if isinstance(t, sa.JSON) or "JSON" in type(t).__name__:
        return []
    return "x"


def insert(conn: Any, table_name: str, **values: Any) -> Any:
    """A row as the schema of the current revision knows it: the given values, dull ones for other
    required columns. Returns the new primary key."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    row = dict(values)
    for col in table.columns:
        if col.name in row or col.nullable or col.server_default is not None:
            continue
        if col.primary_key and isinstance(col.type, sa.Integer):
            continue
        row[col.name] = _filler(col)
    pk = next(iter(table.primary_key.columns))
    return conn.execute(table.insert().values(row).returning(pk)).scalar_one()
