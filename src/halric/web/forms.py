"""Form errors for people: one translation from pydantic and domain errors to messages by the field.

Every HTML form of the hub re-renders with the person's input and a :class:`FormErrors`: one message
next to each field it concerns (``field_error``/``invalid`` macros in ``_forms.html``) and a summary at
the top that links to them. Messages never show field paths (``team.1.organisation_id``), pattern
regexes or pydantic's wording; the API keeps its own ``{"detail", "field"}`` shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from halric.core.errors import HalricError

# What a field's expected shape is, said for a person (used when a pattern does not match).
SHAPES: dict[str, str] = {
    "slug": "Use 3–80 lower-case letters, digits and hyphens, starting with a letter or digit, e.g. pilot-2027.",
    "id": "Use 2–64 lower-case letters, digits and hyphens, e.g. acme-pharma.",
    "country": "Give the two-letter country code, e.g. SE, DK, DE or NO.",
    "currency": "Give the three-letter currency code in capitals, e.g. EUR or SEK.",
    "ror": "A ROR id looks like https://ror.org/012abc345 (0, six letters or digits, two digits).",
    "email": "Give an e-mail address such as name@example.org.",
    "contact_email": "Give an e-mail address such as name@example.org.",
    "username": "Use 3–40 letters, digits, dots, hyphens or underscores.",
    "key": "Use lower-case letters, digits and hyphens.",
}


# A form field larger than this cannot be read at all (the page says so); anything below is read, so that
# a field beyond a form's own limit is reported by the field with the rest of the input kept.
MAX_FIELD_BYTES = 16 * 1024 * 1024


async def read_form(request: Any) -> Any:
    """The submitted form, reading fields up to ``MAX_FIELD_BYTES`` (Starlette stops at 1 MB with a bare 400)."""
    return await request.form(max_part_size=MAX_FIELD_BYTES)


# How the account forms (sign-up, password, administrators' user forms) name their fields.
ACCOUNT_LABELS = {
    "username": "User name", "email": "E-mail address", "full_name": "Your name", "password": "Password",
    "confirm_password": "Repeated password", "new_password": "New password", "current_password": "Current password",
    "organisation_id": "Organisation", "groups": "Groups", "roles": "Roles", "role": "Roles",
}  # fmt: skip


@dataclass(frozen=True)
class FieldError:
    name: str  # the HTML input name the message belongs next to
    label: str  # how the page names that field, for the summary
    message: str


@dataclass
class FormErrors:
    """Errors of one submitted form; falsy when there are none."""

    items: list[FieldError] = field(default_factory=list)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.items or self.general)

    def get(self, name: str) -> str | None:
        msgs = [e.message for e in self.items if e.name == name]
        return " ".join(msgs) if msgs else None

    def __contains__(self, name: object) -> bool:
        return any(e.name == name for e in self.items)

    @property
    def by_field(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in self.items:
            out[e.name] = f"{out[e.name]} {e.message}" if e.name in out else e.message
        return out

    @property
    def summary(self) -> str:
        """One line for an alert or an autosave status."""
        parts = [f"{e.label}: {_lower_first(e.message)}" for e in self.items] + self.general
        return " ".join(parts)

    def add(self, name: str, message: str, label: str | None = None) -> FormErrors:
        self.items.append(FieldError(name, label or humanise_name(name), message))
        return self

    def extend(self, other: FormErrors) -> FormErrors:
        self.items.extend(other.items)
        self.general.extend(other.general)
        return self


def _lower_first(text: str) -> str:
    """ "Use at least …" → "use at least …" after a label; acronyms and codes (ROR, SE) stay."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


# Field names whose plain capitalisation would still read as code.
_LABELS = {"url": "Address (URL)", "doi": "DOI", "pid": "Identifier (pid)", "ror_id": "ROR id"}


def humanise_name(name: str) -> str:
    if name in _LABELS:
        return _LABELS[name]
    return name.replace("_", " ").replace("-", " ").strip().capitalize() or "This field"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")")) else text + "."


def human_message(err: Mapping[str, Any]) -> str:
    """A pydantic error (one entry of ``ValidationError.errors()``) in words a person can act on."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    loc = [p for p in err.get("loc", ()) if isinstance(p, str)]
    last = loc[-1] if loc else ""
    given = err.get("input")
    if kind == "missing":
        return "Fill in this field."
    if kind == "string_too_short":
        n = int(ctx.get("min_length", 1))
        return "Fill in this field." if n <= 1 or not given else f"Write at least {n} characters."
    if kind == "string_too_long":
        n = int(ctx.get("max_length", 0))
        have = f" (this has {len(given):,})" if isinstance(given, str) else ""
        return f"Write at most {n:,} characters{have}."
    if kind == "too_long":
        return f"Give at most {ctx.get('max_length')} entries."
    if kind == "too_short":
        return f"Give at least {ctx.get('min_length')} entries."
    if kind == "string_pattern_mismatch":
        return SHAPES.get(last, "This is not in the expected form; check the hint by the field.")
    if kind in ("greater_than_equal",):
        return (
            "Give 0 or more (not a negative number)."
            if str(ctx.get("ge")) == "0"
            else f"Give {ctx.get('ge')} or more."
        )
    if kind == "greater_than":
        return "Give a number above 0." if str(ctx.get("gt")) == "0" else f"Give more than {ctx.get('gt')}."
    if kind == "less_than_equal":
        return f"Give at most {ctx.get('le')}."
    if kind == "less_than":
        return f"Give less than {ctx.get('lt')}."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Write a whole number, e.g. 6."
    if kind in ("decimal_parsing", "decimal_type", "float_parsing", "float_type", "finite_number"):
        return "Write a number such as 1.5 or 6500.00."
    if kind == "decimal_max_places":
        return f"Use at most {ctx.get('decimal_places')} decimals."
    if kind in ("decimal_max_digits", "decimal_whole_digits"):
        return "This number is too large."
    if kind.startswith("date") or kind.startswith("datetime"):
        return "Give a date as YYYY-MM-DD (or pick one in the calendar)."
    if kind.startswith("url"):
        return "Give a web address starting with https://."
    if kind.startswith("bool"):
        return "Tick the box or leave it empty."
    if kind == "extra_forbidden":
        return "This is not a field of this form."
    if kind in ("literal_error", "enum"):
        return f"Choose one of {ctx.get('expected', 'the offered values')}."
    msg = str(err.get("msg", "This value is not valid.")).removeprefix("Value error, ")
    return _sentence(msg)


def _loc_name(loc: Iterable[Any], aliases: Mapping[str, str]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    if not parts:
        return ""
    parts[0] = aliases.get(parts[0], parts[0])
    return "-".join(parts)


def label_for(name: str, labels: Mapping[str, str]) -> str:
    """``team-1-organisation_id`` → "Team member 2, organisation" with ``labels``; unknown parts are tidied."""
    if name in labels:
        return labels[name]
    if name in _LABELS:
        return _LABELS[name]
    words = []
    for part in name.split("-"):
        if part.isdigit() and words:
            words[-1] = f"{words[-1]} {int(part) + 1}"
        else:
            words.append(labels.get(part, _LABELS.get(part, part.replace("_", " "))))
    text = ", ".join(words)
    return text[:1].upper() + text[1:] if text else "This field"


_FIELD_PREFIX = re.compile(r"^[a-z_][a-z0-9_.\-]*: ", re.IGNORECASE)


def from_exception(
    exc: Exception,
    *,
    labels: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
    collapse: Iterable[str] = (),
) -> FormErrors:
    """Translate a pydantic ``ValidationError`` or a domain ``HalricError`` into :class:`FormErrors`.

    ``aliases`` maps the first part of a model's field path to the form's input name prefix
    (``in_kind`` → ``inkind``); ``labels`` names fields and groups as the page does; errors inside a
    list field typed in one input (``cutoffs.1``) are folded onto that input by ``collapse``.
    """
    from pydantic import ValidationError

    labels = labels or {}
    aliases = aliases or {}
    collapse = tuple(collapse)
    out = FormErrors()

    def fold(name: str) -> str:
        return next((c for c in collapse if name.startswith(c + "-")), name)

    if isinstance(exc, ValidationError):
        for err in exc.errors():
            name = fold(_loc_name(err.get("loc", ()), aliases))
            if name:
                out.add(name, human_message(err), label_for(name, labels))
            else:
                out.general.append(human_message(err))
        return out
    if isinstance(exc, HalricError):
        detail = exc.detail
        if exc.field:
            name = fold(_loc_name(exc.field.replace(".", "-").split("-"), aliases))
            message = _sentence(_FIELD_PREFIX.sub("", detail, count=1))
            out.add(name, message, label_for(name, labels))
        else:
            out.general.append(_sentence(detail))
        return out
    out.general.append(_sentence(str(exc)))
    return out


def size_errors(form: Mapping[str, Any], limit: int = 100_000) -> FormErrors:
    """Fields far beyond any limit of the hub's forms are reported by the field (the rest of the form stays)."""
    out = FormErrors()
    for k, v in form.items():
        if isinstance(v, str) and len(v) > limit:
            out.add(k, f"Write at most {limit:,} characters (this has {len(v):,}).")
    return out
