"""Full-text matching of catalog datasets, indexed on both databases.

A dataset matches a word when the word occurs anywhere in its ``search_text`` (lower-cased name, description,
keywords, ids, technique names, metadata keys…): ``lyso`` finds ``lysozyme``. The condition is the same
everywhere; how it is answered fast depends on the database:

- PostgreSQL: ``search_text LIKE '%word%'`` served by a trigram GIN index (``pg_trgm``,
  ``ix_catalog_datasets_search_trgm``, created by migration 0007).
- SQLite: the FTS5 table ``catalog_datasets_fts`` with the ``trigram`` tokenizer, kept in step with
  ``catalog_datasets`` by triggers (migration 0007); a word becomes a phrase query on it.

Words shorter than three characters cannot use a trigram index and fall back to a scanning ``LIKE``;
when a facet filter already narrows the rows, words are tested on those rows (see ``text_condition``).
The FTS5 table is keyed on ``catalog_datasets.rowid``; a migration that rebuilds that table on SQLite must
run ``REBUILD_SQLITE`` afterwards (rowids may change when a table is copied).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Text, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement as _ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

FTS_TABLE = "catalog_datasets_fts"
TRGM_INDEX = "ix_catalog_datasets_search_trgm"
REBUILD_SQLITE = f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"
MAX_WORDS = 10


def is_search_index_object(name: str | None) -> bool:
    """Objects of the search index that live outside the SQLAlchemy models (FTS5 tables and triggers,
    the trigram and JSONB indexes); migrations create them, model/migration comparisons leave them alone."""
    return bool(name) and (
        str(name).startswith(FTS_TABLE)
        or name == TRGM_INDEX
        or name in {index for index, _ in JSONB_INDEXES.values()}
    )


def words(text: str | None) -> list[str]:
    """The lower-cased words of a full-text query (at most ``MAX_WORDS``; all must match)."""
    return (text or "").lower().split()[:MAX_WORDS]


class contains_word(_ColumnElement[bool]):
    """``catalog_datasets`` row contains ``word`` in its search text (compiled per database).

    The word is bound in three spellings (a LIKE pattern, an FTS5 phrase, the plain word); each database
    renders the one it uses, so compiled statements are cached like any other.
    """

    inherit_cache = True
    type = Text()  # not Boolean: SQLite would get "(…) = 1", which hides the index from its planner
    _traverse_internals = [
        ("like", InternalTraversal.dp_clauseelement),
        ("phrase", InternalTraversal.dp_clauseelement),
        ("raw", InternalTraversal.dp_clauseelement),
        ("short", InternalTraversal.dp_boolean),
        ("scan", InternalTraversal.dp_boolean),
    ]

    def __init__(self, word: str, *, scan: bool = False) -> None:
        self.like = bindparam(None, f"%{_escape_like(word)}%", type_=Text(), unique=True)
        self.phrase = bindparam(None, '"' + word.replace('"', '""') + '"', type_=Text(), unique=True)
        self.raw = bindparam(None, word, type_=Text(), unique=True)
        self.short = len(word) < 3  # too short for a trigram index
        self.scan = scan  # other filters narrow the rows already: test the word row by row


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@compiles(contains_word)
def _contains_default(element: contains_word, compiler: Any, **kw: Any) -> str:
    return f"(catalog_datasets.search_text LIKE {compiler.process(element.like, **kw)} ESCAPE '\\')"


@compiles(contains_word, "postgresql")
def _contains_postgresql(element: contains_word, compiler: Any, **kw: Any) -> str:
    if element.scan:
        # not LIKE: a word made of common trigrams ("high-pressure") can cost the trigram index tens of
        # milliseconds, while the facet filters' own indexes leave only a few thousand rows to test
        return f"(strpos(catalog_datasets.search_text, {compiler.process(element.raw, **kw)}) > 0)"
    return _contains_default(element, compiler, **kw)


@compiles(contains_word, "sqlite")
def _contains_sqlite(element: contains_word, compiler: Any, **kw: Any) -> str:
    if element.short or element.scan:
        return _contains_default(element, compiler, **kw)
    phrase = compiler.process(element.phrase, **kw)
    return f"(catalog_datasets.rowid IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH {phrase}))"


def text_condition(text: str | None, *, narrowed: bool = False) -> list[ColumnElement[bool]]:
    """One condition per word of the query.

    ``narrowed``: the query also filters on indexed terms (an instrument, a technique…). Then the words
    are tested on the rows those filters leave, not looked up in the word index: SQLite cannot estimate
    how many rows an FTS5 query returns and would start from it even for a common word matching half the
    catalog, and PostgreSQL's trigram index costs tens of milliseconds for words made of common trigrams
    where the filters' own indexes leave a few thousand rows.
    """
    return [contains_word(w, scan=narrowed) for w in words(text)]


def reindex(engine: Any) -> str:
    """Rebuild the full-text index (SQLite) or create the trigram index if it is missing (PostgreSQL).

    Safe to run at any time; returns what was done, for the command line.
    """
    from sqlalchemy import text as sql

    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(sql(REBUILD_SQLITE))
            return f"rebuilt {FTS_TABLE}"
        if conn.dialect.name != "postgresql":
            return "nothing to do on this database"
        if not conn.execute(sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar():
            raise RuntimeError(
                "pg_trgm is not available on this PostgreSQL server; install the PostgreSQL contrib "
                "package (postgresql-contrib) and run this again"
            )
        conn.execute(sql("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        conn.execute(
            sql(
                f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON catalog_datasets USING gin (search_text gin_trgm_ops)"
            )
        )
        conn.execute(sql("ANALYZE catalog_datasets"))
        return f"trigram index {TRGM_INDEX} present"


# --- facet filters on list fields -------------------------------------------------------------------------

# JSONB containment indexes (PostgreSQL, migration 0007) on the list columns a search filters by. With them
# the planner combines "has this instrument", "has this technique" and "contains this word" as bitmaps on
# the datasets table itself, and visits only the rows that pass all three.
JSONB_INDEXES = {
    "instrument": ("ix_catalog_datasets_instrument_ids_gin", "instrument_ids"),
    "technique": ("ix_catalog_datasets_techniques_gin", "techniques"),
    "proposal": ("ix_catalog_datasets_proposal_ids_gin", "proposal_ids"),
    "sample": ("ix_catalog_datasets_sample_ids_gin", "sample_ids"),
    "keyword": ("ix_catalog_datasets_keywords_gin", "keywords"),
}


class has_any_term(_ColumnElement[bool]):
    """The dataset's list field holds one of ``values``: on PostgreSQL JSONB containment on the row (GIN
    index), elsewhere ``pid IN`` the term index. Both are built; each database renders its own."""

    inherit_cache = True
    type = Text()  # not Boolean, see contains_word
    _traverse_internals = [
        ("jsonb", InternalTraversal.dp_clauseelement),
        ("terms", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, jsonb: ColumnElement[bool], terms: ColumnElement[bool]) -> None:
        self.jsonb = jsonb
        self.terms = terms


@compiles(has_any_term)
def _has_any_default(element: has_any_term, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.terms, **kw)


@compiles(has_any_term, "postgresql")
def _has_any_postgresql(element: has_any_term, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.jsonb, **kw)


def term_filter(kind: str, values: list[str], terms: ColumnElement[bool]) -> ColumnElement[bool]:
    """``terms`` (the portable ``pid IN (term index)`` condition), or on PostgreSQL the same test as JSONB
    containment when the kind has a GIN index."""
    if kind not in JSONB_INDEXES or not values:
        return terms
    from sqlalchemy import or_
    from sqlalchemy.dialects.postgresql import JSONB

    from halric.catalog.models import Dataset

    column = getattr(Dataset, JSONB_INDEXES[kind][1])
    probes = [[{"pid": v}] if kind == "technique" else [v] for v in values]
    jsonb = or_(*(column.op("@>")(bindparam(None, p, type_=JSONB(), unique=True)) for p in probes))
    return has_any_term(jsonb, terms)
