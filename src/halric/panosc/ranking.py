"""Relevance in SQL: the free-text ``score`` of ``halric.federation.scoring.relevance`` computed by the
database, so that ranking, ``score > 0``, ORDER BY and LIMIT all happen in one statement.

For each query word the best field it occurs in counts (title 1.0, keywords and techniques 0.8, description
0.5, pid 0.3), halved for a match inside a word rather than a whole word, weighted by the word's inverse
document frequency among the datasets the query's filters leave; the sum is divided by the best possible
and rounded to 4 decimals — the formula the federation scores every site's records with. Whether a word is a
whole word of a field (``halric.core.fulltext.word_hit``): a regular expression on PostgreSQL, the SQL
function ``halric_word_hit`` on SQLite (registered on each connection by ``halric.core.db``; SQLite has no
regular expressions of its own).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Float, Numeric, and_, bindparam, case, cast, func, literal_column
from sqlalchemy.orm import Session

from halric.catalog import service as catalog
from halric.catalog.models import Dataset
from halric.core.fulltext import SQLITE_WORD_HIT
from halric.federation import scoring
from halric.panosc.relations import PUBLIC

# the scoring fields of a catalog dataset, as SQL over catalog_datasets (keywords and technique names joined
# by spaces, as scoring.fields_of joins them)
_LISTS = {
    "postgresql": {
        "keywords": "(SELECT string_agg(k, ' ') FROM jsonb_array_elements_text(CASE WHEN "
        "jsonb_typeof(catalog_datasets.keywords) = 'array' THEN catalog_datasets.keywords ELSE '[]' END) AS k)",
        "techniques": "(SELECT string_agg(coalesce(t ->> 'name', ''), ' ') FROM jsonb_array_elements(CASE WHEN "
        "jsonb_typeof(catalog_datasets.techniques) = 'array' THEN catalog_datasets.techniques ELSE '[]' END) AS t)",
    },
    "sqlite": {
        "keywords": "(SELECT group_concat(value, ' ') FROM json_each(catalog_datasets.keywords))",
        "techniques": "(SELECT group_concat(coalesce(json_extract(value, '$.name'), ''), ' ') "
        "FROM json_each(catalog_datasets.techniques))",
    },
}
NOT_WORD = "[^[:alnum:]_.+-]"  # PostgreSQL: a character that is not part of a word (scoring.WORD)


def idf(s: Session, where: dict[str, Any], words: list[str]) -> dict[str, float]:
    """Each word's inverse document frequency among the public datasets matching ``where`` (one statement);
    with one word no count is needed (its weight divides out)."""
    if len(words) < 2:
        return dict.fromkeys(words, 1.0)
    total, df = catalog.count_datasets_per_word(s, PUBLIC, where, words)
    return scoring.idf_weights(df, total)


def _fields(dialect: str) -> list[tuple[ColumnElement[Any], float]]:
    lists = _LISTS["postgresql" if dialect == "postgresql" else "sqlite"]
    weights = dict(scoring.FIELD_WEIGHTS)
    return [
        (Dataset.dataset_name, weights["title"]),
        (literal_column(lists["keywords"]), weights["keywords"]),
        (literal_column(lists["techniques"]), weights["techniques"]),
        (Dataset.description, weights["description"]),
        (Dataset.pid, weights["other"]),
    ]


def _word_pattern(word: str) -> str:
    """PostgreSQL regular expression: ``word`` is a whole word (``scoring.words``: its ends are no . + -)."""
    body = re.sub(r"([.+\\\-^$*?()\[\]{}|])", r"\\\1", word)
    return f"(^|{NOT_WORD})[.+-]*{body}[.+-]*($|{NOT_WORD})"


def _conditions(dialect: str, text: ColumnElement[Any], word: str) -> tuple[Any, Any]:
    """(``word`` is a whole word of ``text``, ``word`` occurs in ``text``): ``halric.core.fulltext.word_hit``
    1.0 and above 0."""
    if dialect == "postgresql":
        lowered = func.lower(text)
        inside = func.strpos(lowered, bindparam(None, word, unique=True)) > 0
        return and_(inside, lowered.op("~")(bindparam(None, _word_pattern(word), unique=True))), inside
    hit = getattr(func, SQLITE_WORD_HIT)(text, bindparam(None, word, unique=True), type_=Float())
    return hit == 1.0, hit > 0.0


def _word_score(dialect: str, word: str) -> ColumnElement[float]:
    """The best field weight of ``word`` (halved inside a word): the conditions tested best first, so a
    dataset with the word in its title is settled by its title alone."""
    levels: list[tuple[float, Any]] = []
    for text, weight in _fields(dialect):
        whole, inside = _conditions(dialect, text, word)
        levels += [(weight, whole), (weight * 0.5, inside)]
    levels.sort(key=lambda x: -x[0])  # stable: title before keywords before techniques at one weight
    return case(*((cond, value) for value, cond in levels), else_=0.0)


def score(dialect: str, words: list[str], weights: dict[str, float]) -> ColumnElement[float]:
    """The dataset's score for ``words`` (in [0, 1], rounded to 4 decimals; 0 when no word occurs)."""
    best = sum(weights.get(w, 1.0) for w in words)
    total: ColumnElement[Any] | None = None
    for w in words:
        term = _word_score(dialect, w) * weights.get(w, 1.0)
        total = term if total is None else total + term
    assert total is not None
    ratio = total / best
    if dialect == "postgresql":
        return cast(func.round(cast(ratio, Numeric), 4), Float)
    return func.round(ratio, 4, type_=Float())
