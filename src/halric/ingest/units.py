"""Parsing and printing sizes, rates and frame geometries (pure functions)."""

from __future__ import annotations

import re

from halric.core.errors import InvalidInput

_UNITS = {
    "": 1,
    "B": 1,
    "K": 1000,
    "KB": 1000,
    "M": 1000**2,
    "MB": 1000**2,
    "G": 1000**3,
    "GB": 1000**3,
    "T": 1000**4,
    "TB": 1000**4,
    "P": 1000**5,
    "PB": 1000**5,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
    "PIB": 1024**5,
}


def parse_size(text: str, *, field: str = "size") -> int:
    """``"200MB"`` → 200_000_000; ``"1GiB"`` → 1073741824; a bare number is bytes."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([A-Za-z]*)\s*", str(text))
    unit = m.group(2).upper() if m else None
    if not m or unit not in _UNITS:
        raise InvalidInput(
            f"{field}: {text!r} is not a size; write a number with an optional unit, e.g. 200MB, 1GB, 4GiB",
            field=field,
        )
    value = int(float(m.group(1)) * _UNITS[unit])
    if value <= 0:
        raise InvalidInput(f"{field}: the size must be larger than zero", field=field)
    return value


def parse_rate(text: str, *, field: str = "rate") -> float:
    """``"4.8GB/s"`` or ``"4.8GB"`` → bytes per second."""
    t = str(text).strip()
    if t.lower().endswith("/s"):
        t = t[:-2]
    return float(parse_size(t, field=field))


def parse_frame(text: str, *, field: str = "frame_pixels") -> tuple[int, int]:
    """``"4150x4371"`` → (4150, 4371): width × height in pixels."""
    m = re.fullmatch(r"\s*([0-9]+)\s*[x×X,]\s*([0-9]+)\s*", str(text))
    if not m or int(m.group(1)) <= 0 or int(m.group(2)) <= 0:
        raise InvalidInput(
            f"{field}: {text!r} is not a frame size; write WIDTHxHEIGHT in pixels, e.g. 4150x4371",
            field=field,
        )
    return int(m.group(1)), int(m.group(2))


def human_bytes(n: float) -> str:
    """Decimal units, as storage and network vendors count: 1 GB = 10⁹ bytes."""
    n = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB", "EB"):
        if abs(n) < 1000 or unit == "EB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} EB"  # pragma: no cover


def human_rate(bytes_per_s: float) -> str:
    return human_bytes(bytes_per_s) + "/s"


def human_duration(seconds: float) -> str:
    s = float(seconds)
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 3 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"
