"""The registry's generation, and a small cache of answers computed from the registry, never stale.

The generation is ``(counter, token)`` of the one row of ``registry_generation``, which database triggers
change with every write to the registry's tables (organisations, infrastructures, instruments, techniques,
the links between them, expert profiles; migration 0022), however the write is made. It works as the
catalog's search generation does (``halric.catalog.searchcache`` explains why it is never stale: the new
data and the new generation become visible together; an answer is stored under the generation read
*before* it was computed; ``token`` never comes back after a rollback or a restore; missing or disabled
triggers make :func:`generation` answer None, and callers then compute without the cache).

:class:`AnswerCache` keeps answers of one generation: reading another generation drops them all. What
goes into a key is the caller's business; the registry is public, so nothing in it depends on who asks,
but callers must still keep whatever does (who may edit what, a question's log entry) out of the value.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy.orm import Session

from halric.core.generation import Generation
from halric.registry.models import RegistryGeneration

log = logging.getLogger(__name__)

WATCHED = (
    "organisations", "infrastructures", "instruments", "instrument_techniques", "techniques",
    "technique_parents", "expert_profiles",
)  # fmt: skip
_GENERATION = Generation(
    RegistryGeneration,
    WATCHED,
    "registry_generation",
    "registry caches off: the registry generation or its triggers are missing (%s); "
    "run `halric db upgrade`, or see migration 0022",
)
_MISSING = object()


def generation(s: Session) -> tuple[int, int] | None:
    """The registry's generation ``(counter, token)``; None when it cannot be trusted (a trigger is missing
    or disabled, the row is missing, or the database is neither PostgreSQL nor SQLite)."""
    return _GENERATION.read(s)


class AnswerCache:
    """Least-recently-used answers of one generation per database; thread-safe, one per process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = self.misses = 0
        self._generation: tuple[str, tuple[int, int]] | None = None
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str, gen: tuple[int, int] | None, key: Any) -> Any:
        """The answer stored for ``key`` under this database's generation, or None."""
        if gen is None:
            return None
        with self._lock:
            if (url, gen) != self._generation:  # the registry changed: nothing stored is valid any more
                self._entries.clear()
                self._generation = (url, gen)
            value = self._entries.get(key, _MISSING)
            if value is _MISSING:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, url: str, gen: tuple[int, int] | None, key: Any, value: Any) -> None:
        if gen is None:
            return
        with self._lock:
            if (url, gen) != self._generation:  # computed under an older generation: do not keep it
                return
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation = None
