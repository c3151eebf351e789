"""The hub's one settings object in tests: an app and its database share one ``Settings`` (the ``settings``
fixture); a test that needs another value changes it on that object for a while, never in the process's
environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from halric.core.db import Database
from halric.core.settings import Settings


@contextmanager
def changed(db: Database, **values: Any) -> Iterator[Settings]:
    """``db``'s settings (shared with the app built on it) with ``values`` while inside, restored after.
    What the database keeps built from its settings (the catalog's search cache) is dropped both times."""
    cfg = db.settings
    old = {name: getattr(cfg, name) for name in values}
    for name, value in values.items():
        setattr(cfg, name, value)
    db.state.clear()
    try:
        yield cfg
    finally:
        for name, value in old.items():
            setattr(cfg, name, value)
        db.state.clear()
