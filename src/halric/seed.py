"""Load the seed data that ships with the hub (registry files)."""

from __future__ import annotations

from typing import Any

from halric.core.db import Database


def load_seed(db: Database, console: Any) -> None:
    from halric.registry import loader

    loader.load_into(db, console=console)
