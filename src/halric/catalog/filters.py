"""SciCat query languages: LoopBack-style ``filter``/``where`` and the ``fullquery`` fields.

Datasets are filtered in SQL (the table can hold millions of rows); the small collections (samples,
proposals, instruments, published data) are filtered in Python over their SciCat-shaped dictionaries
with the same operators: ``and, or, inq, nin, like, nlike, ilike, nilike, neq, gt, gte, lt, lte, between``.
``like`` follows SciCat's MongoDB backend for the part of regular expressions people use: ``^``, ``$``,
``.*`` and ``.`` are understood, ``\\`` escapes, every other character is literal; a plain string matches
anywhere in the value. It is compiled to SQL LIKE/GLOB, or matched in Python by :class:`LikePattern` in
time linear in the value's length — user input never becomes a backtracking regular expression.

Every filter is checked once where it enters (:func:`load_json`, :func:`parse_filter`): JSON nested at most
:data:`MAX_DEPTH` deep, no NUL characters, no NaN/Infinity, ``limit``/``skip`` whole numbers up to
:data:`MAX_ROWS`, operands of the right shape (a value, a list for ``inq``/``nin``, two for ``between``) and,
for datasets, of the field's type; anything else answers 400 with a message saying what to send.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Float, and_, exists, func, literal, not_, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from halric.catalog import fulltext
from halric.core.errors import InvalidInput

OPERATORS = {
    "inq",
    "nin",
    "like",
    "nlike",
    "ilike",
    "nilike",
    "neq",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "eq",
}


@dataclass
class Filter:
    where: dict[str, Any] = field(default_factory=dict)
    fields: list[str] | None = None
    limit: int | None = None
    skip: int = 0
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    include: list[str] = field(default_factory=list)


MAX_DEPTH = 24  # JSON nesting of a filter
MAX_ROWS = 2**31 - 1  # largest limit or skip
MAX_PATTERN = 1000  # characters of a like pattern
MAX_INT = 2**63 - 1


def _no_constant(name: str) -> Any:
    def reject(word: str) -> Any:
        raise InvalidInput(f"{name}: {word} is not a number here; send a finite number", field=name)

    return reject


def check_tree(data: Any, name: str) -> None:
    """Raise InvalidInput unless the decoded JSON is at most MAX_DEPTH deep, has no NUL characters and
    only finite numbers (iterative: a deep document cannot exhaust the stack here)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput(
                f"{name}: nested more than {MAX_DEPTH} levels deep; simplify the filter", field=name
            )
        if isinstance(node, dict):
            for k, v in node.items():
                if "\x00" in k:
                    raise InvalidInput(f"{name}: text must not contain NUL characters", field=name)
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            if "\x00" in node:
                raise InvalidInput(f"{name}: text must not contain NUL characters", field=name)
        elif isinstance(node, float) and not math.isfinite(node):
            raise InvalidInput(f"{name}: numbers must be finite", field=name)


def load_json(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    if "\x00" in raw:
        raise InvalidInput(f"{name}: text must not contain NUL characters", field=name)
    try:
        data = json.loads(raw, parse_constant=_no_constant(name))
    except RecursionError:
        raise InvalidInput(
            f"{name}: nested more than {MAX_DEPTH} levels deep; simplify the filter", field=name
        ) from None
    except ValueError:
        raise InvalidInput(f"{name}: not valid JSON", field=name) from None
    check_tree(data, name)
    return data


def parse_order(order: Any, name: str = "order") -> list[tuple[str, bool]]:
    """``"creationTime:desc"``, ``"creationTime DESC"`` or a list of them."""
    if order in (None, "", []):
        return []
    items = order if isinstance(order, list) else str(order).split(",")
    out = []
    for item in items:
        parts = re.split(r"[:\s]+", str(item).strip())
        if not parts or not parts[0]:
            continue
        direction = parts[1].lower() if len(parts) > 1 else "asc"
        if direction not in ("asc", "desc"):
            raise InvalidInput(f"{name}: use 'field:asc' or 'field:desc', got {item!r}", field=name)
        out.append((parts[0], direction == "desc"))
    return out


def whole_number(value: Any, name: str, *, default: int | None, maximum: int = MAX_ROWS) -> int | None:
    """A limit or skip: a whole number from 0 to ``maximum`` (also given as text or as 10.0)."""
    if value is None:
        return default
    n: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        n = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        n = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value.strip()) <= 20:
        n = int(value.strip())
    if n is None:
        raise InvalidInput(f"{name}: must be a whole number, e.g. 10", field=name)
    if n < 0:
        raise InvalidInput(f"{name}: must not be negative", field=name)
    if n > maximum:
        raise InvalidInput(f"{name}: must be at most {maximum}", field=name)
    return n


def parse_include(include: Any) -> list[str]:
    if include in (None, ""):
        return []
    items = include if isinstance(include, list) else [include]
    out = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("relation")
        if isinstance(item, str):
            out.extend(p.strip() for p in item.split(",") if p.strip())
    return out


def parse_filter(raw: str | dict[str, Any] | None, name: str = "filter") -> Filter:
    data = load_json(raw, name) if isinstance(raw, str | None) else raw
    if data is None:
        return Filter()
    if not isinstance(data, dict):
        raise InvalidInput(f'{name}: must be a JSON object such as {{"where": {{...}}}}', field=name)
    if not isinstance(raw, str):
        check_tree(data, name)
    where = data.get("where") or {}
    if not isinstance(where, dict):
        raise InvalidInput(f"{name}.where: must be a JSON object", field=name)
    check_where(where, f"{name}.where")
    limits = data.get("limits") or {}
    if not isinstance(limits, dict):
        raise InvalidInput(f'{name}.limits: must be a JSON object such as {{"limit": 10}}', field=name)
    fields = data.get("fields")
    if isinstance(fields, dict):
        fields = [k for k, v in fields.items() if v]
    elif fields is not None and not (isinstance(fields, list) and all(isinstance(f, str) for f in fields)):
        raise InvalidInput(f"{name}.fields: list the fields to return", field=name)
    return Filter(
        where=where,
        fields=fields or None,
        limit=whole_number(data.get("limit", limits.get("limit")), f"{name}.limit", default=None),
        skip=whole_number(data.get("skip", data.get("offset", limits.get("skip"))), f"{name}.skip", default=0)
        or 0,
        order=parse_order(data.get("order", limits.get("order")), f"{name}.order"),
        include=parse_include(data.get("include")),
    )


def _like_tokens(value: str) -> tuple[bool, list[tuple[str, str]], bool]:
    """A MongoDB-style regex (SciCat's ``like``) as (anchored start, tokens, anchored end);
    tokens are ("any", "") for ``.*``, ("one", "") for ``.`` and ("lit", c) for a literal character."""
    start = value.startswith("^")
    end = value.endswith("$") and not value.endswith("\\$")
    body = value[1 if start else 0 : len(value) - (1 if end else 0)]
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            tokens.append(("lit", body[i + 1]))
            i += 2
        elif c == "." and body[i + 1 : i + 2] in ("*", "+"):
            tokens.append(("any", ""))
            i += 2
        elif c == ".":
            tokens.append(("one", ""))
            i += 1
        else:
            tokens.append(("lit", c))
            i += 1
    return start, tokens, end


def like_pattern(value: str) -> str:
    """The SQL LIKE pattern (escape character ``\\``) for a SciCat ``like`` value."""
    start, tokens, end = _like_tokens(value)
    out = ["%" if k == "any" else "_" if k == "one" else ("\\" + c if c in "%_\\" else c) for k, c in tokens]
    return ("" if start else "%") + "".join(out) + ("" if end else "%")


def glob_pattern(value: str) -> str:
    """The same as an SQLite GLOB pattern (case-sensitive, unlike SQLite's LIKE)."""
    start, tokens, end = _like_tokens(value)
    out = ["*" if k == "any" else "?" if k == "one" else (f"[{c}]" if c in "*?[" else c) for k, c in tokens]
    return ("" if start else "*") + "".join(out) + ("" if end else "*")


class json_number(FunctionElement):
    """The number at a path inside a JSON column, NULL when the value there is not a number (so comparing
    with a number never casts text: ``{"scientificMetadata.beamline": {"gt": 5}}`` on "BioMAX" is no match,
    not a database error). Arguments: column, SQLite JSON path, PostgreSQL path array text."""

    type = Float()
    inherit_cache = True
    name = "json_number"


@compiles(json_number)
def _json_number_default(element: Any, compiler: Any, **kw: Any) -> str:
    col, path, _pg = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CASE WHEN json_type({col}, {path}) IN ('integer', 'real') THEN json_extract({col}, {path}) END)"


@compiles(json_number, "postgresql")
def _json_number_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    col, _path, pg = (compiler.process(c, **kw) for c in element.clauses)
    return (
        f"(CASE WHEN jsonb_typeof({col} #> CAST({pg} AS TEXT[])) = 'number' "
        f"THEN CAST({col} #>> CAST({pg} AS TEXT[]) AS FLOAT) END)"
    )


def json_number_at(column: Any, path: tuple[str, ...]) -> Any:
    sqlite = "$" + "".join('."' + p.replace('"', '\\"') + '"' for p in path)
    pg = "{" + ",".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in path) + "}"
    return json_number(column, literal(sqlite), literal(pg))


class case_like(FunctionElement):
    """Case-sensitive pattern match: LIKE on PostgreSQL, GLOB on SQLite (whose LIKE ignores case)."""

    type = Boolean()
    inherit_cache = True
    name = "case_like"


@compiles(case_like)
def _case_like_default(element: Any, compiler: Any, **kw: Any) -> str:
    expr, like, _glob = list(element.clauses)
    return f"({compiler.process(expr, **kw)} LIKE {compiler.process(like, **kw)} ESCAPE '\\')"


@compiles(case_like, "sqlite")
def _case_like_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    expr, _like, glob = list(element.clauses)
    return f"({compiler.process(expr, **kw)} GLOB {compiler.process(glob, **kw)})"


class LikePattern:
    """A SciCat ``like`` pattern matched without backtracking: the pattern is split at ``.*`` into
    segments (literal characters and ``.``), each found leftmost after the previous one, so a match costs
    at most O(len(value) x len(pattern)) whatever the pattern."""

    def __init__(self, value: str, *, ignore_case: bool) -> None:
        if len(value) > MAX_PATTERN:
            raise InvalidInput(f"like: patterns are at most {MAX_PATTERN} characters", field="filter")
        start, tokens, end = _like_tokens(value.lower() if ignore_case else value)
        self.ignore_case = ignore_case
        self.start, self.end = start, end
        self.segments: list[list[str | None]] = [[]]
        for kind, c in tokens:
            if kind == "any":
                self.segments.append([])
            else:
                self.segments[-1].append(None if kind == "one" else c)

    @staticmethod
    def _at(seg: list[str | None], text: str, i: int) -> bool:
        if i < 0 or i + len(seg) > len(text):
            return False
        return all(c is None or text[i + k] == c for k, c in enumerate(seg))

    @classmethod
    def _find(cls, seg: list[str | None], text: str, i: int) -> int:
        for j in range(i, len(text) - len(seg) + 1):
            if cls._at(seg, text, j):
                return j
        return -1

    def search(self, text: str) -> bool:
        if self.ignore_case:
            text = text.lower()
        segs = self.segments
        if len(segs) == 1:
            seg = segs[0]
            if self.start and self.end:
                return len(text) == len(seg) and self._at(seg, text, 0)
            if self.start:
                return self._at(seg, text, 0)
            if self.end:
                return self._at(seg, text, len(text) - len(seg))
            return self._find(seg, text, 0) >= 0
        first, middle, last = segs[0], segs[1:-1], segs[-1]
        if self.start:
            if not self._at(first, text, 0):
                return False
            pos = len(first)
        else:
            j = self._find(first, text, 0)
            if j < 0:
                return False
            pos = j + len(first)
        for seg in middle:
            j = self._find(seg, text, pos)
            if j < 0:
                return False
            pos = j + len(seg)
        if self.end:
            return len(text) - len(last) >= pos and self._at(last, text, len(text) - len(last))
        return self._find(last, text, pos) >= 0


def parse_datetime(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{name}: not a date and time (use ISO 8601)", field=name) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


# --- SQL for datasets ----------------------------------------------------------------------------------

DATASET_SCALARS = {
    "pid": "pid", "type": "type", "datasetName": "dataset_name", "description": "description",
    "owner": "owner", "ownerEmail": "owner_email", "orcidOfOwner": "orcid_of_owner",
    "contactEmail": "contact_email", "ownerGroup": "owner_group", "instrumentGroup": "instrument_group",
    "sourceFolder": "source_folder", "sourceFolderHost": "source_folder_host",
    "creationLocation": "creation_location", "creationTime": "creation_time", "startTime": "start_time",
    "endTime": "end_time", "dataFormat": "data_format", "size": "size", "packedSize": "packed_size",
    "numberOfFiles": "number_of_files", "numberOfFilesArchived": "number_of_files_archived",
    "license": "license", "classification": "classification", "comment": "comment",
    "dataQualityMetrics": "data_quality_metrics", "runNumber": "run_number",
    "validationStatus": "validation_status", "isPublished": "is_published", "version": "version",
    "createdBy": "created_by", "createdAt": "created_at", "updatedBy": "updated_by",
    "updatedAt": "updated_at", "embargoUntil": "embargo_until", "jobLogData": "job_log_data",
    "scientificMetadataSchema": "scientific_metadata_schema",
}  # fmt: skip
DATASET_TERMS = {
    "proposalIds": "proposal", "proposalId": "proposal", "sampleIds": "sample", "sampleId": "sample",
    "instrumentIds": "instrument", "instrumentId": "instrument", "techniques": "technique",
    "techniques.pid": "technique", "techniques.name": "techname", "keywords": "keyword",
    "accessGroups": "group", "principalInvestigators": "pi", "principalInvestigator": "pi",
    "investigator": "pi", "inputDatasets": "input", "usedSoftware": "software", "sharedWith": "shared",
}  # fmt: skip
DATETIME_FIELDS = {"creationTime", "startTime", "endTime", "createdAt", "updatedAt", "embargoUntil"}
TERM_MAX = 255


def _cmp(expr: Any, op: str, val: Any, name: str) -> ColumnElement[bool]:
    if op in ("eq",):
        return expr.is_(None) if val is None else expr == val
    if op == "neq":
        return expr.is_not(None) if val is None else or_(expr != val, expr.is_(None))
    if op in ("gt", "gte", "lt", "lte"):
        return {"gt": expr > val, "gte": expr >= val, "lt": expr < val, "lte": expr <= val}[op]
    if op == "between":
        if not isinstance(val, list) or len(val) != 2:
            raise InvalidInput(f"{name}.between: give two values [low, high]", field=name)
        return expr.between(val[0], val[1])
    if op in ("inq", "nin"):
        if not isinstance(val, list):
            raise InvalidInput(f"{name}.{op}: give a list of values", field=name)
        cond = expr.in_(val)
        return cond if op == "inq" else or_(not_(cond), expr.is_(None))
    if op in ("like", "nlike"):
        cond = case_like(expr, like_pattern(str(val)), glob_pattern(str(val)))
        return cond if op == "like" else or_(not_(cond), expr.is_(None))
    if op in ("ilike", "nilike"):
        cond = func.lower(expr).like(like_pattern(str(val)).lower(), escape="\\")
        return cond if op == "ilike" else or_(not_(cond), expr.is_(None))
    raise InvalidInput(
        f"{name}: unknown operator {op!r}; use one of {', '.join(sorted(OPERATORS))}", field=name
    )


def _scalar(val: Any) -> bool:
    return val is None or isinstance(val, str | int | float | bool | datetime)


def _operand(op: str, val: Any, name: str) -> None:
    """The shape each operator takes: a value; a list for inq/nin; [low, high] for between; text for like."""
    if op in ("inq", "nin"):
        if not isinstance(val, list) or not all(_scalar(v) for v in val):
            raise InvalidInput(f'{name}.{op}: give a list of values, e.g. ["a", "b"]', field=name)
    elif op == "between":
        if not isinstance(val, list) or len(val) != 2 or not all(_scalar(v) for v in val):
            raise InvalidInput(f"{name}.between: give two values [low, high]", field=name)
    elif op in ("like", "nlike", "ilike", "nilike"):
        if not isinstance(val, str | int | float) or isinstance(val, bool):
            raise InvalidInput(f'{name}.{op}: give a text pattern, e.g. "^abc"', field=name)
        if len(str(val)) > MAX_PATTERN:
            raise InvalidInput(f"{name}.{op}: patterns are at most {MAX_PATTERN} characters", field=name)
    elif not _scalar(val):
        raise InvalidInput(f"{name}.{op}: give a single value (text, number, true/false or null)", field=name)


def _ops(value: Any, name: str) -> list[tuple[str, Any]]:
    """A condition's (operator, operand) pairs: ``{"gt": 1, "lt": 5}``, or a plain value (equality)."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in OPERATORS and k != "options"]
        if unknown or not value:
            raise InvalidInput(
                f"{name}: unknown operator {(unknown or ['{}'])[0]!r}; use one of {', '.join(sorted(OPERATORS))}",
                field=name,
            )
        pairs = [(k, v) for k, v in value.items() if k != "options"]
    elif isinstance(value, list):
        pairs = [("inq", value)]
    else:
        pairs = [("eq", value)]
    for op, val in pairs:
        _operand(op, val, name)
    return pairs


def check_where(where: Any, name: str = "where") -> None:
    """The shape of a ``where``: objects of field conditions, ``and``/``or`` lists of such objects, known
    operators with operands of the right shape (field names and types are checked by each collection)."""
    if not isinstance(where, dict):
        raise InvalidInput(f"{name}: must be a JSON object", field=name)
    for key, value in where.items():
        sub = f"{name}.{key}"
        if key in ("and", "or"):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise InvalidInput(
                    f'{sub}: give a list of conditions, e.g. [{{"a": 1}}, {{"b": 2}}]', field=sub
                )
            for v in value:
                check_where(v, sub)
        else:
            _ops(value, sub)


def _number(val: Any, name: str) -> int | float:
    if isinstance(val, bool):
        raise InvalidInput(f"{name}: must be a number, not {json.dumps(val)}", field=name)
    if isinstance(val, int):
        return val if abs(val) <= MAX_INT else float(val)
    if isinstance(val, float):
        return val
    try:
        n = float(str(val))
    except ValueError:
        raise InvalidInput(f"{name}: must be a number, got {str(val)[:40]!r}", field=name) from None
    if not math.isfinite(n):
        raise InvalidInput(f"{name}: numbers must be finite", field=name)
    return int(n) if n.is_integer() and abs(n) <= MAX_INT else n


def _python_type(col: Any) -> type:
    """The Python type of a column's values (through type decorators such as the UTC datetime)."""
    for typ in (col.type, getattr(col.type, "impl_instance", None), getattr(col.type, "impl", None)):
        try:
            return typ.python_type  # type: ignore[union-attr]
        except (AttributeError, NotImplementedError):
            continue
    return str


def _typed(py: type, op: str, val: Any, name: str) -> Any:
    """An operand as the column's Python type (so the database never compares text with numbers)."""
    if isinstance(val, list):
        return [_typed(py, op, v, name) for v in val]
    if val is None:
        return None
    if op in ("like", "nlike", "ilike", "nilike"):
        if py is not str:
            raise InvalidInput(
                f"{name}.{op}: patterns work on text fields only; use gt/lt/between", field=name
            )
        return str(val)
    if py is datetime:
        return parse_datetime(val, name)
    if py is bool:
        if isinstance(val, bool):
            return val
        if str(val).lower() in ("true", "false"):
            return str(val).lower() == "true"
        raise InvalidInput(f"{name}: must be true or false, got {str(val)[:40]!r}", field=name)
    if py in (int, float):
        return _number(val, name)
    if isinstance(val, bool):
        return "true" if val else "false"
    return str(val)


def dataset_condition(where: dict[str, Any], *, prefix: str = "where") -> ColumnElement[bool]:
    from halric.catalog.models import Dataset, DatasetTerm

    conds: list[ColumnElement[bool]] = []
    for key, value in where.items():
        name = f"{prefix}.{key}"
        if key in ("and", "or"):
            if not isinstance(value, list):
                raise InvalidInput(f"{name}: give a list of conditions", field=name)
            parts = [dataset_condition(v, prefix=name) for v in value if isinstance(v, dict)]
            conds.append((and_ if key == "and" else or_)(*parts) if parts else true())
            continue
        if key in DATASET_SCALARS:
            col = getattr(Dataset, DATASET_SCALARS[key])
            py = _python_type(col)
            for op, val in _ops(value, name):
                conds.append(_cmp(col, op, _typed(py, op, val, name), name))
            continue
        if key in DATASET_TERMS:
            kind = DATASET_TERMS[key]

            def has(cond: ColumnElement[bool], kind: str = kind) -> ColumnElement[bool]:
                return exists(
                    select(DatasetTerm.id).where(
                        DatasetTerm.dataset_pid == Dataset.pid, DatasetTerm.kind == kind, cond
                    )
                )

            def having(cond: ColumnElement[bool], kind: str = kind) -> ColumnElement[bool]:
                # "pid IN (datasets with the term)": the same as EXISTS, but SQLite's planner can start
                # from the term index instead of visiting every dataset (PostgreSQL plans both alike)
                return Dataset.pid.in_(select(DatasetTerm.dataset_pid).where(DatasetTerm.kind == kind, cond))

            for op, val in _ops(value, name):
                if op == "eq" and isinstance(val, list):
                    op = "inq"
                if op in ("gt", "gte", "lt", "lte", "between") or val not in ("", None):
                    val = _typed(str, op, val, name)
                if op == "eq" and val in ("", None):
                    conds.append(not_(has(true())))
                elif op in ("eq", "inq", "like", "ilike", "gt", "gte", "lt", "lte", "between"):
                    vals = [str(v)[:TERM_MAX] for v in val] if op == "inq" else val
                    cond = having(_cmp(DatasetTerm.value, op, vals, name))
                    if op in ("eq", "inq"):
                        exact = [str(v) for v in (val if op == "inq" else [val])]
                        if all(len(v) <= TERM_MAX for v in exact):
                            cond = fulltext.term_filter(kind, exact, cond)
                    conds.append(cond)
                elif op in ("neq", "nin", "nlike", "nilike"):
                    positive = {"neq": "eq", "nin": "inq", "nlike": "like", "nilike": "ilike"}[op]
                    conds.append(not_(has(_cmp(DatasetTerm.value, positive, val, name))))
            continue
        if key.startswith("scientificMetadata."):
            path = tuple(key.split(".")[1:])
            element = Dataset.scientific_metadata[path]
            for op, val in _ops(value, name):
                probe = val[0] if isinstance(val, list) and val else val
                numeric = isinstance(probe, int | float) and not isinstance(probe, bool)
                numeric = numeric and op not in ("like", "nlike", "ilike", "nilike")
                expr = json_number_at(Dataset.scientific_metadata, path) if numeric else element.as_string()
                conds.append(_cmp(expr, op, _typed(float if numeric else str, op, val, name), name))
            continue
        raise InvalidInput(f"{name}: datasets cannot be filtered by {key!r}", field=name)
    return and_(*conds) if conds else true()


def dataset_order(order: list[tuple[str, bool]]) -> list[Any]:
    from halric.catalog.models import Dataset

    out = []
    for name, desc in order:
        if name not in DATASET_SCALARS:
            raise InvalidInput(f"order: datasets cannot be sorted by {name!r}", field="order")
        col = getattr(Dataset, DATASET_SCALARS[name])
        out.append(col.desc() if desc else col.asc())
    return out


# --- fullquery ------------------------------------------------------------------------------------------

FULLQUERY_SKIP = {"mode", "userGroups", "isPublished_", "text", "scientific", "creationTime"}


def fullquery_where(fields: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """SciCat's ``fullquery`` ``fields`` as a ``where`` plus the full-text words.

    A list value matches any of its values; ``creationTime`` takes ``{"begin", "end"}``; ``scientific``
    takes ``[{"lhs", "relation", "rhs"}]`` with relations EQUAL_TO_STRING, EQUAL_TO_NUMERIC,
    GREATER_THAN, LESS_THAN.
    """
    if not isinstance(fields, dict):
        raise InvalidInput("fields: must be a JSON object", field="fields")
    where: dict[str, Any] = {}
    clauses: list[dict[str, Any]] = []
    for key, value in fields.items():
        if key in FULLQUERY_SKIP:
            continue
        if isinstance(value, list):
            clauses.append({key: {"inq": value}})
        else:
            clauses.append({key: value})
    ct = fields.get("creationTime")
    if isinstance(ct, dict):
        if ct.get("begin"):
            clauses.append({"creationTime": {"gte": ct["begin"]}})
        if ct.get("end"):
            clauses.append({"creationTime": {"lte": ct["end"]}})
    relations = {"EQUAL_TO_STRING": "eq", "EQUAL_TO_NUMERIC": "eq", "GREATER_THAN": "gt", "LESS_THAN": "lt"}
    scientific = fields.get("scientific") or []
    if not isinstance(scientific, list):
        raise InvalidInput(
            'fields.scientific: give a list of conditions, e.g. [{"lhs": "energy", "relation": '
            '"GREATER_THAN", "rhs": 5}]',
            field="fields",
        )
    if ct is not None and not isinstance(ct, dict):
        raise InvalidInput(
            'fields.creationTime: give {"begin": "2024-01-01", "end": "2024-12-31"}', field="fields"
        )
    for cond in scientific:
        if not isinstance(cond, dict) or "lhs" not in cond:
            raise InvalidInput("fields.scientific: give [{lhs, relation, rhs}]", field="fields")
        op = relations.get(str(cond.get("relation", "EQUAL_TO_STRING")))
        if op is None:
            raise InvalidInput(
                f"fields.scientific.relation: use one of {', '.join(relations)}", field="fields"
            )
        rhs = cond.get("rhs")
        lhs = str(cond["lhs"])
        target = f"scientificMetadata.{lhs}.value" if cond.get("unit") is not None or op != "eq" else None
        key = target or f"scientificMetadata.{lhs}"
        if op == "eq" and not isinstance(rhs, int | float):
            clauses.append({"or": [{key: rhs}, {f"scientificMetadata.{lhs}.value": rhs}]})
        else:
            clauses.append({f"scientificMetadata.{lhs}.value": {op: rhs} if op != "eq" else rhs})
    if clauses:
        where = {"and": clauses}
    text = fields.get("text")
    if text is not None and not isinstance(text, str | int | float):
        raise InvalidInput("fields.text: give the words to search for as text", field="fields")
    check_where(where, "fields")
    return where, str(text) if text else None


# --- Python evaluation for small collections --------------------------------------------------------------


def _values(doc: Any, path: list[str]) -> list[Any]:
    if not path:
        return doc if isinstance(doc, list) else [doc]
    if isinstance(doc, list):
        return [v for item in doc for v in _values(item, path)]
    if isinstance(doc, dict):
        return _values(doc.get(path[0]), path[1:]) if path[0] in doc else [None]
    return [None]


def _py_cmp(values: list[Any], op: str, val: Any, name: str) -> bool:
    def norm(x: Any) -> Any:
        if isinstance(x, str) and len(x) >= 10 and x[4:5] == "-" and x[7:8] == "-":
            try:
                return parse_datetime(x, name)
            except InvalidInput:
                return x
        return x

    present = [v for v in values if v is not None]
    if op == "eq":
        if val in ("", None):
            return not present or any(v == val for v in values)
        return any(v == val for v in values)
    if op == "neq":
        return all(v != val for v in values)
    if op in ("inq", "nin"):
        if not isinstance(val, list):
            raise InvalidInput(f"{name}.{op}: give a list of values", field=name)
        hit = any(v in val for v in present)
        return hit if op == "inq" else not hit
    if op in ("like", "ilike", "nlike", "nilike"):
        rx = LikePattern(str(val), ignore_case=op in ("ilike", "nilike"))
        hit = any(isinstance(v, str) and rx.search(v) for v in present)
        return hit if op in ("like", "ilike") else not hit
    if op in ("gt", "gte", "lt", "lte", "between"):
        out = False
        for v in present:
            a = norm(v)
            try:
                if op == "between":
                    out |= norm(val[0]) <= a <= norm(val[1])
                else:
                    b = norm(val)
                    out |= {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]
            except TypeError:
                continue
        return out
    raise InvalidInput(f"{name}: unknown operator {op!r}", field=name)


def matches(doc: dict[str, Any], where: dict[str, Any], prefix: str = "where") -> bool:
    for key, value in where.items():
        name = f"{prefix}.{key}"
        if key in ("and", "or"):
            if not isinstance(value, list):
                raise InvalidInput(f"{name}: give a list of conditions", field=name)
            results = [matches(doc, v, name) for v in value if isinstance(v, dict)]
            if (key == "and" and not all(results)) or (key == "or" and not any(results)):
                return False
            continue
        values = _values(doc, key.split("."))
        for op, val in _ops(value, name):
            if op == "eq" and isinstance(val, list):
                op = "inq"
            if not _py_cmp(values, op, val, name):
                return False
    return True


def apply(docs: list[dict[str, Any]], flt: Filter) -> list[dict[str, Any]]:
    """Where, order, skip, limit and fields over dictionaries."""
    out = [d for d in docs if matches(d, flt.where)]
    for name, desc in reversed(flt.order):
        out.sort(key=lambda d, n=name: (d.get(n) is None, str(d.get(n))), reverse=desc)
    out = out[flt.skip :]
    if flt.limit is not None:
        out = out[: flt.limit]
    return [project(d, flt.fields) for d in out]


def project(doc: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k in fields} if fields else doc
