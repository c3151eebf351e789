"""SciCat query languages: LoopBack-style ``filter``/``where`` and the ``fullquery`` fields.

Datasets are filtered in SQL (the table can hold millions of rows); the small collections (samples,
proposals, instruments, published data) are filtered in Python over their SciCat-shaped dictionaries
with the same operators: ``and, or, inq, nin, like, nlike, ilike, nilike, neq, gt, gte, lt, lte, between``.
``like`` follows SciCat's MongoDB backend: a regular-expression-like pattern (``^``, ``$``, ``.*`` and
``.`` are understood); a plain string matches anywhere in the value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, and_, exists, func, not_, or_, select, true
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


def load_json(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise InvalidInput(f"{name}: not valid JSON", field=name) from None


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


def whole_number(value: Any, name: str, *, default: int | None) -> int | None:
    if value is None:
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name}: must be a whole number", field=name) from None
    if n < 0:
        raise InvalidInput(f"{name}: must not be negative", field=name)
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
    where = data.get("where") or {}
    if not isinstance(where, dict):
        raise InvalidInput(f"{name}.where: must be a JSON object", field=name)
    limits = data.get("limits") or {}
    fields = data.get("fields")
    if isinstance(fields, dict):
        fields = [k for k, v in fields.items() if v]
    elif fields is not None and not isinstance(fields, list):
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


def like_regex(value: str, *, ignore_case: bool) -> re.Pattern[str]:
    try:
        return re.compile(value, re.IGNORECASE if ignore_case else 0)
    except re.error:
        return re.compile(re.escape(value), re.IGNORECASE if ignore_case else 0)


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


def _ops(value: Any, name: str) -> list[tuple[str, Any]]:
    """A condition's (operator, operand) pairs: ``{"gt": 1, "lt": 5}``, or a plain value (equality)."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in OPERATORS and k != "options"]
        if unknown or not value:
            raise InvalidInput(
                f"{name}: unknown operator {(unknown or ['{}'])[0]!r}; use one of {', '.join(sorted(OPERATORS))}",
                field=name,
            )
        return [(k, v) for k, v in value.items() if k != "options"]
    if isinstance(value, list):
        return [("inq", value)]
    return [("eq", value)]


def _coerce(name: str, val: Any) -> Any:
    if name in DATETIME_FIELDS and val is not None:
        if isinstance(val, list):
            return [parse_datetime(v, name) for v in val]
        return parse_datetime(val, name)
    return val


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
            for op, val in _ops(value, name):
                conds.append(_cmp(col, op, _coerce(key, val), name))
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
                expr = element.as_float() if numeric else element.as_string()
                conds.append(_cmp(expr, op, val, name))
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
    for cond in fields.get("scientific") or []:
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
        rx = like_regex(str(val), ignore_case=op in ("ilike", "nilike"))
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
