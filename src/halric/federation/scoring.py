"""Relevance scores that compare across sites: the hub computes them itself, the same way for every
record whichever site it came from, so a result from MAX IV and one from ESS can be ranked together.

A score is in [0, 1]: for each query word, the best field it occurs in (title 1.0, keywords and techniques
0.8, description 0.5, anything else 0.3), halved for a match inside a word rather than a whole word,
weighted by the word's inverse document frequency when one is given, and divided by the best possible.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

WORD = re.compile(r"[\w.+-]+", re.UNICODE)
FIELD_WEIGHTS = (("title", 1.0), ("keywords", 0.8), ("techniques", 0.8), ("description", 0.5), ("other", 0.3))
MAX_WORDS = 12


def words(text: str | None) -> list[str]:
    """Lower-cased query words, without duplicates, in order (at most 12)."""
    out: list[str] = []
    for w in WORD.findall((text or "").lower()):
        w = w.strip(".+-")
        if w and w not in out:
            out.append(w)
    return out[:MAX_WORDS]


def _tokens(text: str) -> set[str]:
    return {t.strip(".+-") for t in WORD.findall(text.lower())}


def fields_of(record: Mapping[str, Any]) -> dict[str, str]:
    """The searchable text of a normalised record, by field."""

    def join(values: Iterable[Any]) -> str:
        out = []
        for v in values or ():
            out.append(str(v.get("name", "")) if isinstance(v, dict) else str(v))
        return " ".join(out)

    return {
        "title": str(record.get("title") or ""),
        "keywords": join(record.get("keywords") or []),
        "techniques": join(record.get("techniques") or []),
        "description": str(record.get("description") or ""),
        "other": " ".join(
            str(record.get(k) or "") for k in ("pid", "doi", "ownerGroup", "owner", "instrument")
        ),
    }


def relevance(
    query_words: list[str], record: Mapping[str, Any], idf: Mapping[str, float] | None = None
) -> float:
    """The record's score for the query words, in [0, 1] (0 when no word occurs)."""
    if not query_words:
        return 0.0
    fields = {name: text.lower() for name, text in fields_of(record).items()}
    tokens = {name: _tokens(text) for name, text in fields.items()}
    got = best = 0.0
    for w in query_words:
        weight = idf.get(w, 1.0) if idf else 1.0
        best += weight
        hit = 0.0
        for name, fw in FIELD_WEIGHTS:
            if w in tokens[name]:
                hit = max(hit, fw)
            elif w in fields[name]:
                hit = max(hit, fw * 0.5)
        got += weight * hit
    return round(got / best, 4) if best else 0.0


def idf_weights(df: Mapping[str, int], total: int) -> dict[str, float]:
    """Inverse document frequency of each word (rare words count more)."""
    return {w: math.log(1.0 + (total + 1) / (n + 1)) for w, n in df.items()}
