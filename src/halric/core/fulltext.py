"""Word search in a text column, indexed on SQLite and PostgreSQL alike.

A row matches a word when the word occurs anywhere in its search column (``lyso`` finds ``lysozyme``).
The condition means the same on every database; how it is answered fast depends on the database:

- PostgreSQL: ``column LIKE '%word%'`` served by a trigram GIN index (``pg_trgm``).
- SQLite: an FTS5 table with the ``trigram`` tokenizer over the column (external content, kept in step
  with the table by triggers); a word becomes a phrase query on it,
  ``key IN (SELECT rowid FROM fts WHERE fts MATCH '"word"')``.

Words shorter than three characters cannot use a trigram index and fall back to a scanning ``LIKE``. With
``scan=True`` the word is tested row by row: ``strpos`` on PostgreSQL (which never reads the trigram
index), ``LIKE`` on SQLite. Use it when other filters leave few rows already. A short word is always tested
with ``strpos`` on PostgreSQL: for a pattern without a whole trigram the index would read itself whole.
Where the filters that narrow are JSONB columns indexed in the same GIN index as the words
(``WordIndex.jsonb_columns``), ``scan_postgresql=False`` keeps ``LIKE`` on PostgreSQL: one index scan then
intersects them all, and only the rows that match everything are read. LIKE wildcards and FTS5 syntax in a
word are always literal. Words must be lower-cased, as the search column is.

A :class:`WordIndex` names what one search works on: table, column, key, FTS5 table and trigram index.
Those index objects are created by migrations (their SQL written out there), not by the models;
:meth:`WordIndex.owns` tells model/migration comparisons to leave them alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Text, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement as _ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


@dataclass(frozen=True)
class WordIndex:
    """The word index of one table's search column.

    ``key`` is the table's column the FTS5 table's rowid refers to (its ``content_rowid``): ``rowid``, or
    the table's ``INTEGER PRIMARY KEY`` (which survives a table rebuild on SQLite; ``rowid`` may not).
    """

    table: str
    fts: str  # SQLite FTS5 table (trigram tokenizer, external content)
    trgm: str  # PostgreSQL trigram GIN index
    column: str = "search_text"
    key: str = "rowid"
    # JSONB columns indexed in the same PostgreSQL GIN index, before the words (``jsonb_path_ops``): one index
    # scan then answers "contains this word" together with containment on them, the rarest key skipping
    # through the others' lists; and the separate indexes that one replaces
    jsonb_columns: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()

    @property
    def rebuild_sqlite(self) -> str:
        """Refill the FTS5 table from the table (after a migration rebuilt the table, or to repair)."""
        return f"INSERT INTO {self.fts}({self.fts}) VALUES ('rebuild')"

    def owns(self, name: str | None) -> bool:
        """The object (FTS5 table or one of its shadow tables, a trigger, the trigram index or one it
        replaced) is this index's."""
        return bool(name) and (str(name).startswith(self.fts) or name == self.trgm or name in self.replaces)

    def contains(
        self, word: str, *, scan: bool = False, scan_postgresql: bool | None = None
    ) -> ColumnElement[bool]:
        """The row's search column contains ``word`` (already lower-cased, as the column is)."""
        return contains_word(self, word, scan=scan, scan_postgresql=scan_postgresql)

    def conditions(
        self, words: list[str], *, scan: bool = False, scan_postgresql: bool | None = None
    ) -> list[ColumnElement[bool]]:
        """One condition per word (all must hold: add each to the WHERE clause)."""
        return [contains_word(self, w, scan=scan, scan_postgresql=scan_postgresql) for w in words]

    @property
    def create_postgresql(self) -> str:
        """The PostgreSQL word index (``pg_trgm``), with its JSONB columns first."""
        columns = [f"{c} jsonb_path_ops" for c in self.jsonb_columns] + [f"{self.column} gin_trgm_ops"]
        return f"CREATE INDEX IF NOT EXISTS {self.trgm} ON {self.table} USING gin ({', '.join(columns)})"

    def reindex(self, engine: Any) -> str:
        """Rebuild the FTS5 table (SQLite) or create the trigram index if it is missing (PostgreSQL).

        Safe to run at any time; returns what was done, for the command line.
        """
        from sqlalchemy import text as sql

        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.execute(sql(self.rebuild_sqlite))
                return f"rebuilt {self.fts}"
            if conn.dialect.name != "postgresql":
                return "nothing to do on this database"
            if not conn.execute(sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar():
                raise RuntimeError(
                    "pg_trgm is not available on this PostgreSQL server; install the PostgreSQL contrib "
                    "package (postgresql-contrib) and run this again"
                )
            conn.execute(sql("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            conn.execute(sql(self.create_postgresql))
            for name in self.replaces:
                conn.execute(sql(f"DROP INDEX IF EXISTS {name}"))
            conn.execute(sql(f"ANALYZE {self.table}"))
            return f"trigram index {self.trgm} present"


class contains_word(_ColumnElement[bool]):
    """A row of ``index.table`` contains ``word`` in its search column (compiled per database).

    The word is bound in three spellings (a LIKE pattern, an FTS5 phrase, the plain word); each database
    renders the one it uses, so compiled statements are cached like any other. The index is part of the
    cache key: two tables' conditions never share a compiled statement.
    """

    inherit_cache = True
    type = Text()  # not Boolean: SQLite would get "(…) = 1", which hides the index from its planner
    _traverse_internals = [
        ("index", InternalTraversal.dp_plain_obj),
        ("like", InternalTraversal.dp_clauseelement),
        ("phrase", InternalTraversal.dp_clauseelement),
        ("raw", InternalTraversal.dp_clauseelement),
        ("short", InternalTraversal.dp_boolean),
        ("scan", InternalTraversal.dp_boolean),
        ("scan_postgresql", InternalTraversal.dp_boolean),
    ]

    def __init__(
        self, index: WordIndex, word: str, *, scan: bool = False, scan_postgresql: bool | None = None
    ) -> None:
        self.index = index
        self.like = bindparam(None, f"%{escape_like(word)}%", type_=Text(), unique=True)
        self.phrase = bindparam(None, '"' + word.replace('"', '""') + '"', type_=Text(), unique=True)
        self.raw = bindparam(None, word, type_=Text(), unique=True)
        self.short = len(word) < 3  # too short for a trigram index
        self.scan = scan  # other filters narrow the rows already: test the word row by row
        # the same on PostgreSQL (default: as ``scan``); False where the filters that narrow are columns of
        # the word index itself (``WordIndex.jsonb_columns``): its one scan intersects them more cheaply
        self.scan_postgresql = scan if scan_postgresql is None else scan_postgresql


def escape_like(word: str) -> str:
    """``word`` for a LIKE pattern with ``ESCAPE '\\'``: its ``%`` and ``_`` match themselves."""
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@compiles(contains_word)
def _contains_default(element: contains_word, compiler: Any, **kw: Any) -> str:
    ix = element.index
    return f"({ix.table}.{ix.column} LIKE {compiler.process(element.like, **kw)} ESCAPE '\\')"


@compiles(contains_word, "postgresql")
def _contains_postgresql(element: contains_word, compiler: Any, **kw: Any) -> str:
    if element.scan_postgresql or element.short:
        # not LIKE: a word made of common trigrams ("high-pressure") can cost the trigram index tens of
        # milliseconds, while the other filters' own indexes leave only a few thousand rows to test; and a
        # word without a whole trigram would make the index read itself whole
        ix = element.index
        return f"(strpos({ix.table}.{ix.column}, {compiler.process(element.raw, **kw)}) > 0)"
    return _contains_default(element, compiler, **kw)


@compiles(contains_word, "sqlite")
def _contains_sqlite(element: contains_word, compiler: Any, **kw: Any) -> str:
    if element.short or element.scan:
        return _contains_default(element, compiler, **kw)
    ix = element.index
    phrase = compiler.process(element.phrase, **kw)
    return f"({ix.table}.{ix.key} IN (SELECT rowid FROM {ix.fts} WHERE {ix.fts} MATCH {phrase}))"


# --- whole words, for relevance scores ---------------------------------------------------------------------

TOKEN = re.compile(
    r"[\w.+-]+", re.UNICODE
)  # a word of a text: letters, digits, _ . + - (ends stripped of . + -)
SQLITE_WORD_HIT = "halric_word_hit"  # the SQLite function of ``word_hit`` (registered on every connection)


def tokens(text: str) -> set[str]:
    """The lower-cased words of ``text``."""
    return {t.strip(".+-") for t in TOKEN.findall(text.lower())}


def word_hit(text: str | None, word: str | None) -> float:
    """1.0 when ``word`` (lower-cased) is a whole word of ``text``, 0.5 when it occurs inside one, else 0.0.
    On SQLite this is the SQL function ``halric_word_hit(text, word)``; PostgreSQL computes the same with a
    regular expression (``halric.panosc.ranking``)."""
    if not text or not word:
        return 0.0
    if word in tokens(text):
        return 1.0
    return 0.5 if word in text.lower() else 0.0
