"""PaNOSC queries: the LoopBack filter as the PaNOSC search API sends it (``where``, ``include`` with
``scope``, ``limit``, ``skip``), checked where it enters, and a dataset ``where`` translated to the catalog's
SciCat ``where`` (compiled to SQL by ``halric.catalog.filters.dataset_condition``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from halric.catalog.filters import load_json, matches, whole_number
from halric.core.errors import InvalidInput
from halric.federation import units

MAX_LIMIT = 1000
DATASET_RELATIONS = ("documents", "document", "files", "instrument", "parameters", "samples", "techniques")
DOCUMENT_RELATIONS = ("datasets", "members", "parameters")
INSTRUMENT_RELATIONS = ("datasets",)
NESTED = {
    "dataset": {"documents": ("members",), "document": ("members",)},
    "document": {"datasets": tuple(r for r in DATASET_RELATIONS if r not in ("documents", "document"))},
    "instrument": {"datasets": tuple(r for r in DATASET_RELATIONS if r != "instrument")},
}
SQL_FIELDS = {"pid": "pid", "title": "datasetName", "size": "size", "creationDate": "creationTime"}
TEXT_FIELDS = {
    "dataset": ("title",), "document": ("title", "summary"), "instrument": ("name", "facility"),
    "files": ("name",), "samples": ("name", "description"), "techniques": ("name",), "members": ("role",),
}  # fmt: skip


def load(raw: str | None, name: str) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    try:
        data = load_json(raw, name)
    except InvalidInput as e:
        if "not valid JSON" not in e.detail:
            raise
        raise InvalidInput(
            f'{name}: not valid JSON; send e.g. {{"where": {{"title": "x"}}}}', field=name
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{name}: must be a JSON object", field=name)
    return data


def _number(value: Any, name: str) -> int:
    if value in (None, ""):
        return 0
    return whole_number(value, name, default=0) or 0


def page_of(flt: dict[str, Any]) -> tuple[int, int]:
    """(limit, skip); a limit of 0 means 'all' (up to 1000)."""
    limit = _number(flt.get("limit"), "filter.limit") or MAX_LIMIT
    return min(limit, MAX_LIMIT), _number(flt.get("skip", flt.get("offset")), "filter.skip")


def needs(inc: Include) -> bool:
    """The include filters its parents: a ``scope.where`` on it or on an include below it."""
    return inc.where is not None or any(needs(i) for i in inc.include)


@dataclass
class Include:
    relation: str
    where: dict[str, Any] | None = None
    include: list[Include] = field(default_factory=list)


def includes(
    value: Any, model: str, name: str = "filter.include", allowed: tuple[str, ...] | None = None
) -> list[Include]:
    allowed = (
        allowed
        or {"dataset": DATASET_RELATIONS, "document": DOCUMENT_RELATIONS, "instrument": INSTRUMENT_RELATIONS}[
            model
        ]
    )
    items = value if isinstance(value, list) else [value] if value else []
    out = []
    for item in items:
        if isinstance(item, str):
            rel, scope = item, {}
        elif isinstance(item, dict) and isinstance(item.get("relation"), str):
            rel, scope = item["relation"], item.get("scope") or {}
        else:
            raise InvalidInput(
                f'{name}: give relations as "name" or {{"relation": "name", "scope": {{...}}}}', field=name
            )
        if rel not in allowed:
            raise InvalidInput(f"{name}: unknown relation {rel!r}; use {', '.join(allowed)}", field=name)
        if not isinstance(scope, dict):
            raise InvalidInput(f"{name}.scope: must be a JSON object", field=name)
        where = scope.get("where")
        if where is not None and not isinstance(where, dict):
            raise InvalidInput(f"{name}.scope.where: must be a JSON object", field=name)
        if rel == "parameters" and where:
            check_units(where)
        nested = NESTED.get(model, {}).get(rel, ())
        sub = (
            includes(scope.get("include"), model, f"{name}.scope.include", nested)
            if scope.get("include")
            else []
        )
        out.append(Include(rel, where, sub))
    return out


def check_units(where: Any) -> None:
    """Every unit named in a parameter scope must be one pint knows (asked before any data is read)."""
    if isinstance(where, list):
        for w in where:
            check_units(w)
    elif isinstance(where, dict):
        for k, v in where.items():
            if k == "unit" and isinstance(v, str) and v:
                units.require(v, "filter.include.scope.where.unit")
            elif k in ("and", "or"):
                check_units(v)


def text_as_ilike(where: Any, fields: tuple[str, ...]) -> Any:
    """The ``text`` operator as ``ilike`` on the model's text fields."""
    if isinstance(where, list):
        return [text_as_ilike(w, fields) for w in where]
    if not isinstance(where, dict):
        return where
    out: dict[str, Any] = {}
    extra = []
    for k, v in where.items():
        if k == "text":
            pattern = re.escape(str(v))
            extra.append({"or": [{f: {"ilike": pattern}} for f in fields]})
        elif k in ("and", "or"):
            out[k] = text_as_ilike(v, fields)
        else:
            out[k] = v
    if extra:
        return {"and": [*extra, out]} if out else extra[0]
    return out


def py_match(doc: dict[str, Any], where: dict[str, Any] | None, model: str) -> bool:
    """Whether one PaNOSC-shaped record meets a ``where`` (the catalog's Python matcher): for related records
    of one page of datasets and for the small document and instrument lists, never for a dataset list."""
    if not where:
        return True
    return matches(doc, text_as_ilike(where, TEXT_FIELDS.get(model, ("name",))))


def sql_where(where: dict[str, Any] | None, name: str = "filter.where") -> dict[str, Any]:
    """A PaNOSC dataset ``where`` as the catalog's SciCat ``where``."""
    if not where:
        return {}
    if not isinstance(where, dict):
        raise InvalidInput(f"{name}: must be a JSON object", field=name)
    clauses: list[dict[str, Any]] = []
    for key, value in where.items():
        if key in ("and", "or"):
            if not isinstance(value, list):
                raise InvalidInput(f"{name}.{key}: give a list of conditions", field=name)
            clauses.append({key: [sql_where(v, f"{name}.{key}") for v in value if isinstance(v, dict)]})
        elif key == "text":
            clauses.append({"datasetName": {"ilike": re.escape(str(value))}})
        elif key == "isPublic":
            wanted = value.get("eq", value.get("inq")) if isinstance(value, dict) else value
            ok = True in wanted if isinstance(wanted, list) else wanted is True
            if not ok:
                clauses.append({"pid": {"inq": []}})  # everything served here is public
        elif key in SQL_FIELDS:
            clauses.append({SQL_FIELDS[key]: value})
        else:
            raise InvalidInput(
                f"{name}: datasets cannot be filtered by {key!r}; use pid, title, isPublic, size, creationDate or "
                "text (related records through include scopes)",
                field=name,
            )
    return {"and": clauses} if clauses else {}
