"""Constrained types for path and query parameters: a value no database can hold is refused here (422 with
a ``detail``), before any service sees it."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from halric.core.values import MAX_BIGINT, MAX_INT

# Record numbers are INTEGER columns (32 bits on PostgreSQL): a larger one cannot name a record.
RowId = Annotated[int, Path(ge=-MAX_INT, le=MAX_INT, description="Record number")]
Offset = Annotated[int, Query(ge=0, le=MAX_BIGINT, description="Items to skip")]
