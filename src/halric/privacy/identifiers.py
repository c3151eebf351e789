"""Find national personal identifiers in text, validated by their check digits.

Kinds recognised (validation by python-stdnum where it has the number, by the published rule otherwise):

* ``se-personnummer`` — Swedish personal identity number, 10 or 12 digits (``YYMMDD-NNNC``,
  ``YYYYMMDDNNNC``); birth date and Luhn check digit (``stdnum.se.personnummer``).
* ``se-samordningsnummer`` — Swedish co-ordination number: a personnummer whose day is raised by 60;
  same Luhn check (stdnum does not know the +60 rule, so the date is shifted before its check).
* ``dk-cpr`` — Danish CPR number ``DDMMYY-SSSS``; birth date, the century digit and "born already"
  (``stdnum.dk.cpr``). CPR numbers have had no check digit since 2007, so a bare ten-digit run counts
  only when it also passes the old modulus-11 check or a nearby word names a person's number (see
  :func:`person_hint`); a hyphenated ``DDMMYY-SSSS`` counts unless the field names a sample, batch, run
  or time.
* ``no-fodselsnummer`` / ``no-d-nummer`` — Norwegian birth number and D-number (day raised by 40);
  both modulus-11 check digits and the birth date (``stdnum.no.fodselsnummer``).
* ``de-kvnr`` — German health-insurance number (Krankenversichertennummer, the unchangeable part on the
  eGK card): a capital letter and nine digits, the last a check digit computed as §290 SGB V and the
  GKV-Spitzenverband's guideline prescribe (letter as 01–26, weights 1-2-1-2…, digit sums, modulo 10).
  python-stdnum has no module for it.

Nothing here ever returns or logs the identifier itself: callers get the kind and where it was.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

KINDS: dict[str, str] = {
    "se-personnummer": "Swedish personnummer",
    "se-samordningsnummer": "Swedish samordningsnummer",
    "dk-cpr": "Danish CPR number",
    "se-personnummer|dk-cpr": "Swedish personnummer or Danish CPR number",
    "se-samordningsnummer|dk-cpr": "Swedish samordningsnummer or Danish CPR number",
    "no-fodselsnummer": "Norwegian fødselsnummer",
    "no-d-nummer": "Norwegian D-nummer",
    "de-kvnr": "German health-insurance number (KVNR)",
    "dicom-patient": "DICOM patient attribute",
}

# Words near a value (its key, column header, attribute name or the text right before it) that say
# "this is a person's number" or, the other way, "this is a sample, batch, run, file counter or time".
_PERSON = re.compile(
    r"cpr|person|pers\.?\s*nr|pnr|\bpn\b|samordning|f[øo]dsels|fnr|\bd-?nr|d-?nummer|patient|"
    r"birth|f[øo]dt|geboren|\bssn\b|identity|identitet|kvnr|versicherten|insurance|krankenkasse|"
    r"subject|proband|\bname\b|\bnavn\b|\bnamn\b",
    re.IGNORECASE,
)
_TIME = re.compile(r"time|date|datum|dato|stamp|start|end|created|modified|zeit|tid\b", re.IGNORECASE)
_NOT_PERSON = re.compile(
    r"sample|probe|prøve|prov|batch|charge|\blot\b|\brun\b|scan|frame|image|shot|serial|counter|"
    r"\bseq|checksum|hash|size|version|" + _TIME.pattern,
    re.IGNORECASE,
)

# Candidates: digit runs not touching other digits (so a part of a longer number never matches).
# A number glued to letters ("SN1804808244") is a serial or a code, not a person's number.
# File names write "_" where people write "-" or " ". Digits inside a decimal number (0.1234567890,
# 1234567890.5) are a measurement, not a person (a comma may be a CSV separator, so only the point counts).
_B = r"(?<![A-Za-z0-9])(?<!\d\.)"
_E = r"(?!\d|\.\d)"
_TWELVE = re.compile(_B + r"(\d{8})([-+_]?)(\d{4})" + _E)
_TEN = re.compile(_B + r"(\d{6})([-+_]?)(\d{4})" + _E)
_ELEVEN = re.compile(_B + r"(\d{6})[ _-]?(\d{5})" + _E)
_KVNR = re.compile(r"(?<![A-Za-z0-9])([A-Z])(\d{9})(?![A-Za-z0-9]|\.\d)")
# One cheap look for anything that could be a number above, before the exact patterns run.
_CANDIDATE = re.compile(r"\d{6}[-+_ ]?\d{4}|[A-Z]\d{9}")


@dataclass(frozen=True)
class Match:
    """A validated identifier inside a text: its kind and span (the span is for pseudonymisation only)."""

    kind: str
    start: int
    end: int


def time_hint(context: str) -> bool:
    """True when ``context`` names a time or date (a ``YYYYMMDD-HHMM`` there is a time stamp)."""
    return bool(context) and not _PERSON.search(context) and bool(_TIME.search(context))


def person_hint(context: str) -> bool | None:
    """True when ``context`` names a person's number, False when it names a sample/run/time, else None."""
    if not context:
        return None
    if _PERSON.search(context):
        return True
    if _NOT_PERSON.search(context):
        return False
    return None


def _luhn_ok(digits: str) -> bool:
    from stdnum import luhn

    return luhn.is_valid(digits)


def _date_ok(year: int, month: int, day: int) -> bool:
    try:
        born = _dt.date(year, month, day)
    except ValueError:
        return False
    return _dt.date(1880, 1, 1) <= born <= _dt.date.today()


def _swedish(date8: str | None, date6: str, sep: str, tail: str) -> str | None:
    """``se-personnummer``/``se-samordningsnummer`` if the number is valid, else None."""
    digits10 = date6 + tail
    if not _luhn_ok(digits10):
        return None
    yy, mm, dd = int(date6[0:2]), int(date6[2:4]), int(date6[4:6])
    kind = "se-personnummer"
    if dd > 60:
        dd -= 60
        kind = "se-samordningsnummer"
    if date8 is not None:
        year = int(date8[0:4])
    else:
        today = _dt.date.today()
        century = today.year // 100 - (1 if yy > today.year % 100 else 0) - (1 if sep == "+" else 0)
        year = century * 100 + yy
    return kind if _date_ok(year, mm, dd) else None


def _danish(number: str) -> bool:
    from stdnum.dk import cpr

    return cpr.is_valid(number)


def _aged(number: str) -> bool:
    """A CPR's birth date within the last hundred years (a dated code 240312-0017 reads as born 1912)."""
    from stdnum.dk import cpr

    return cpr.get_birth_date(number).year > _dt.date.today().year - 100


def _danish_mod11(number: str) -> bool:
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    return sum(int(d) * w for d, w in zip(number, weights, strict=True)) % 11 == 0


def _norwegian(number: str) -> str | None:
    from stdnum.no import fodselsnummer

    if not fodselsnummer.is_valid(number):
        return None
    return "no-d-nummer" if int(number[0]) >= 4 else "no-fodselsnummer"


def _both(swedish: str, context: str) -> str:
    """A ten-digit number valid as a Swedish and as a Danish number: the words around it decide."""
    if re.search(r"cpr|dansk|danish|dk\b", context, re.IGNORECASE):
        return "dk-cpr"
    if re.search(r"person|pnr|samordning|svensk|swedish|se\b", context, re.IGNORECASE):
        return swedish
    return f"{swedish}|dk-cpr"


def kvnr_check_digit(letter: str, digits8: str) -> int:
    """The KVNR check digit for a letter A–Z and the eight digits after it."""
    seq = f"{ord(letter) - 64:02d}{digits8}"
    total = 0
    for i, ch in enumerate(seq):
        p = int(ch) * (1 if i % 2 == 0 else 2)
        total += p // 10 + p % 10
    return total % 10


def _kvnr(letter: str, digits9: str) -> bool:
    return kvnr_check_digit(letter, digits9[:8]) == int(digits9[8])


def may_hold(text: str) -> bool:
    """False when ``text`` cannot hold any supported number (a cheap look before :func:`find`)."""
    return len(text) >= 10 and _CANDIDATE.search(text) is not None


def find(text: str, context: str = "") -> list[Match]:
    """Every valid identifier in ``text``; ``context`` is the key, header or attribute name it sits under."""
    if not may_hold(text):
        return []
    out: list[Match] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, m: re.Match[str]) -> None:
        out.append(Match(kind, m.start(), m.end()))
        taken.append((m.start(), m.end()))

    def free(m: re.Match[str]) -> bool:
        return all(m.end() <= a or m.start() >= b for a, b in taken)

    # Look at the words just before a value too ("CPR: 211062-5629", "Patient 19811218-9876").
    def near(m: re.Match[str]) -> str:
        return text[max(0, m.start() - 24) : m.start()]

    def hint(m: re.Match[str]) -> bool | None:
        h = person_hint(near(m))
        return h if h is not None else person_hint(context)

    def timey(m: re.Match[str]) -> bool:
        return person_hint(near(m)) is not True and (time_hint(near(m)) or time_hint(context))

    for m in _TWELVE.finditer(text):
        kind = _swedish(m.group(1), m.group(1)[2:], m.group(2), m.group(3))
        # YYYYMMDD-HHMM under a time or date field is a time stamp, not a person.
        if kind and not timey(m):
            add(kind, m)
    for m in _ELEVEN.finditer(text):
        if free(m):
            kind = _norwegian(m.group(1) + m.group(2))
            if kind:
                add(kind, m)
    for m in _TEN.finditer(text):
        if not free(m):
            continue
        # Ten digits starting with a date are also how labs write dated codes (YYMMDD-NNNN): in a field
        # named for samples, batches, runs, frames or times they count only with a person's word nearby.
        h = hint(m)
        if h is False:
            continue
        swedish = _swedish(None, m.group(1), m.group(2), m.group(3))
        number = m.group(1) + m.group(3)
        danish = m.group(2) != "+" and _danish(number)
        if danish and h is not True and not (_danish_mod11(number) or (m.group(2) == "-" and _aged(number))):
            danish = False
        if swedish and danish:
            add(_both(swedish, near(m) + " " + context), m)
        elif swedish or danish:
            add(swedish or "dk-cpr", m)
    for m in _KVNR.finditer(text):
        if free(m) and _kvnr(m.group(1), m.group(2)):
            add("de-kvnr", m)
    out.sort(key=lambda x: x.start)
    return out


def mask(text: str, context: str = "") -> str:
    """``text`` with every identifier replaced by ``[kind]`` — for naming a file in a report."""
    parts: list[str] = []
    pos = 0
    for m in find(text, context):
        parts += [text[pos : m.start], f"[{m.kind}]"]
        pos = m.end
    return "".join(parts) + text[pos:]


def kinds_in(text: str, context: str = "") -> list[str]:
    """The kinds of identifier found in ``text``, each once, in order of appearance."""
    return list(dict.fromkeys(m.kind for m in find(text, context)))


def iter_strings(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """(place, text) for every string (and integer, as digits) in nested metadata, keys included."""
    if isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            here = f"{path}.{key}" if path else key
            yield here + " (key)", key
            yield from iter_strings(v, here)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from iter_strings(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield path, value
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 10**9:
        yield path, str(value)
