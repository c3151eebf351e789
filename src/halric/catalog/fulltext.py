"""Full-text matching of catalog datasets, indexed on both databases.

A dataset matches a word when the word occurs anywhere in its ``search_text`` (lower-cased name, description,
keywords, ids, technique names, metadata keys…): ``lyso`` finds ``lysozyme``. The dataset's own pid is not in
the search text (its random letters cost the trigram index a third of its work on every write, see
docs/catalog.md); a word that is a whole pid (``20.500.12345/0f3c…``) or the UUID after its prefix finds the
dataset through the pid column instead (``pid_condition``). The condition is the same
everywhere; how it is answered fast depends on the database (the word matching itself is
``halric.core.fulltext``, shared with the federation's harvested records):

- PostgreSQL: ``search_text LIKE '%word%'`` served by a GIN index (``pg_trgm``) that also holds the
  ``instrument_ids`` and ``techniques`` columns (``ix_catalog_datasets_search_gin``, migration 0026; it
  replaced migration 0007's three separate indexes): a word on one instrument and technique is one index
  scan, and only the rows matching all three are read from the table.
- SQLite: the FTS5 table ``catalog_datasets_fts`` with the ``trigram`` tokenizer, kept in step with
  ``catalog_datasets`` by triggers (migration 0007); a word becomes a phrase query on it.

Words shorter than three characters cannot use a trigram index and fall back to a scanning ``LIKE``;
when a facet filter already narrows the rows, words are tested on those rows, except on PostgreSQL when an
instrument or technique narrows them (see ``text_condition``).
The FTS5 table is keyed on ``catalog_datasets.rowid``; a migration that rebuilds that table on SQLite must
run ``REBUILD_SQLITE`` afterwards (rowids may change when a table is copied).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Text, bindparam, func, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement as _ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from halric.core.fulltext import WordIndex

INDEX = WordIndex(
    table="catalog_datasets",
    fts="catalog_datasets_fts",
    trgm="ix_catalog_datasets_search_gin",
    key="rowid",
    jsonb_columns=("instrument_ids", "techniques"),
    replaces=(
        "ix_catalog_datasets_search_trgm",
        "ix_catalog_datasets_instrument_ids_gin",
        "ix_catalog_datasets_techniques_gin",
    ),
)
FTS_TABLE = INDEX.fts
TRGM_INDEX = INDEX.trgm
REBUILD_SQLITE = INDEX.rebuild_sqlite
MAX_WORDS = 10


def is_search_index_object(name: str | None) -> bool:
    """Objects of the search index that live outside the SQLAlchemy models (FTS5 tables and triggers,
    the trigram and JSONB indexes); migrations create them, model/migration comparisons leave them alone."""
    return INDEX.owns(name) or name in {index for index, _ in JSONB_INDEXES.values()}


def words(text: str | None) -> list[str]:
    """The lower-cased words of a full-text query (at most ``MAX_WORDS``; all must match)."""
    return (text or "").lower().split()[:MAX_WORDS]


def _words_as_typed(text: str | None) -> list[tuple[str, str]]:
    """Each word of ``words(text)`` with the word as typed (a pid keeps its case)."""
    return list(zip(words(text), (text or "").split()[:MAX_WORDS], strict=True))


def key_words(text: str | None) -> list[str]:
    """The words as they decide what a search matches (a search cache's key): lower-cased, but a word that
    names a pid as typed, since its case decides which pid it names (``pid_condition``)."""
    return [typed if "/" in typed else word for word, typed in _words_as_typed(text)]


def contains_word(word: str, *, scan: bool = False) -> ColumnElement[bool]:
    """The ``catalog_datasets`` row contains ``word`` in its search text (compiled per database)."""
    return INDEX.contains(word, scan=scan)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def pid_condition(word: str) -> ColumnElement[bool] | None:
    """The dataset is the one ``word`` names, when the word is a pid (it has a ``/``: the pid's primary key
    answers, written as stored or lower-cased) or a UUID (the part of a pid after its prefix: tested row by
    row, as a UUID is searched for rarely); None for any other word."""
    from halric.catalog.models import Dataset

    if "/" in word:
        return Dataset.pid.in_(sorted({word, word.lower()}))
    if _UUID.fullmatch(word.lower()):
        return func.lower(Dataset.pid).endswith("/" + word.lower(), autoescape=True)
    return None


def text_condition(
    text: str | None, *, narrowed: bool = False, narrowed_in_index: bool = False
) -> list[ColumnElement[bool]]:
    """One condition per word of the query.

    ``narrowed``: the query also filters on indexed terms (an instrument, a technique…). Then the words
    are tested on the rows those filters leave, not looked up in the word index: SQLite cannot estimate
    how many rows an FTS5 query returns and would start from it even for a common word matching half the
    catalog, and PostgreSQL's trigram index alone costs tens of milliseconds for words made of common
    trigrams where a proposal's or keyword's own index leaves a few thousand rows.

    ``narrowed_in_index``: an instrument or technique is among those filters. On PostgreSQL the words are
    then looked up in the word index after all, which holds those two columns too: its one scan intersects
    the instrument, the technique and the word (the rarest key skipping through the others' lists), where
    testing the word row by row would read every dataset of the instrument and technique (about 6,600 at
    1,000,000 datasets).
    """
    scan, scan_postgresql = narrowed, narrowed and not narrowed_in_index
    out = []
    for word, as_typed in _words_as_typed(text):
        found = INDEX.contains(word, scan=scan, scan_postgresql=scan_postgresql)
        pid = pid_condition(as_typed)
        out.append(found if pid is None else or_(found, pid))
    return out


def reindex(engine: Any) -> str:
    """Rebuild the full-text index (SQLite) or create the trigram index if it is missing (PostgreSQL).

    Safe to run at any time; returns what was done, for the command line.
    """
    return INDEX.reindex(engine)


# --- facet filters on list fields -------------------------------------------------------------------------

# JSONB containment indexes (PostgreSQL, migrations 0007 and 0026) on the list columns a search filters by.
# With them the planner answers "has this instrument", "has this technique" and "contains this word" on the
# datasets table itself (the first two and the word in one scan of the word index, the others as bitmaps),
# and visits only the rows that pass them all.
JSONB_INDEXES = {
    "instrument": (INDEX.trgm, "instrument_ids"),  # columns of the word index (migration 0026)
    "technique": (INDEX.trgm, "techniques"),
    "proposal": ("ix_catalog_datasets_proposal_ids_gin", "proposal_ids"),
    "sample": ("ix_catalog_datasets_sample_ids_gin", "sample_ids"),
    "keyword": ("ix_catalog_datasets_keywords_gin", "keywords"),
}


class has_any_term(_ColumnElement[bool]):
    """The dataset's list field holds one of ``values``: on PostgreSQL JSONB containment on the row (GIN
    index), elsewhere ``pid IN`` the term index. Both are built; each database renders its own."""

    inherit_cache = True
    type = Text()  # not Boolean, see halric.core.fulltext.contains_word
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
    from sqlalchemy.dialects.postgresql import JSONB

    from halric.catalog.models import Dataset

    column = getattr(Dataset, JSONB_INDEXES[kind][1])
    probes = [[{"pid": v}] if kind == "technique" else [v] for v in values]
    jsonb = or_(*(column.op("@>")(bindparam(None, p, type_=JSONB(), unique=True)) for p in probes))
    return has_any_term(jsonb, terms)
