"""The one translation from validation and domain errors to messages for people (web/forms.py)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from halric.calls.schemas import ApplicationInput, CallInput
from halric.core.errors import Conflict, InvalidInput
from halric.web.application_form import LABELS, parse
from halric.web.forms import from_exception, human_message

DEV_SPEAK = ("String should", "Input should", "Value error", "pattern", "team.1", "^[", "loc")


def errors_of(model, **data):
    with pytest.raises(ValidationError) as exc:
        model(**data)
    return from_exception(
        exc.value, labels={"slug": "Short name", "opens_on": "Opens on"}, collapse=("cutoffs",)
    )


def test_call_errors_name_the_field_and_say_what_to_do():
    e = errors_of(CallInput, slug="Pilot Call!", title="X", opens_on="31.12.2026", budget_ceiling="-5",
                  cutoffs=["2027-01-01", "soon"], currency="eur")  # fmt: skip
    by = e.by_field
    assert by["slug"].startswith("Use 3–80 lower-case letters")
    assert by["title"] == "Write at least 3 characters."
    assert "YYYY-MM-DD" in by["opens_on"] and "YYYY-MM-DD" in by["cutoffs"]
    assert by["budget_ceiling"] == "Give a number above 0."
    assert "three-letter currency code" in by["currency"]
    assert "Short name: use 3–80" in e.summary and "Opens on: give a date" in e.summary
    assert not any(x in e.summary for x in DEV_SPEAK)


def test_rows_of_the_application_form_are_named_as_on_the_page():
    from starlette.datastructures import FormData

    form = FormData([
        ("version", "3"), ("team-0-name", ""), ("team-1-name", "Bo Clinic"), ("team-1-organisation_id", ""),
        ("team-1-country", "dk"), ("team-1-sector", ""), ("budget-0-organisation_id", "lu"),
        ("budget-0-cost_type", "employment"), ("budget-0-person_months", "-1,5"), ("budget-0-monthly_cost", "7 000"),
        ("duration_months", "six"),
    ])  # fmt: skip
    data, e = parse(form)
    assert data is None
    by = e.by_field
    # the empty first team row is skipped, yet the errors land on the page's second row
    assert by["team-1-organisation_id"].startswith("Choose the organisation")
    assert by["team-1-sector"].startswith("Choose the sector")
    assert by["budget-0-person_months"] == "Give 0 or more (not a negative number)."
    assert by["duration_months"] == "Write a whole number, e.g. 6."
    assert "team-1-country" not in by  # "dk" is accepted as DK
    labels = {i.name: i.label for i in e.items}
    assert (
        labels["team-1-sector"] == "Team member 2, sector"
        and labels["budget-0-person_months"] == "Budget line 1, person-months"
    )
    assert not any(x in e.summary for x in DEV_SPEAK)


def test_domain_errors_lose_their_field_prefix():
    e = from_exception(InvalidInput("team.1.organisation_id: unknown organisation 'x'", field="team.1.organisation_id"),
                       labels=LABELS)  # fmt: skip
    assert e.items[0].name == "team-1-organisation_id" and e.items[0].message == "Unknown organisation 'x'."
    assert e.items[0].label == "Team member 2, organisation"
    g = from_exception(Conflict("The call is closed."))
    assert not g.items and g.general == ["The call is closed."] and g.summary == "The call is closed."


def test_every_kind_of_message_reads_as_a_sentence():
    assert human_message({"type": "missing", "loc": ("x",)}) == "Fill in this field."
    assert human_message({"type": "string_too_long", "loc": ("bio",), "ctx": {"max_length": 3000},
                          "input": "x" * 3100}) == "Write at most 3,000 characters (this has 3,100)."  # fmt: skip
    assert human_message(
        {"type": "value_error", "loc": ("sector",), "msg": "Value error, choose the sector"}
    ) == ("Choose the sector.")
    with pytest.raises(ValidationError) as exc:
        ApplicationInput(version=1, instruments=["x"] * 31)
    assert from_exception(exc.value).by_field["instruments"] == "Give at most 30 entries."
