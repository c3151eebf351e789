"""The last step of an erasure: replace what still names the person anywhere in the database.

The domains hand over and pseudonymise the fields they know (``personal`` modules). What they cannot
know — an e-mail address in a comment, a decision letter that greets the person, scientific metadata
that names the operator, a registry contact — is found here, in every text and JSON column of every
table, and replaced by the pseudonym:

- e-mail addresses (the account's, earlier ones and identity providers'), the ORCID iD, and a full name
  of at least two words wherever they stand in a text, as whole words, case-blind;
- a one-word name only where it is a whole value (a field that holds just "Erin"), case-exact;
- the user name inside texts only when it cannot be an ordinary word (it has a digit or one of
  ``. _ - @`` and at least six characters); elsewhere the domains replace it where they store user names.

Primary and foreign keys are never rewritten (records would lose each other), nor the ``users`` table
(a namesake's account must not be renamed; the erased account itself is handled by accounts). A
namesake mentioned in someone else's text is pseudonymised too: the sweep cannot tell two people with the
same name apart.

Each table is read once with a prefilter in SQL (its text columns joined and compared with ``LIKE``) and
only the rows found are rewritten, by primary key, in the caller's transaction.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Enum, String, Table, Text, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from halric.core.personal import Person, Pseudonym

SKIP_TABLES = frozenset({"users"})


@dataclass(frozen=True)
class Needle:
    """One way the person is named: ``value``, replaced by ``replacement``; inside longer texts
    (``inside``) as a whole word, case-blind — or only as a whole value, case-exact."""

    value: str
    replacement: str
    inside: bool
    pattern: re.Pattern[str] | None = None

    def apply(self, text: str) -> str:
        if self.pattern is not None:
            return self.pattern.sub(self.replacement, text)
        return self.replacement if text.strip() == self.value else text


def _bounded(value: str, before: str, after: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(part) for part in value.split())
    return re.compile(f"(?<!{before}){body}(?!{after})", re.IGNORECASE)


def distinctive_name(name: str) -> bool:
    return len(name.split()) >= 2 and len(name.strip()) >= 6


def distinctive_username(username: str) -> bool:
    return len(username) >= 6 and any(c in "._-@0123456789" for c in username)


def needles(person: Person, pseudonym: Pseudonym, *, names: tuple[str, ...] = ()) -> list[Needle]:
    """What to look for, most specific first (an address may contain the user name)."""
    out: list[Needle] = []
    for email in sorted(person.emails, key=len, reverse=True):
        out.append(Needle(email, pseudonym.email, True, _bounded(email, r"[\w.+-]", r"[\w-]|\.[\w-]")))
    if person.orcid:
        out.append(Needle(person.orcid, pseudonym.name, True, _bounded(person.orcid, r"[\w-]", r"[\w-]")))
    for name in sorted(
        {n.strip() for n in (person.full_name, *names) if n and n.strip()}, key=len, reverse=True
    ):
        if distinctive_name(name):
            out.append(Needle(name, pseudonym.name, True, _bounded(name, r"[\w-]", r"[\w-]")))
        elif len(name) >= 3:
            out.append(Needle(name, pseudonym.name, False))
    if distinctive_username(person.username):
        out.append(
            Needle(
                person.username,
                pseudonym.name,
                True,
                _bounded(person.username, r"[\w.@-]", r"[\w@-]|\.[\w-]"),
            )
        )
    return out


def scrub(value: Any, found: list[Needle]) -> Any:
    """``value`` (a text, or a JSON document: keys and values) with every needle replaced."""
    if isinstance(value, str):
        for n in found:
            value = n.apply(value)
        return value
    if isinstance(value, list):
        return [scrub(v, found) for v in value]
    if isinstance(value, dict):
        return {scrub(k, found): scrub(v, found) for k, v in value.items()}
    return value


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _patterns(n: Needle) -> set[str]:
    """LIKE patterns that every text naming ``n`` matches (lower-cased by SQL on both sides: SQLite and a
    C-locale PostgreSQL lower only ASCII letters, so the usual spellings of other letters are tried too)."""
    out: set[str] = set()
    for form in {n.value, n.value.lower(), n.value.upper(), n.value.title(), n.value.capitalize()}:
        for written in (form, json.dumps(form)[1:-1]):  # JSON on SQLite is stored with \u escapes
            parts = written.split() if n.inside else [written]
            out.add("%" + "%".join(_like_escape(p) for p in parts) + "%")
    return out


def _text_columns(table: Table) -> list[Any]:
    """The columns that can hold a name: texts and JSON documents, not keys and not enumerations."""
    keys = {c.name for c in table.primary_key.columns} | {fk.parent.name for fk in table.foreign_keys}
    return [
        c
        for c in table.columns
        if c.name not in keys and isinstance(c.type, String | JSON) and not isinstance(c.type, Enum)
    ]


def sweep(s: Session, tables: list[Table], found: list[Needle]) -> dict[str, int]:
    """Rewrite every row of ``tables`` that names a needle; returns rows changed per table."""
    if not found:
        return {}
    patterns = sorted({p for n in found for p in _patterns(n)})
    changed: dict[str, int] = {}
    for table in tables:
        if table.name in SKIP_TABLES:
            continue
        cols = _text_columns(table)
        pk = list(table.primary_key.columns)
        if not cols or not pk:
            continue
        joined = func.coalesce(cast(cols[0], Text), "")
        for c in cols[1:]:
            joined = joined + literal("\n") + func.coalesce(cast(c, Text), "")
        text = func.lower(joined)
        cond = or_(*(text.like(func.lower(literal(p)), escape="\\") for p in patterns))
        n = 0
        for row in s.execute(select(*pk, *cols).where(cond)).mappings().all():
            values = {c.name: scrub(row[c.name], found) for c in cols}
            new = {k: v for k, v in values.items() if v != row[k]}
            if not new:
                continue
            s.execute(table.update().where(*(k == row[k.name] for k in pk)).values(new))
            n += 1
        if n:
            changed[table.name] = n
    return changed
