"""Numbers typed as people in the region write them (one rule for every form): ``6 500,50``, ``1.234,50`` and
``1,234.50`` are read, and a number that reads both ways (``1,500``: one and a half or fifteen hundred?) is
refused by its field with the two readings, the rest of the input kept — never stored a thousand times off."""

from __future__ import annotations

from decimal import Decimal

from tests.calls.test_forms import draft_form, error_by, page_form


def _call_values(client, people, call_id: int) -> dict[str, str]:
    form = page_form(
        client.get(f"/calls/{call_id}/edit", headers=people["coordinator"]["h"]).text, "call-form"
    )
    return {k: v[0] for k, v in form.items() if k != "csrf_token"}


def test_the_call_form_reads_a_decimal_comma_and_refuses_a_guess(client, people, open_call):
    hc = people["coordinator"]["h"]
    values = _call_values(client, people, open_call["id"])
    r = client.post(f"/calls/{open_call['id']}/edit", data={**values, "budget_ceiling": "60 000,50",
                                                             "storage_rate_per_tb": "40,25"}, headers=hc)  # fmt: skip
    assert r.status_code == 200, r.text
    now = client.get(f"/api/calls/{open_call['id']}").json()
    assert Decimal(now["budget_ceiling"]) == Decimal("60000.50") and Decimal(
        now["storage_rate_per_tb"]
    ) == Decimal("40.25")
    # the old reading of the call form dropped commas: "1,5" became 15 per TB
    bad = {**values, "title": "Renamed in the same post", "storage_rate_per_tb": "1,500", "slug": "Bad Slug!"}
    r = client.post(f"/calls/{open_call['id']}/edit", data=bad, headers=hc)
    assert r.status_code == 400
    assert "1.5 or 1500" in error_by(r.text, "storage_rate_per_tb")
    assert "lower-case" in error_by(r.text, "slug")  # every error at once
    assert page_form(r.text, "call-form")["title"] == ["Renamed in the same post"]
    # German thousands ("20.000") in a money field is not taken for twenty: money has two decimals at most
    r = client.post(f"/calls/{open_call['id']}/edit", data={**values, "budget_ceiling": "20.000"}, headers=hc)
    assert r.status_code == 400 and "20 or 20000" in error_by(r.text, "budget_ceiling")
    after = client.get(f"/api/calls/{open_call['id']}").json()
    assert Decimal(after["storage_rate_per_tb"]) == Decimal("40.25") and after["title"] == now["title"]


def test_the_application_form_refuses_a_guess_by_the_field_and_keeps_the_input(client, people, open_call):
    h = people["applicant"]["h"]
    draft = client.post(f"/api/calls/{open_call['id']}/applications", json={}, headers=h).json()
    ok = draft_form(
        draft["version"], **{"budget-0-monthly_cost": "6 500,50", "budget-0-person_months": "1,5"}
    )
    r = client.post(f"/applications/{draft['id']}/edit", data=ok, headers=h)
    assert r.status_code in (200, 303), r.text
    stored = client.get(f"/api/applications/{draft['id']}", headers=h).json()
    line = stored["budget"][0]
    assert Decimal(line["monthly_cost"]) == Decimal("6500.50") and Decimal(line["person_months"]) == Decimal(
        "1.5"
    )
    bad = draft_form(stored["version"], **{"budget-0-monthly_cost": "6,500", "title": "Kept while refused"})
    r = client.post(f"/applications/{draft['id']}/edit", data=bad, headers=h)
    assert r.status_code == 422
    assert "6.5 or 6500" in error_by(r.text, "budget-0-monthly_cost")
    assert page_form(r.text)["budget-0-monthly_cost"] == ["6,500"]
    assert page_form(r.text)["title"] == ["Kept while refused"]
    assert client.get(f"/api/applications/{draft['id']}", headers=h).json()["version"] == stored["version"]
