"""Numbers typed into the hub's forms, as people in Sweden, Denmark, Germany, Norway and elsewhere write them.

One rule for every form (application budget, call settings, cost claims):

- spaces, no-break spaces and apostrophes group thousands: ``6 500,00``, ``1'000``;
- with both ``,`` and ``.``, the last one is the decimal mark: ``1.234,50`` and ``1,234.50`` are 1234.5;
- the same mark more than once groups thousands: ``1.000.000``, ``1,000,000``;
- a single mark is the decimal mark: ``12,5`` and ``12.5`` are 12.5, ``12.345`` is twelve point three four
  five (the hub writes numbers that way itself) — except a single comma before exactly three digits
  (``1,500``), which reads as a thousands group in English and as a decimal mark here: that is refused with
  a message giving both readings, because guessing wrong would make a budget a thousand times larger or
  smaller. In money fields (``money=True``: two decimals at most) a single point before exactly three
  digits is refused the same way: ``20.000`` is how German writes twenty thousand.
"""

from __future__ import annotations

import re

_GROUPING = re.compile(r"[\s\u00a0\u202f'’_]")
_PLAIN = re.compile(r"-?\d+(\.\d+)?")


class NumberError(ValueError):
    """The text is not a number the hub can read without guessing; ``str()`` says how to write it."""


def normalise(text: str, *, empty: str = "", money: bool = False) -> str:
    """``text`` as a plain decimal string (``1234.5``), or ``empty`` when nothing was typed."""
    raw = _GROUPING.sub("", str(text or ""))
    if not raw:
        return empty
    sign = "-" if raw.startswith("-") else ""
    body = raw[1:] if raw[0] in "+-" else raw
    commas, dots = body.count(","), body.count(".")
    if commas and dots:
        mark = "," if body.rfind(",") > body.rfind(".") else "."
        whole, _, frac = body.rpartition(mark)
        whole = _ungroup(whole, "." if mark == "," else ",", text)
    elif commas > 1 or dots > 1:
        whole, frac = _ungroup(body, "," if commas else ".", text), ""
    elif commas or dots:
        whole, _, frac = body.partition("," if commas else ".")
        if (commas or money) and len(frac) == 3 and whole.isdigit() and 1 <= len(whole) <= 3 and whole != "0":
            one, thousand = f"{whole}.{frac}".rstrip("0").rstrip("."), f"{whole}{frac}"
            raise NumberError(
                f"“{text.strip()}” could mean {one} or {thousand}: write {thousand} without a separator, "
                f"or {one}"
            )
    else:
        whole, frac = body, ""
    out = f"{sign}{whole}{'.' + frac if frac else ''}"
    if not _PLAIN.fullmatch(out):
        raise NumberError(f"“{text.strip()}” is not a number; write it like 6500 or 6 500,50")
    return out


def _ungroup(whole: str, mark: str, text: str) -> str:
    groups = whole.split(mark)
    if len(groups) > 1 and not (1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])):
        raise NumberError(f"“{text.strip()}” is not a number; write it like 6500 or 6 500,50")
    return "".join(groups)
