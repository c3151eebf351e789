"""The PaNOSC search API over the hub's catalog (served under ``/panosc-api``): public data only.

Shapes follow the PaNOSC search API documentation (panosc-eu/search-api ``doc/``): ``Dataset`` {pid, title,
isPublic, creationDate, size, score} with relations documents, files, instrument, parameters, samples,
techniques; ``Document`` {pid, isPublic, type, title, summary, doi, startDate, endDate, releaseDate,
license, keywords, score} with datasets, members, parameters; ``Instrument`` {pid, name, facility, score}
with datasets. Queries are LoopBack filters (``where``, ``include`` with ``scope``, ``limit``, ``skip``); an
``include`` with a ``scope.where`` keeps only the records that have a matching related record (as the
reference implementation does); parameter scopes compare values in SI units and answer in the unit asked
for. A free-text ``query`` ranks results by a relevance ``score`` (0–1) and leaves out those scoring 0.

Every read goes through the catalog's services as the anonymous caller, so nothing private is reachable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from halric.catalog import collections as coll
from halric.catalog import published
from halric.catalog import service as catalog
from halric.catalog.filters import Filter, LikePattern, load_json, matches, whole_number
from halric.core.actor import ANONYMOUS
from halric.core.errors import InvalidInput, NotFound
from halric.federation import scoring, units

PUBLIC = ANONYMOUS  # the only caller this API ever reads as
CANDIDATES = 5000  # rows ranked or filtered in Python at most, per query
MAX_LIMIT = 1000
PANET = re.compile(r"^PaNET\d{5}$")
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


# --- query parsing ---------------------------------------------------------------------------------------


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
            _check_units(where)
        nested = NESTED.get(model, {}).get(rel, ())
        sub = (
            includes(scope.get("include"), model, f"{name}.scope.include", nested)
            if scope.get("include")
            else []
        )
        out.append(Include(rel, where, sub))
    return out


def _check_units(where: Any) -> None:
    """Every unit named in a parameter scope must be one pint knows (asked before any data is read)."""
    if isinstance(where, list):
        for w in where:
            _check_units(w)
    elif isinstance(where, dict):
        for k, v in where.items():
            if k == "unit" and isinstance(v, str) and v:
                units.require(v, "filter.include.scope.where.unit")
            elif k in ("and", "or"):
                _check_units(v)


def _text(where: Any, fields: tuple[str, ...]) -> Any:
    """The ``text`` operator as ``ilike`` on the model's text fields."""
    if isinstance(where, list):
        return [_text(w, fields) for w in where]
    if not isinstance(where, dict):
        return where
    out: dict[str, Any] = {}
    extra = []
    for k, v in where.items():
        if k == "text":
            pattern = re.escape(str(v))
            extra.append({"or": [{f: {"ilike": pattern}} for f in fields]})
        elif k in ("and", "or"):
            out[k] = _text(v, fields)
        else:
            out[k] = v
    if extra:
        return {"and": [*extra, out]} if out else extra[0]
    return out


def py_match(doc: dict[str, Any], where: dict[str, Any] | None, model: str) -> bool:
    if not where:
        return True
    return matches(doc, _text(where, TEXT_FIELDS.get(model, ("name",))))


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


# --- parameters and units ---------------------------------------------------------------------------------


def parameters_of(meta: dict[str, Any] | None) -> list[dict[str, Any]]:
    """SciCat scientificMetadata as PaNOSC parameters: {name, value, unit} for scalar values."""
    out = []
    for key, v in (meta or {}).items():
        if isinstance(v, dict):
            value, unit = v.get("value", v.get("v")), v.get("unit", v.get("u")) or ""
        else:
            value, unit = v, ""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        out.append({"name": str(key), "value": value, "unit": str(unit)})
    return out


def _cmp(have: Any, op: str, want: Any) -> bool:
    try:
        if op == "eq":
            return have == want
        if op == "neq":
            return have != want
        if op in ("inq", "nin"):
            return (have in want) == (op == "inq") if isinstance(want, list) else False
        if op == "between":
            return isinstance(want, list) and len(want) == 2 and want[0] <= have <= want[1]
        if op in ("gt", "gte", "lt", "lte"):
            return {"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}[op]
        if op in ("like", "ilike"):
            return LikePattern(str(want), ignore_case=op == "ilike").search(str(have))
    except TypeError:
        return False
    raise InvalidInput(f"parameters: unknown operator {op!r}", field="filter.include")


def _cond_ops(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return list(value.items())
    return [("eq", value)]


def param_match(where: dict[str, Any], p: dict[str, Any], unit: str | None = None) -> tuple[bool, str | None]:
    """Whether parameter p meets the condition; also the unit the condition asks for (to answer in)."""
    if "and" in where or "or" in where:
        key = "and" if "and" in where else "or"
        parts = [w for w in where[key] if isinstance(w, dict)]
        asked = unit
        for w in parts:
            if key == "and" and "unit" in w and isinstance(w["unit"], str):
                asked = w["unit"]
        results = [param_match(w, p, asked) for w in parts]
        if key == "and":
            return all(r for r, _ in results), asked
        hits = [u for r, u in results if r]
        return bool(hits), (hits[0] if hits else asked)
    asked = where.get("unit") if isinstance(where.get("unit"), str) else unit
    for key, cond in where.items():
        if key == "unit":
            if not isinstance(cond, str):
                return False, asked
            units.require(cond, "filter.include.scope.where.unit")
            if not (p["unit"] == cond or units.compatible(p["unit"], cond)):
                return False, asked
        elif key == "name":
            if not all(_cmp(p["name"], op, v) for op, v in _cond_ops(cond)):
                return False, asked
        elif key == "value":
            have = p["value"]
            if asked and isinstance(have, int | float):
                if not units.compatible(p["unit"], asked):
                    return False, asked
                have = units.convert(have, p["unit"], asked)
            if not all(_cmp(have, op, v) for op, v in _cond_ops(cond)):
                return False, asked
        elif key == "text":
            if str(cond).lower() not in p["name"].lower():
                return False, asked
        else:
            raise InvalidInput(
                f"filter.include.scope.where: parameters have name, value and unit, not {key!r}",
                field="filter.include",
            )
    return True, asked


def matching_parameters(params: list[dict[str, Any]], where: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not where:
        return params
    out = []
    for p in params:
        ok, asked = param_match(where, p)
        if not ok:
            continue
        if (
            asked
            and isinstance(p["value"], int | float)
            and p["unit"] != asked
            and units.compatible(p["unit"], asked)
        ):
            p = {**p, "value": units.convert(p["value"], p["unit"], asked), "unit": asked}
        out.append(p)
    return out


def _parameter_names(where: dict[str, Any] | None) -> list[str]:
    """Names every matching parameter must have (for a cheap SQL prefilter)."""
    if not where:
        return []
    parts = where.get("and") if isinstance(where.get("and"), list) else [where]
    return [w["name"] for w in parts if isinstance(w, dict) and isinstance(w.get("name"), str)][:1]


def _scope_parts(where: dict[str, Any]) -> dict[str, Any] | None:
    """A parameter scope of the simple shape {name, value, unit} (flat or as an ``and`` list), or None."""
    parts = where.get("and") if set(where) == {"and"} and isinstance(where.get("and"), list) else [where]
    out: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, dict):
            return None
        for k, v in part.items():
            if k not in ("name", "value", "unit") or k in out:
                return None
            out[k] = v
    return out


def parameter_prefilter(where: dict[str, Any] | None) -> Any:
    """A SQL condition every dataset with a parameter matching the scope meets (None when the scope's
    shape is not the simple one): the named parameter's value, when it is a number in the unit asked for,
    meets the value condition. Rows in another unit (converted by pint) or of another shape pass to the
    exact check in Python; so the answers are the same, with far fewer rows read."""
    from sqlalchemy import and_, or_

    from halric.catalog.filters import _cmp, json_number_at
    from halric.catalog.models import Dataset

    parts = _scope_parts(where or {})
    if not parts or not isinstance(parts.get("name"), str) or "value" not in parts:
        return None
    unit = parts.get("unit")
    if unit is not None and not isinstance(unit, str):
        return None
    ops = _cond_ops(parts["value"])
    numeric_ops = ("eq", "gt", "gte", "lt", "lte", "between")

    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    if not ops or not all(
        op in numeric_ops
        and (all(number(x) for x in v) if op == "between" and isinstance(v, list) else number(v))
        for op, v in ops
    ):
        return None
    if any(op == "between" and (not isinstance(v, list) or len(v) != 2) for op, v in ops):
        return None
    name = parts["name"]
    value = json_number_at(Dataset.scientific_metadata, (name, "value"))
    meets = and_(*(_cmp(value, op, v, "filter.include") for op, v in ops))
    keep = [value.is_(None), meets]
    if unit:
        unit_text = Dataset.scientific_metadata[(name, "unit")].as_string()
        keep += [unit_text.is_(None), unit_text != unit]
    return or_(*keep)


# --- relations --------------------------------------------------------------------------------------------


class Context:
    """Per-request caches of the small collections (published data, proposals, instruments)."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self._pubs: list[dict[str, Any]] | None = None
        self._facility: dict[str, str] | None = None

    def publications(self) -> list[dict[str, Any]]:
        if self._pubs is None:
            self._pubs = published.find(self.s, PUBLIC, Filter())
        return self._pubs

    def facility_names(self) -> dict[str, str]:
        if self._facility is None:
            from halric.registry.service import list_infrastructures

            self._facility = {i.id: i.name for i in list_infrastructures(self.s)}
        return self._facility

    def instrument(self, raw: dict[str, Any]) -> dict[str, Any]:
        meta = raw.get("customMetadata") or {}
        infra = meta.get("infrastructure")
        facility = (
            meta.get("facility") or self.facility_names().get(infra or "", infra) or meta.get("organisation")
        )
        return {"pid": raw["pid"], "name": raw.get("name") or raw["pid"], "facility": facility or "HALRIC"}


def publication_doc(p: dict[str, Any]) -> dict[str, Any]:
    meta = p.get("metadata") or {}
    rights = meta.get("rightsList") or []
    license_ = next(
        (r.get("rightsIdentifier") or r.get("rights") for r in rights if isinstance(r, dict)), None
    )
    keywords = [
        str(x.get("subject")) for x in meta.get("subjects") or [] if isinstance(x, dict) and x.get("subject")
    ]
    return _compact({
        "pid": p["doi"], "isPublic": True, "type": "publication", "title": p.get("title") or p["doi"],
        "summary": p.get("abstract"), "doi": p["doi"],
        "releaseDate": p.get("registeredTime") or (f"{p['publicationYear']}-01-01T00:00:00.000Z" if p.get("publicationYear") else None),
        "license": license_, "keywords": keywords, "score": 0.0,
    })  # fmt: skip


def proposal_doc(p: dict[str, Any]) -> dict[str, Any]:
    return _compact({
        "pid": p["proposalId"], "isPublic": True, "type": "proposal", "title": p.get("title") or p["proposalId"],
        "summary": p.get("abstract"), "startDate": p.get("startTime"), "endDate": p.get("endTime"),
        "keywords": [], "score": 0.0,
    })  # fmt: skip


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _members(source: dict[str, Any]) -> list[dict[str, Any]]:
    out, seen = [], set()
    if source.get("type") == "proposal":
        names = [("principal investigator", f"{source.get('pi_firstname') or ''} {source.get('pi_lastname') or ''}"),
                 ("main proposer", f"{source.get('firstname') or ''} {source.get('lastname') or ''}")]  # fmt: skip
    else:
        names = [("creator", str(c)) for c in source.get("creator") or []]
        names += [("author", str(a)) for a in source.get("authors") or []]
    for role, name in names:
        name = " ".join(name.split())
        if name and name not in seen:
            seen.add(name)
            out.append({"role": role, "person": {"fullName": name}})
    return out


def dataset_core(d: dict[str, Any]) -> dict[str, Any]:
    return _compact({
        "pid": d["pid"], "title": d.get("datasetName") or d["pid"], "isPublic": True,
        "creationDate": d.get("creationTime"), "size": d.get("size"), "score": 0.0,
    })  # fmt: skip


def relation(ctx: Context, d: dict[str, Any], rel: str) -> Any:
    """One relation of a (public) catalog dataset, PaNOSC-shaped."""
    s = ctx.s
    if rel == "techniques":
        out = []
        for t in d.get("techniques") or []:
            item = {"pid": t.get("pid") or t.get("name"), "name": t.get("name") or t.get("pid")}
            tid = str(t.get("pid") or "").rsplit("/", 1)[-1]
            if PANET.match(tid):
                item["panetId"] = f"http://purl.org/pan-science/PaNET/{tid}"
            out.append(item)
        return out
    if rel == "parameters":
        return parameters_of(d.get("scientificMetadata"))
    if rel == "files":
        files = []
        for b in catalog.list_origdatablocks(s, PUBLIC, d["pid"]):
            for n, f in enumerate(b.get("dataFileList") or []):
                path = str(f.get("path") or "")
                folder, _, name = path.rpartition("/")
                files.append(
                    _compact(
                        {
                            "id": f"{b['id']}-{n}",
                            "name": name or path,
                            "path": folder or None,
                            "size": f.get("size"),
                        }
                    )
                )
        return files
    if rel == "samples":
        return [
            _compact(
                {
                    "pid": x["sampleId"],
                    "name": x.get("sampleName") or x["sampleId"],
                    "description": x.get("description"),
                }
            )
            for x in coll.visible_samples(s, PUBLIC, d.get("sampleIds") or [])
        ]
    if rel == "instrument":
        found = coll.instruments_by_id(s, (d.get("instrumentIds") or [])[:1])
        return ctx.instrument(found[0]) if found else {}
    if rel in ("documents", "document"):
        return [doc for doc, _ in dataset_documents(ctx, d)]
    raise InvalidInput(f"filter.include: unknown relation {rel!r}", field="filter.include")


def dataset_documents(ctx: Context, d: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(document, source record): published data listing the dataset, and its published proposals."""
    docs = [(publication_doc(p), p) for p in ctx.publications() if d["pid"] in (p.get("pidArray") or [])]
    for p in coll.visible_proposals(ctx.s, PUBLIC, d.get("proposalIds") or []):
        docs.append((proposal_doc(p), {**p, "type": "proposal"}))
    return docs


def _apply_scope(ctx: Context, d: dict[str, Any], inc: Include) -> Any:
    if inc.relation in ("documents", "document"):
        docs = []
        for doc, source in dataset_documents(ctx, d):
            if not py_match(doc, inc.where, "document"):
                continue
            full = _doc_relations(ctx, doc, inc.include, filter_parents=True, source=source)
            if full is not None:
                docs.append(full)
        return docs
    items = relation(ctx, d, inc.relation)
    single = inc.relation == "instrument"
    seq = ([items] if items else []) if single else items
    if inc.relation == "parameters":
        named = (_scope_parts(inc.where) or {}).get("name") if inc.where else None
        if isinstance(named, str):  # only the named parameter can meet the scope: test no other
            seq = [p for p in seq if p["name"] == named]
        seq = matching_parameters(seq, inc.where)
    elif inc.where:
        seq = [x for x in seq if py_match(x, inc.where, inc.relation)]
    if single:
        return seq[0] if seq else {}
    return seq


def _needs(inc: Include) -> bool:
    return inc.where is not None or any(_needs(i) for i in inc.include)


def _with_relations(
    ctx: Context, d: dict[str, Any], incs: list[Include], *, filter_parents: bool
) -> dict[str, Any] | None:
    out = dataset_core(d)
    for inc in incs:
        value = _apply_scope(ctx, d, inc)
        if filter_parents and _needs(inc) and not value:
            return None
        out[inc.relation] = value
    return out


# --- datasets -------------------------------------------------------------------------------------------


def _dataset_rows(
    s: Session, where: dict[str, Any], words: list[str], cap: int, extra: Any = None
) -> list[dict[str, Any]]:
    """Candidates: without words the newest ``cap``; with words, any word matches (the score ranks) and
    each word brings its newest ``cap`` matches, so a rare word is not crowded out by a common one.
    ``extra``: the parameter scopes' SQL prefilter."""
    if not words:
        return catalog.find_datasets(s, PUBLIC, Filter(where=where, limit=cap), max_limit=cap, extra=extra)
    return catalog.find_datasets_any_word(s, PUBLIC, where, words, cap, extra=extra)


def _idf(s: Session, where: dict[str, Any], words: list[str]) -> dict[str, float]:
    total, df = catalog.count_datasets_per_word(s, PUBLIC, where, words)
    return scoring.idf_weights(df, total)


def _score_record(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": d.get("datasetName") or "", "description": d.get("description") or "",
        "keywords": d.get("keywords") or [], "techniques": d.get("techniques") or [], "pid": d.get("pid"),
    }  # fmt: skip


def dataset_pipeline(
    s: Session,
    where: dict[str, Any] | None,
    incs: list[Include],
    query: str | None,
    *,
    limit: int,
    skip: int,
    extra_sql: dict[str, Any] | None = None,
    ctx: Context | None = None,
) -> list[dict[str, Any]]:
    ctx = ctx or Context(s)
    sql = sql_where(where)
    for inc in incs:
        if inc.relation == "parameters":
            for name in _parameter_names(inc.where):
                sql = (
                    {"and": [sql, {f"scientificMetadata.{name}": {"neq": None}}]}
                    if sql
                    else {f"scientificMetadata.{name}": {"neq": None}}
                )
    if extra_sql:
        sql = {"and": [sql, extra_sql]} if sql else extra_sql
    words = scoring.words(query)
    scoped = any(_needs(i) for i in incs)
    if not words and not scoped:
        rows = catalog.find_datasets(
            s, PUBLIC, Filter(where=sql, limit=limit, skip=skip), max_limit=MAX_LIMIT
        )
        return [_with_relations(ctx, d, incs, filter_parents=False) or dataset_core(d) for d in rows]
    prefilters = [parameter_prefilter(i.where) for i in incs if i.relation == "parameters" and i.where]
    prefilters = [p for p in prefilters if p is not None]
    if prefilters:
        from sqlalchemy import and_

        rows = _dataset_rows(s, sql, words, CANDIDATES, and_(*prefilters))
    else:
        rows = _dataset_rows(s, sql, words, CANDIDATES)
    picked: list[tuple[dict[str, Any], float]] = []
    scoped_incs = [i for i in incs if _needs(i)]
    for d in rows:
        if scoped_incs and _with_relations(ctx, d, scoped_incs, filter_parents=True) is None:
            continue
        picked.append((d, 0.0))
    if words:
        idf = _idf(s, sql, words)
        picked = [(d, scoring.relevance(words, _score_record(d), idf)) for d, _ in picked]
        picked = [x for x in picked if x[1] > 0]
    picked.sort(key=lambda x: (-x[1], _neg_time(x[0].get("creationTime")), x[0]["pid"]))
    out = []
    for d, score in picked[skip : skip + limit]:
        rec = _with_relations(ctx, d, incs, filter_parents=False) or dataset_core(d)
        rec["score"] = score
        out.append(rec)
    return out


def _neg_time(value: Any) -> float:
    from datetime import datetime

    try:
        return -datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except (TypeError, ValueError):
        return 0.0


def find_datasets(s: Session, flt: dict[str, Any], query: str | None = None) -> list[dict[str, Any]]:
    limit, skip = page_of(flt)
    incs = includes(flt.get("include"), "dataset")
    return dataset_pipeline(s, flt.get("where"), incs, query or flt.get("query"), limit=limit, skip=skip)


def count_datasets(s: Session, where: dict[str, Any] | None) -> dict[str, int]:
    return {"count": catalog.count_datasets(s, PUBLIC, sql_where(where))}


def get_dataset(s: Session, pid: str, flt: dict[str, Any]) -> dict[str, Any]:
    d = catalog.get_dataset(s, PUBLIC, pid)
    incs = includes(flt.get("include"), "dataset")
    return _with_relations(Context(s), d, incs, filter_parents=False) or dataset_core(d)


def dataset_files(s: Session, pid: str, flt: dict[str, Any]) -> list[dict[str, Any]]:
    d = catalog.get_dataset(s, PUBLIC, pid)
    files = [f for f in relation(Context(s), d, "files") if py_match(f, flt.get("where"), "files")]
    limit, skip = page_of(flt)
    return files[skip : skip + limit]


def count_files(s: Session, pid: str, where: dict[str, Any] | None) -> dict[str, int]:
    d = catalog.get_dataset(s, PUBLIC, pid)
    return {"count": sum(1 for f in relation(Context(s), d, "files") if py_match(f, where, "files"))}


# --- documents ------------------------------------------------------------------------------------------


def _all_documents(ctx: Context) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(document, source record) for published data and published proposals."""
    out = [(publication_doc(p), p) for p in ctx.publications()]
    props = coll.find_proposals(ctx.s, PUBLIC, Filter())
    out += [(proposal_doc(p), {**p, "type": "proposal"}) for p in props[:CANDIDATES]]
    return out


def _doc_datasets(
    ctx: Context, doc: dict[str, Any], source: dict[str, Any], inc: Include
) -> list[dict[str, Any]]:
    if doc["type"] == "publication":
        pids = [str(p) for p in source.get("pidArray") or []]
        extra: dict[str, Any] = {"pid": {"inq": pids}}
    else:
        extra = {"proposalIds": doc["pid"]}
    return dataset_pipeline(
        ctx.s, inc.where, inc.include, None, limit=MAX_LIMIT, skip=0, extra_sql=extra, ctx=ctx
    )


def _doc_relations(
    ctx: Context,
    doc: dict[str, Any],
    incs: list[Include],
    *,
    filter_parents: bool,
    source: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    out = dict(doc)
    for inc in incs:
        if inc.relation == "datasets":
            if source is None:
                continue
            value: Any = _doc_datasets(ctx, doc, source, inc)
        elif inc.relation == "members":
            members = _members(source or {})
            value = [m for m in members if py_match(m, inc.where, "members")]
        else:  # parameters: none are kept for documents
            value = []
        if filter_parents and _needs(inc) and not value:
            return None
        out[inc.relation] = value
    return out


def find_documents(s: Session, flt: dict[str, Any], query: str | None = None) -> list[dict[str, Any]]:
    ctx = Context(s)
    limit, skip = page_of(flt)
    incs = includes(flt.get("include"), "document")
    words = scoring.words(query or flt.get("query"))
    picked = []
    for doc, source in _all_documents(ctx):
        if not py_match(doc, flt.get("where"), "document"):
            continue
        if words:
            doc["score"] = scoring.relevance(
                words,
                {
                    "title": doc.get("title"),
                    "description": doc.get("summary"),
                    "keywords": doc.get("keywords"),
                },
            )
            if doc["score"] <= 0:
                continue
        picked.append((doc, source))
    if words:
        picked.sort(key=lambda x: -x[0]["score"])
    out = []
    needs = any(_needs(i) for i in incs)
    for doc, source in picked:
        if not needs and len(out) >= skip + limit:
            break
        full = _doc_relations(ctx, doc, incs, filter_parents=True, source=source)
        if full is not None:
            out.append(full)
    return out[skip : skip + limit]


def count_documents(s: Session, where: dict[str, Any] | None) -> dict[str, int]:
    ctx = Context(s)
    return {"count": sum(1 for doc, _ in _all_documents(ctx) if py_match(doc, where, "document"))}


def get_document(s: Session, pid: str, flt: dict[str, Any]) -> dict[str, Any]:
    ctx = Context(s)
    for doc, source in _all_documents(ctx):
        if doc["pid"] == pid:
            incs = includes(flt.get("include"), "document")
            return _doc_relations(ctx, doc, incs, filter_parents=False, source=source) or doc
    raise NotFound(f"No public document with pid {pid!r}.")


# --- instruments ----------------------------------------------------------------------------------------


def _all_instruments(ctx: Context) -> list[dict[str, Any]]:
    return [{**ctx.instrument(i), "score": 0.0} for i in coll.find_instruments(ctx.s, Filter())]


def _inst_relations(
    ctx: Context, inst: dict[str, Any], incs: list[Include], *, filter_parents: bool
) -> dict[str, Any] | None:
    out = dict(inst)
    for inc in incs:
        value = dataset_pipeline(
            ctx.s,
            inc.where,
            inc.include,
            None,
            limit=MAX_LIMIT,
            skip=0,
            extra_sql={"instrumentIds": inst["pid"]},
            ctx=ctx,
        )
        if filter_parents and _needs(inc) and not value:
            return None
        out[inc.relation] = value
    return out


def find_instruments(s: Session, flt: dict[str, Any], query: str | None = None) -> list[dict[str, Any]]:
    ctx = Context(s)
    limit, skip = page_of(flt)
    incs = includes(flt.get("include"), "instrument")
    words = scoring.words(query or flt.get("query"))
    picked = []
    for inst in _all_instruments(ctx):
        if not py_match(inst, flt.get("where"), "instrument"):
            continue
        if words:
            inst["score"] = scoring.relevance(
                words, {"title": inst["name"], "description": inst.get("facility")}
            )
            if inst["score"] <= 0:
                continue
        picked.append(inst)
    if words:
        picked.sort(key=lambda x: -x["score"])
    out = []
    needs = any(_needs(i) for i in incs)
    for inst in picked:
        if not needs and len(out) >= skip + limit:
            break
        full = _inst_relations(ctx, inst, incs, filter_parents=True)
        if full is not None:
            out.append(full)
    return out[skip : skip + limit]


def count_instruments(s: Session, where: dict[str, Any] | None) -> dict[str, int]:
    ctx = Context(s)
    return {"count": sum(1 for i in _all_instruments(ctx) if py_match(i, where, "instrument"))}


def get_instrument(s: Session, pid: str, flt: dict[str, Any]) -> dict[str, Any]:
    ctx = Context(s)
    inst = {**ctx.instrument(coll.get_instrument(s, pid)), "score": 0.0}
    incs = includes(flt.get("include"), "instrument")
    return _inst_relations(ctx, inst, incs, filter_parents=False) or inst
