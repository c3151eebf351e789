"""The filter compiler for the catalog's collections: a LoopBack ``where``/``order`` over a collection's
field map, compiled to SQL (SQLite and PostgreSQL) — samples, proposals, instruments, published data and
data blocks. Datasets use the same operators and operand checks (``filters.dataset_condition``) with their
indexed term table.

A field is one of:

- :class:`Col` — a column (or any SQL expression); compared as the column's type;
- :class:`JsonList` — a JSON array column; the condition holds when **any** element matches (with ``key``,
  the element objects' value at that path: ``dataFileList.path``);
- :class:`JsonDoc` — a JSON object column; the rest of the dotted name is a path inside it
  (``sampleCharacteristics.temperature.value``);
- :class:`Related` — values in another table (a registry instrument's techniques).

JSON values are compared by their JSON type: a number operand matches JSON numbers, text matches strings,
``true``/``false`` match booleans, so a string never meets a number in the database (no cast errors, no
SQLite "text is greater than every number"). Negated operators (``neq``, ``nin``, ``nlike``, ``nilike``)
hold when no value matches; ``{"field": null}`` (or ``""``) holds when the field has no value. A name the
collection does not have is a field without a value, as in SciCat's MongoDB backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Float,
    Text,
    and_,
    case,
    cast,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

from halric.catalog.filters import _cmp, _ops, _python_type, _typed
from halric.core.errors import InvalidInput

NEGATED = {"neq": "eq", "nin": "inq", "nlike": "like", "nilike": "ilike"}


@dataclass(frozen=True)
class Col:
    expr: Any


@dataclass(frozen=True)
class JsonList:
    column: Any
    key: tuple[str, ...] = ()


@dataclass(frozen=True)
class JsonDoc:
    column: Any


@dataclass(frozen=True)
class Related:
    """Values of another table: ``value`` where ``link`` (correlated to the outer row) holds."""

    value: Any
    link: Any


Field = Col | JsonList | JsonDoc | Related
FieldMap = dict[str, Field]


def _resolve(key: str, fields: FieldMap) -> tuple[Field | None, tuple[str, ...]]:
    if key in fields:
        return fields[key], ()
    parts = key.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        f = fields.get(head)
        if isinstance(f, JsonDoc):
            return f, tuple(parts[i:])
        if isinstance(f, JsonList) and not f.key:
            return JsonList(f.column, tuple(parts[i:])), ()
    return None, ()


# --- JSON values, per database ---------------------------------------------------------------------------


def _category(val: Any) -> str:
    if isinstance(val, bool):
        return "bool"
    if isinstance(val, int | float):
        return "number"
    return "text"


def _plain(val: Any) -> Any:
    if isinstance(val, bool):
        return "true" if val else "false"
    if isinstance(val, datetime):
        return val.isoformat()
    return val


class _JsonValue:
    """One JSON value (a SQL expression) and its JSON type, as text/number/boolean-text expressions."""

    def __init__(self, dialect: str, value: Any, typ: Any) -> None:
        self.dialect, self.value, self.typ = dialect, value, typ

    def typed(self, category: str) -> Any:
        if self.dialect == "postgresql":
            text = self.value.op("#>>")(literal_column("'{}'"))
            if category == "number":
                return case((self.typ == "number", cast(text, Float)), else_=null())
            if category == "bool":
                return case((self.typ == "boolean", text), else_=null())
            return case((self.typ == "string", text), else_=null())
        if category == "number":
            return case((self.typ.in_(("integer", "real")), self.value), else_=null())
        if category == "bool":
            return case((self.typ == "true", "true"), (self.typ == "false", "false"), else_=null())
        return case((self.typ == "text", self.value), else_=null())

    def present(self) -> ColumnElement[bool]:
        return and_(self.typ.is_not(None), self.typ != "null")


def _doc_value(dialect: str, column: Any, path: tuple[str, ...]) -> _JsonValue:
    if dialect == "postgresql":
        v = column.op("#>")(cast(literal("{" + ",".join(_pg_quote(p) for p in path) + "}"), ARRAY(Text)))
        return _JsonValue(dialect, v, func.jsonb_typeof(v))
    jpath = _sqlite_path(path)
    return _JsonValue(dialect, func.json_extract(column, jpath), func.json_type(column, jpath))


def _elements(dialect: str, column: Any, key: tuple[str, ...]) -> tuple[Any, _JsonValue]:
    """(FROM item of the array's elements, the element's value at ``key``)."""
    if dialect == "postgresql":
        src = case((func.jsonb_typeof(column) == "array", column), else_=cast(literal("[]"), JSONB))
        el = func.jsonb_array_elements(src).table_valued(_jsonb_column("value")).alias()
        v = el.c.value
        if key:
            v = v.op("#>")(cast(literal("{" + ",".join(_pg_quote(p) for p in key) + "}"), ARRAY(Text)))
        return el, _JsonValue(dialect, v, func.jsonb_typeof(v))
    src = case((func.json_type(column) == "array", column), else_=literal("[]"))
    el = func.json_each(src).table_valued("value", "type").alias()
    if not key:
        return el, _JsonValue(dialect, el.c.value, el.c.type)
    jpath = _sqlite_path(key)
    obj = el.c.type == "object"
    return el, _JsonValue(
        dialect,
        case((obj, func.json_extract(el.c.value, jpath)), else_=null()),
        case((obj, func.json_type(el.c.value, jpath)), else_=null()),
    )


def _sqlite_path(path: tuple[str, ...]) -> str:
    return "$" + "".join('."' + p.replace('"', '\\"') + '"' for p in path)


def _pg_quote(p: str) -> str:
    return '"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _jsonb_column(name: str) -> Any:
    return column(name, JSONB)


def _json_positive(jv: _JsonValue, op: str, val: Any, name: str) -> ColumnElement[bool]:
    """Whether the JSON value meets a positive operator (eq, inq, like, ilike, gt… between)."""
    if op == "inq":
        groups: dict[str, list[Any]] = {}
        for v in val:
            if v is not None:
                groups.setdefault(_category(v), []).append(_plain(v))
        parts = [jv.typed(cat).in_(vs) for cat, vs in groups.items()]
        if None in val:
            parts.append(not_(jv.present()))
        return or_(*parts) if parts else false()
    if op in ("like", "ilike"):
        return _cmp(jv.typed("text"), op, str(val), name)
    probe = val[0] if op == "between" else val
    cat = _category(probe)
    plain = [_plain(v) for v in val] if op == "between" else _plain(val)
    return _cmp(jv.typed(cat), op, plain, name)


# --- the compiler ----------------------------------------------------------------------------------------


def _absent(op: str, val: Any) -> ColumnElement[bool]:
    """A field the collection does not have: it holds no value."""
    if op == "eq" and val in ("", None):
        return true()
    if op in ("neq", "nin", "nlike", "nilike"):
        return true()
    return false()


def _field_condition(field: Field, path: tuple[str, ...], op: str, val: Any, name: str, dialect: str) -> Any:
    if isinstance(field, Col):
        expr = field.expr
        py = _python_type(expr)
        if op == "eq" and val == "":
            return or_(expr.is_(None), expr == "") if py is str else expr.is_(None)
        return _cmp(expr, op, _typed(py, op, val, name), name)
    positive = NEGATED.get(op, op)
    empty = op == "eq" and val in ("", None)
    if isinstance(field, JsonDoc):
        jv = _doc_value(dialect, field.column, path)
        if empty:
            return or_(not_(jv.present()), jv.typed("text") == "") if val == "" else not_(jv.present())
        cond = _json_positive(jv, positive, val, name)
        return not_(func.coalesce(cond, false())) if op in NEGATED else func.coalesce(cond, false())
    if isinstance(field, JsonList):
        el, jv = _elements(dialect, field.column, field.key)

        def any_(c: ColumnElement[bool]) -> ColumnElement[bool]:
            return exists(select(literal(1)).select_from(el).where(c))

        if empty:
            none = not_(any_(jv.present()))
            return or_(none, any_(jv.typed("text") == "")) if val == "" else none
        cond = any_(_json_positive(jv, positive, val, name))
        return not_(cond) if op in NEGATED else cond
    # Related: plain column values in another table
    py = _python_type(field.value)

    def has(c: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists(select(literal(1)).where(field.link, c))

    if empty:
        return not_(has(field.value.is_not(None)))
    cond = has(_cmp(field.value, positive, _typed(py, positive, val, name), name))
    return not_(cond) if op in NEGATED else cond


def condition(
    where: dict[str, Any] | None, fields: FieldMap, dialect: str, *, prefix: str = "where"
) -> ColumnElement[bool]:
    """The SQL condition for a ``where`` over a collection's fields."""
    conds: list[ColumnElement[bool]] = []
    for key, value in (where or {}).items():
        name = f"{prefix}.{key}"
        if key in ("and", "or"):
            if not isinstance(value, list):
                raise InvalidInput(f"{name}: give a list of conditions", field=name)
            parts = [condition(v, fields, dialect, prefix=name) for v in value if isinstance(v, dict)]
            if parts:
                conds.append((and_ if key == "and" else or_)(*parts))
            continue
        field, path = _resolve(key, fields)
        for op, val in _ops(value, name):
            if op == "eq" and isinstance(val, list):
                op = "inq"
            if field is None:
                conds.append(_absent(op, val))
            else:
                conds.append(_field_condition(field, path, op, val, name, dialect))
    return and_(*conds) if conds else true()


def order_by(order: list[tuple[str, bool]], fields: FieldMap, dialect: str) -> list[Any]:
    """ORDER BY for SciCat's ``order``: ascending puts missing values last, descending first (as the
    Python sort did); JSON paths order by their text; names the collection lacks are ignored."""
    out = []
    for key, desc in order:
        field, path = _resolve(key, fields)
        if isinstance(field, Col):
            expr = field.expr
        elif isinstance(field, JsonDoc) and path:
            jv = _doc_value(dialect, field.column, path)
            expr = jv.value.op("#>>")(literal_column("'{}'")) if dialect == "postgresql" else jv.value
        else:
            continue
        out.append(expr.desc().nulls_first() if desc else expr.asc().nulls_last())
    return out


def dialect_of(s: Any) -> str:
    return str(s.get_bind().dialect.name)


def filtered(
    q: Any,
    flt: Any,
    fields: FieldMap,
    dialect: str,
    *,
    default_order: list[Any],
    max_limit: int | None = None,
) -> Any:
    """The SELECT ``q`` narrowed by the filter's where, ordered (then by ``default_order``), skipped and
    limited (at most ``max_limit``)."""
    q = q.where(condition(flt.where, fields, dialect))
    q = q.order_by(*order_by(flt.order, fields, dialect), *default_order)
    limit = flt.limit if flt.limit is not None else max_limit
    if max_limit is not None and limit is not None:
        limit = min(limit, max_limit)
    if flt.skip:
        q = q.offset(flt.skip)
    return q.limit(limit) if limit is not None else q
