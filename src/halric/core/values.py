"""The limits every value the hub stores must meet, checked once at the edge.

Both databases must be able to store what the hub accepts, and everything stored must come back out as
JSON: PostgreSQL refuses NUL characters in text, integers beyond 64 bits overflow both databases, NaN and
Infinity are not JSON (SQLite stores them, then every export and JSON-LD page of the record breaks), and
a time near year 9999 overflows as soon as an embargo is added to it. Input models use the types below;
free-form JSON (scientific metadata, custom metadata) goes through ``check_json``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from halric.core.errors import InvalidInput

MAX_BIGINT = 2**63 - 1  # BIGINT on both databases
MAX_INT = 2**31 - 1  # INTEGER columns on PostgreSQL
MAX_DEPTH = 64  # nesting of free-form JSON
FIRST_YEAR, LAST_YEAR = 1000, 2999


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored (a NUL character, an unpaired UTF-16 surrogate), or None."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (\\ud800-\\udfff), which is not text"
    return None


def no_nul(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def in_years(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must lie between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


Text = Annotated[str, AfterValidator(no_nul)]
Count = Annotated[int, Field(ge=0, le=MAX_BIGINT)]
BigInt = Annotated[int, Field(ge=-MAX_BIGINT, le=MAX_BIGINT)]
SmallInt = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]
Moment = Annotated[datetime, AfterValidator(in_years)]


def json_problem(value: Any, where: str = "", depth: int = 0) -> str | None:
    """What makes a JSON value unstorable (``"where: message"``), or None."""
    here = where or "value"
    if depth > MAX_DEPTH:
        return f"{here}: nested more than {MAX_DEPTH} levels deep"
    if isinstance(value, str):
        problem = text_problem(value)
        return f"{here}: {problem}" if problem else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        return (
            None
            if math.isfinite(value)
            else f"{here}: must be a finite number (NaN and Infinity are not JSON)"
        )
    if isinstance(value, int):
        return None if -MAX_BIGINT <= value <= MAX_BIGINT else f"{here}: the number is too large to store"
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and (problem := text_problem(key)):
                return f"{where or 'value'}: a key {problem}"
            problem = json_problem(item, name, depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            problem = json_problem(item, f"{where}[{i}]" if where else f"[{i}]", depth + 1)
            if problem:
                return problem
    return None


def check_json(value: Any, field: str | None = None) -> Any:
    """``value`` unchanged, or InvalidInput naming the first part that cannot be stored."""
    problem = json_problem(value, field or "")
    if problem:
        raise InvalidInput(problem, field=(field or problem.split(":", 1)[0]).split(".", 1)[0].split("[")[0])
    return value


def finite(value: Any) -> Any:
    """A copy of a stored JSON value that can always be written out: NaN and Infinity become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
