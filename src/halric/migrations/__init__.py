"""Alembic migrations shipped inside the package, and helpers to run and check them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from halric.core.errors import SchemaOutOfDate

HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """What autogenerate compares: everything but the word index objects created by SQL in migrations
    0007 (catalog; see halric.catalog.fulltext) and 0008 (harvested records; see
    halric.federation.models.RECORD_WORDS): FTS5 tables and triggers, trigram and JSONB indexes; and the
    catalog terms' reference to their dataset, a foreign key on SQLite and triggers on PostgreSQL (0027)."""
    from halric.catalog.fulltext import is_search_index_object
    from halric.catalog.models import TERMS_REFERENCE
    from halric.federation.models import RECORD_WORDS

    return not (is_search_index_object(name) or RECORD_WORDS.owns(name) or name == TERMS_REFERENCE)


def head_revision() -> str | None:
    return ScriptDirectory(str(HERE)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def check_schema(engine: Engine) -> None:
    """Refuse to run on an old or unknown schema, saying which command fixes it."""
    have, need = current_revision(engine), head_revision()
    if have != need:
        state = (
            "has no HALRIC schema yet" if have is None else f"is at revision {have}, this hub needs {need}"
        )
        raise SchemaOutOfDate(f"The database {state}. Run `halric db upgrade` first.")
