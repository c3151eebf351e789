"""Parameters: a dataset's scientific metadata as PaNOSC parameters, a parameter scope's test (values compared
in the unit asked for, converted by pint), and the SQL condition that leaves out the datasets such a scope
cannot match."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from halric.catalog.filters import LikePattern, json_number_at
from halric.catalog.filters import _cmp as sql_cmp
from halric.catalog.models import Dataset
from halric.core.errors import InvalidInput
from halric.federation import units


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


def parameter_names(where: dict[str, Any] | None) -> list[str]:
    """Names every matching parameter must have (for a cheap SQL prefilter)."""
    if not where:
        return []
    parts = where.get("and") if isinstance(where.get("and"), list) else [where]
    return [w["name"] for w in parts if isinstance(w, dict) and isinstance(w.get("name"), str)][:1]


def scope_parts(where: dict[str, Any]) -> dict[str, Any] | None:
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


def parameter_prefilter(where: dict[str, Any] | None) -> ColumnElement[bool] | None:
    """A SQL condition every dataset with a parameter matching the scope meets (None when the scope's
    shape is not the simple one): the named parameter's value, when it is a number in the unit asked for,
    meets the value condition. Rows in another unit (converted by pint) or of another shape pass to the
    exact check in Python; so the answers are the same, with far fewer rows read."""
    parts = scope_parts(where or {})
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
    meets = and_(*(sql_cmp(value, op, v, "filter.include") for op, v in ops))
    keep = [value.is_(None), meets]
    if unit:
        unit_text = Dataset.scientific_metadata[(name, "unit")].as_string()
        keep += [unit_text.is_(None), unit_text != unit]
    return or_(*keep)
