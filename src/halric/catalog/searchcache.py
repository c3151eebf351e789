"""A bounded in-process cache for the expensive part of catalog searches, never stale.

A search that matches a large part of the catalog (the first visit to ``/catalog``: no words, no filters)
spends its time counting every facet over every match. The cache keeps, per search, the total with the
facet counts, and the pids of the matches in windows of positions (see ``search._cached``), under a key of

- the catalog's **search generation**: ``(counter, token)`` of the one row of ``catalog_search_generation``,
  which database triggers change with every write to the tables a search reads (datasets, their terms,
  their data blocks; migration 0009), however the write is made — the hub's services, the SciCat API, a
  bulk COPY or raw SQL;
- the caller's **read scope** (``rules.read_scope``: everything, published only, or these groups), the same
  value the access rule in the search is built from, so two callers share an entry only when the access
  rule selects exactly the same datasets for both;
- the **normalised query** (``SearchQuery.key``; for the pids also the sort and the window).

Every search reads the generation first (one small query) and only then looks the answer up or computes
it. Why that is never stale:

- A writer changes the generation in the same transaction as the data, so the new data and the new
  generation become visible together; an answer is stored under the generation read *before* it was
  computed, so it reflects that generation's data or newer, never older.
- ``token`` is a new random number with every write, so a generation value does not come back after a
  rollback, in another database, or after a database was restored from a backup: an answer computed from
  a transaction's own uncommitted writes is stored under a generation nobody else will ever read.
- The generation query also checks that all the triggers exist (and on PostgreSQL are enabled); if one is
  missing — e.g. a later SQLite migration rebuilt a table — it answers None and searches run uncached.

All entries belong to one generation: when a search reads a different one, the old entries are dropped.
Each server process has its own cache (``HALRIC_CATALOG_SEARCH_CACHE``, ``..._SIZE``, ``..._MIN_MATCHES``).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from halric.catalog.models import SearchGeneration
from halric.core.generation import Generation

log = logging.getLogger(__name__)

# the tables a search reads (and data blocks, from which a dataset's size and file count come), and the
# triggers migration 0009 puts on them
WATCHED = ("catalog_datasets", "catalog_dataset_terms", "catalog_origdatablocks")
_GENERATION = Generation(
    SearchGeneration,
    WATCHED,
    "search_generation",
    "catalog search cache off: the search generation or its triggers are missing (%s); "
    "run `halric db upgrade`, or see migration 0009",
)
_MISSING = object()


def generation(s: Session) -> tuple[int, int] | None:
    """The catalog's search generation ``(counter, token)``; None when it cannot be trusted (a trigger is
    missing or disabled, or the database is neither PostgreSQL nor SQLite)."""
    return _GENERATION.read(s)


def invalidate(engine: Engine) -> None:
    """Change the generation by hand, for changes the triggers cannot see (rebuilding SQLite's word index,
    ``halric db reindex-search``): every process's cached answers are then dropped at its next search."""
    with engine.begin() as conn:
        conn.execute(
            update(SearchGeneration)
            .where(SearchGeneration.id == 1)
            .values(counter=SearchGeneration.counter + 1, token=secrets.randbits(62))
        )


class SearchCache:
    """Least-recently-used answers of one generation; thread-safe."""

    def __init__(self, size: int, min_matches: int) -> None:
        self.size = size
        self.min_matches = min_matches
        self.hits = self.misses = self.stores = 0
        self._generation: tuple[int, int] | None = None
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, generation: tuple[int, int], key: tuple[Any, ...]) -> Any:
        """The answer stored for ``key`` under this generation, or None."""
        with self._lock:
            if generation != self._generation:  # the catalog changed: nothing stored is valid any more
                self._entries.clear()
                self._generation = generation
            value = self._entries.get(key, _MISSING)
            if value is _MISSING:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def holds(self, generation: tuple[int, int], key: tuple[Any, ...]) -> bool:
        """Whether an answer is stored for ``key`` under this generation (not counted as a hit or miss)."""
        with self._lock:
            return generation == self._generation and key in self._entries

    def put(self, generation: tuple[int, int], key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            if generation != self._generation:  # another search has seen a newer generation meanwhile
                return
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
            self.stores += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation = None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "hits": self.hits, "misses": self.misses, "stores": self.stores,
                "entries": len(self._entries), "size": self.size, "min_matches": self.min_matches,
            }  # fmt: skip


@dataclass(frozen=True)
class Lookup:
    """The cache as seen by one search: bound to the generation the search read first."""

    cache: SearchCache
    generation: tuple[int, int]

    def get(self, key: tuple[Any, ...]) -> Any:
        return self.cache.get(self.generation, key)

    def holds(self, key: tuple[Any, ...]) -> bool:
        return self.cache.holds(self.generation, key)

    def put(self, key: tuple[Any, ...], value: Any, *, matches: int) -> None:
        """Store an answer, if it counted enough datasets to have been expensive."""
        if matches >= self.cache.min_matches:
            self.cache.put(self.generation, key, value)


def current(s: Session) -> SearchCache | None:
    """The cache of the database that made this session, as its settings describe it (None: switched off).
    One per database and process: an app, a command and each test's database have their own."""
    db = s.info["database"]
    if "catalog.searchcache" not in db.state:
        cfg = db.settings
        db.state["catalog.searchcache"] = (
            SearchCache(cfg.catalog_search_cache_size, cfg.catalog_search_cache_min_matches)
            if cfg.catalog_search_cache
            else None
        )
    return db.state["catalog.searchcache"]


ROWS_SIZE = 2000  # datasets kept as answered (about 2–5 KB each): the pages of the searches asked lately


def rows(s: Session) -> SearchCache | None:
    """The datasets of recent search pages as answered, with what the read rule looks at (``search._Row``),
    under the same generation as the answers: a page found in the cache is not read from the database
    again while nothing in the catalog changed. The read rule is still applied to every row, for every
    caller. Off when the search cache is off."""
    if current(s) is None:
        return None
    db = s.info["database"]
    if "catalog.searchcache.rows" not in db.state:
        db.state["catalog.searchcache.rows"] = SearchCache(ROWS_SIZE, 0)
    return db.state["catalog.searchcache.rows"]


def lookup(s: Session) -> Lookup | None:
    """Read the generation and bind the cache to it; None when the cache is off or cannot be trusted."""
    cache = current(s)
    if cache is None:
        return None
    gen = generation(s)
    return None if gen is None else Lookup(cache, gen)
