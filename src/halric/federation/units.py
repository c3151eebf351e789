"""Units for PaNOSC parameter queries (pint): quantities are compared in SI base units and returned in
the unit the query asked for. pint is imported on first use, so start-up stays fast."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from halric.core.errors import InvalidInput

ALIASES = {"°c": "degC", "°f": "degF", "ev": "eV", "kev": "keV", "degrees": "degree", "kelvins": "kelvin"}


@lru_cache(maxsize=1)
def _registry() -> Any:
    import pint

    return pint.UnitRegistry(autoconvert_offset_to_baseunit=True)


def _name(unit: str) -> str:
    u = (unit or "").strip()
    return ALIASES.get(u.lower(), u)


@lru_cache(maxsize=512)
def parse(unit: str) -> Any | None:
    """The pint unit for a unit name, or None when pint does not know it."""
    u = _name(unit)
    if not u:
        return None
    try:
        return _registry().Unit(u)
    except Exception:  # pint raises several kinds of parser errors for unknown or odd strings
        return None


def known(unit: str) -> bool:
    return parse(unit) is not None


def require(unit: str, field: str) -> Any:
    u = parse(unit)
    if u is None:
        raise InvalidInput(
            f"{field}: unknown unit {unit!r}; use e.g. K, celsius, eV, keV, angstrom, nm, bar", field=field
        )
    return u


def compatible(a: str, b: str) -> bool:
    ua, ub = parse(a), parse(b)
    return ua is not None and ub is not None and ua.dimensionality == ub.dimensionality


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (both known and of one dimension)."""
    q = _registry().Quantity(value, parse(from_unit))
    out = q.to(parse(to_unit)).magnitude
    return float(f"{out:.10g}")


def to_si(value: float, unit: str) -> float:
    q = _registry().Quantity(value, parse(unit))
    return float(q.to_base_units().magnitude)
