"""A generation that database triggers change on every write to a set of tables: what the catalog's search
cache (migration 0009) and the registry's caches (migration 0022) are keyed by.

The generation is ``(counter, token)`` summed over the rows of a table (one row, or on PostgreSQL the
catalog's 64 — one per connection slot, so that writers on different connections do not wait for each
other); triggers on each watched table change it with every insert, update and delete, however the write
is made. :meth:`Generation.read` answers None when it cannot be trusted — the rows are missing, a trigger
is missing or disabled, or the database is neither PostgreSQL nor SQLite — and warns once per dialect, so
callers compute without their cache.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


class Generation:
    """The generation row ``model`` (columns ``id``, ``counter``, ``token``) kept by the triggers named
    ``{table}_{suffix}`` (PostgreSQL) and ``{table}_{suffix}_{ai,au,ad}`` (SQLite) on ``watched``."""

    def __init__(self, model: Any, watched: tuple[str, ...], suffix: str, off_message: str) -> None:
        self.model = model
        self.watched = watched
        self.off_message = off_message  # logged once per dialect when the generation cannot be trusted
        self.triggers = {
            "postgresql": [(table, f"{table}_{suffix}") for table in watched],
            "sqlite": [(table, f"{table}_{suffix}_{op}") for table in watched for op in ("ai", "au", "ad")],
        }
        self._warned: set[str] = set()

    def _triggers_present(self, dialect: str) -> Any:
        """A scalar subquery counting the triggers that exist (PostgreSQL: and are enabled)."""
        if dialect == "postgresql":
            # a join with the (table, trigger) pairs: each table's name is looked up once (as an OR of the
            # pairs, to_regclass ran for every row of pg_trigger: 1.1 ms of PostgreSQL's CPU per read)
            pairs = ", ".join(f"('{tb}', '{name}')" for tb, name in self.triggers[dialect])
            sql = (
                f"(SELECT count(*) FROM pg_trigger t JOIN (VALUES {pairs}) AS w(tb, nm) "
                "ON t.tgrelid = to_regclass(w.tb) AND t.tgname = w.nm WHERE t.tgenabled IN ('O', 'A'))"
            )
        else:
            pairs = " OR ".join(
                f"(tbl_name = '{tb}' AND name = '{name}')" for tb, name in self.triggers[dialect]
            )
            sql = f"(SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND ({pairs}))"
        return literal_column(sql)

    def read(self, s: Session) -> tuple[int, int] | None:
        """``(counter, token)``, or None when it cannot be trusted."""
        dialect = s.get_bind().dialect.name
        if dialect not in self.triggers:
            return None
        # an ORM select: the session's pending changes are flushed first, so they count as a write
        # the sums over the rows: the catalog's generation is kept in several rows on PostgreSQL (one per
        # connection slot, migration 0025), so that concurrent writers do not queue on one row's lock
        m = self.model
        row = s.execute(
            select(func.sum(m.counter), func.sum(m.token), self._triggers_present(dialect))
        ).first()
        if row is None or row[0] is None or int(row[2]) != len(self.triggers[dialect]):
            if dialect not in self._warned:
                self._warned.add(dialect)
                log.warning(self.off_message, dialect)
            return None
        return int(row[0]), int(row[1])
