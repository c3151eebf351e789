"""The application form as the page sends it: parsed into ``ApplicationInput``, and the values to show again.

The page names repeated rows ``team-<n>-<field>``, ``budget-<n>-<field>`` and ``inkind-<n>-<field>``;
errors from the model (``team.1.sector``) and from the service come back under the same input names.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from halric.calls.schemas import ApplicationInput, NewOrganisationInline
from halric.web import numbers
from halric.web.forms import FormErrors, from_exception, label_for, size_errors

TEAM_FIELDS = ("name", "email", "organisation_id", "country", "sector", "role")
BUDGET_FIELDS = ("organisation_id", "cost_type", "description", "person_months", "monthly_cost", "storage_tb")
DATA_STORAGE = "data-storage"
INKIND_FIELDS = ("organisation_id", "description", "amount")
NEWORG_FIELDS = ("name", "country", "kind", "ror")
EXCLUDE_FIELDS = ("organisation_id", "name", "ror", "domain")
TEXT_FIELDS = (
    "title",
    "lay_summary",
    "research_question",
    "work_plan",
    "timeline",
    "impact",
    "data_management",
)

LABELS = {
    "team": "Team member", "budget": "Budget line", "inkind": "In-kind contribution", "neworg": "New organisation",
    "organisation_id": "organisation", "person_months": "person-months", "monthly_cost": "monthly cost",
    "cost_type": "type", "email": "e-mail", "amount": "value", "kind": "sector", "storage_tb": "terabytes to store",
    "title": "Title", "lay_summary": "Lay summary", "research_question": "Research question",
    "work_plan": "Work plan", "timeline": "Timeline", "duration_months": "Duration (months)",
    "impact": "Expected impact", "data_management": "Data management", "instruments": "Instruments",
    "version": "Version", "ror": "ROR id", "exclude": "Excluded organisation", "domain": "e-mail domain",
    "public_summary": "Non-confidential summary", "confidential": "Confidential application",
}  # fmt: skip
ALIASES = {"in_kind": "inkind", "excluded_organisations": "exclude"}

# what a person must do when a row's field is empty, in the words of the page
EMPTY = {
    "organisation_id": "Choose the organisation (or add it below under “Organisation not in the list?”).",
    "sector": "Choose the sector.",
    "country": "Give the two-letter country code, e.g. SE or DK.",
    "name": "Write the person's name.",
    "description": "Say what is contributed.",
}


def rows(
    form: Any, prefix: str, fields: tuple[str, ...], defaults: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    """Rows of a repeated form section, numbered as on the page; rows with only preset values are left out."""
    out = []
    for n in range(60):
        if not any(f"{prefix}-{n}-{f}" in form for f in fields):
            break
        row = {f: str(form.get(f"{prefix}-{n}-{f}", "")).strip() for f in fields}
        if any(v for k, v in row.items() if k not in defaults):
            row["_n"] = str(n)
            out.append(row)
    return out


MONEY = {"monthly_cost", "amount"}


def _number(value: str, field: str = "") -> str:
    """The typed number as the model reads it ("0" when empty or unreadable: the form reports those)."""
    try:
        return numbers.normalise(value, empty="0", money=field in MONEY)
    except numbers.NumberError:
        return "0"


def _number_errors(rows: list[dict[str, str]], prefix: str, fields: tuple[str, ...]) -> FormErrors:
    """Numbers that cannot be read without guessing (``1,500``), by the input they were typed in."""
    errors = FormErrors()
    for row in rows:
        for f in fields:
            try:
                numbers.normalise(row.get(f, ""), money=f in MONEY)
            except numbers.NumberError as exc:
                name = f"{prefix}-{row['_n']}-{f}"
                errors.add(name, str(exc), label_for(name, LABELS))
    return errors


def parse(form: Any) -> tuple[ApplicationInput | None, FormErrors]:
    """The draft in the form, or the errors by input name (all of them at once, not the first only)."""
    errors = size_errors(form)
    team = rows(form, "team", TEAM_FIELDS)
    budget = rows(form, "budget", BUDGET_FIELDS, defaults=("cost_type",))
    inkind = rows(form, "inkind", INKIND_FIELDS)
    exclude = rows(form, "exclude", EXCLUDE_FIELDS)
    for found in (_number_errors(budget, "budget", ("person_months", "monthly_cost", "storage_tb")),
                  _number_errors(inkind, "inkind", ("amount",))):  # fmt: skip
        errors.items.extend(found.items)
    # rows are numbered as on the page, so that an error lands by the row the person typed in
    positions = {"team": [int(r.pop("_n")) for r in team], "budget": [int(r.pop("_n")) for r in budget],
                 "in_kind": [int(r.pop("_n")) for r in inkind],
                 "excluded_organisations": [int(r.pop("_n")) for r in exclude]}  # fmt: skip
    for b in budget:
        if b.get("cost_type") == DATA_STORAGE:  # TB × the call's rate; no person-months
            b.pop("person_months"), b.pop("monthly_cost")
            b["storage_tb"] = _number(b["storage_tb"])
        else:
            b.pop("storage_tb")
            b["person_months"], b["monthly_cost"] = (
                _number(b["person_months"]),
                _number(b["monthly_cost"], "monthly_cost"),
            )
    for k in inkind:
        k["amount"] = _number(k["amount"], "amount")
    for m in team:
        m["country"] = m["country"].upper()
    duration = str(form.get("duration_months", "")).strip()
    data = None
    try:
        data = ApplicationInput(
            version=int(str(form.get("version", 0) or 0)) if str(form.get("version", "0")).isdigit() else 0,
            **{f: str(form.get(f, "")) for f in TEXT_FIELDS},
            instruments=[str(x) for x in form.getlist("instruments") if x],
            duration_months=duration or None,
            motivations={k[len("motivation-"):]: str(v) for k, v in form.items()
                         if k.startswith("motivation-") and str(v).strip()},
            team=team, budget=budget, in_kind=inkind,
            confidential=form.get("confidential") == "yes", public_summary=str(form.get("public_summary", "")),
            excluded_organisations=exclude,
        )  # fmt: skip
    except Exception as exc:  # pydantic ValidationError; anything else is a bug and re-raised
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        found = renumber(from_exception(exc, labels=LABELS, aliases=ALIASES), positions)
        too_big = {e.name for e in errors.items}  # already reported as far too long: one message per field
        errors.items.extend(e for e in found.items if e.name not in too_big)
        errors.general.extend(found.general)
    return (None if errors else data), errors


def renumber(errors: FormErrors, positions: dict[str, list[int]]) -> FormErrors:
    """Model rows are numbered without the empty page rows; put each error back on its page row."""
    prefix = {"team": "team", "inkind": "in_kind", "budget": "budget", "exclude": "excluded_organisations"}
    out = FormErrors(general=list(errors.general))
    for e in errors.items:
        parts = e.name.split("-")
        if len(parts) == 3 and parts[0] in prefix and parts[1].isdigit():
            pos = positions.get(prefix[parts[0]], [])
            idx = int(parts[1])
            if idx < len(pos):
                parts[1] = str(pos[idx])
            name = "-".join(parts)
            message = EMPTY.get(parts[2], e.message) if e.message == "Fill in this field." else e.message
            out.add(name, message, label_for(name, LABELS))
        else:
            out.items.append(e)
    return out


def page_positions(form: Any) -> dict[str, list[int]]:
    """The page row of each model row (for errors the service raises after parsing)."""
    return {
        "team": [int(r["_n"]) for r in rows(form, "team", TEAM_FIELDS)],
        "budget": [int(r["_n"]) for r in rows(form, "budget", BUDGET_FIELDS, defaults=("cost_type",))],
        "in_kind": [int(r["_n"]) for r in rows(form, "inkind", INKIND_FIELDS)],
        "excluded_organisations": [int(r["_n"]) for r in rows(form, "exclude", EXCLUDE_FIELDS)],
    }


def new_organisation(form: Any) -> tuple[NewOrganisationInline | None, FormErrors]:
    """The organisation named inline under "Organisation not in the list?", if the person named one."""
    values = {f: str(form.get(f"neworg-{f}", "")).strip() for f in NEWORG_FIELDS}
    if not values["name"]:
        errors = FormErrors()
        if any(values[f] for f in ("country", "ror")):
            errors.add("neworg-name", "Write the organisation's name.", "New organisation, name")
        return None, errors
    try:
        return NewOrganisationInline(**values), FormErrors()
    except Exception as exc:
        from pydantic import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        return None, from_exception(exc, labels=LABELS, aliases={"name": "neworg-name", "country": "neworg-country",
                                                                  "kind": "neworg-kind", "ror": "neworg-ror"})  # fmt: skip


def _amount(pm: str, mc: str) -> str:
    try:
        return (
            f"{(Decimal(_number(pm)) * Decimal(_number(mc, 'monthly_cost'))).quantize(Decimal('0.01')):,.2f}"
        )
    except (InvalidOperation, ValueError):
        return ""


def _line_amount(b: dict[str, str], rate: Any) -> str:
    if b.get("cost_type") == DATA_STORAGE:
        return _amount(b["storage_tb"], str(rate)) if b["storage_tb"] and rate is not None else ""
    return _amount(b["person_months"], b["monthly_cost"]) if b["person_months"] or b["monthly_cost"] else ""


def values_from_form(form: Any, rate: Any = None) -> dict[str, Any]:
    """What the person sent, to fill the form again after an error (nothing typed is lost). ``rate`` is the
    call's rate per TB (the amount of a data-storage line)."""
    team = [{f: str(form.get(f"team-{n}-{f}", "")) for f in TEAM_FIELDS} for n in range(_count(form, "team"))]
    budget = []
    for n in range(_count(form, "budget")):
        b = {f: str(form.get(f"budget-{n}-{f}", "")) for f in BUDGET_FIELDS}
        b["amount"] = _line_amount(b, rate)
        budget.append(b)
    inkind = [
        {f: str(form.get(f"inkind-{n}-{f}", "")) for f in INKIND_FIELDS}
        for n in range(_count(form, "inkind"))
    ]
    return {
        "version": str(form.get("version", "")),
        **{f: str(form.get(f, "")) for f in TEXT_FIELDS},
        "duration_months": str(form.get("duration_months", "")),
        "instruments": [str(x) for x in form.getlist("instruments") if x],
        "motivations": {
            k[len("motivation-") :]: str(v) for k, v in form.items() if k.startswith("motivation-")
        },
        "team": _trim(team),
        "budget": _trim(budget, ("cost_type", "amount")),
        "in_kind": _trim(inkind),
        "neworg": {f: str(form.get(f"neworg-{f}", "")) for f in NEWORG_FIELDS},
        "confidential": form.get("confidential") == "yes",
        "public_summary": str(form.get("public_summary", "")),
        "excluded": _trim(
            [
                {f: str(form.get(f"exclude-{n}-{f}", "")) for f in EXCLUDE_FIELDS}
                for n in range(_count(form, "exclude"))
            ]
        ),
    }


def values_from_app(app: Any) -> dict[str, Any]:
    """The stored draft, in the same shape as :func:`values_from_form`."""
    return {
        "version": str(app.version),
        **{f: getattr(app, f) or "" for f in TEXT_FIELDS},
        "duration_months": str(app.duration_months or ""),
        "instruments": list(app.instruments),
        "motivations": dict(app.motivations or {}),
        "team": [{f: getattr(m, f) or "" for f in TEAM_FIELDS} for m in app.team],
        "budget": [
            {**{f: str(getattr(b, f) or "") for f in BUDGET_FIELDS}, "amount": f"{b.amount:,.2f}"}
            for b in app.budget
        ],
        "in_kind": [{f: str(getattr(k, f) or "") for f in INKIND_FIELDS} for k in app.in_kind],
        "neworg": dict.fromkeys(NEWORG_FIELDS, ""),
        "confidential": bool(app.confidential),
        "public_summary": app.public_summary or "",
        # a registry organisation is shown by the list alone; a free one by its name, ROR id and domain
        "excluded": [_excluded_values(e) for e in app.excluded_organisations or []],
    }


def _excluded_values(e: dict[str, Any]) -> dict[str, str]:
    registry = bool(e.get("organisation_id"))
    return {"organisation_id": e.get("organisation_id") or "", "name": "" if registry else e.get("name") or "",
            "ror": "" if registry else e.get("ror") or "", "domain": e.get("domain") or ""}  # fmt: skip


def _count(form: Any, prefix: str) -> int:
    n = 0
    while n < 60 and any(k.startswith(f"{prefix}-{n}-") for k in form):
        n += 1
    return n


def _trim(rows_: list[dict[str, str]], preset: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Drop empty rows at the end (the page adds fresh empty rows itself)."""
    while rows_ and not any(v.strip() for k, v in rows_[-1].items() if k not in preset):
        rows_.pop()
    return rows_
