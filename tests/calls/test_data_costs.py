"""Data plan → budget (issue #15): a call's rate per TB and whether it funds data costs; data-storage lines
(TB × the call's rate, exact decimals) beside employment lines; the plan step of the application (page and
API) that adds a plan's storage cost as a requested line or in kind; the eligibility rule that flags a
requested data-storage line where the call funds employment costs only, and the way out (move to in-kind)."""

from __future__ import annotations

import io
import math
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from lxml import html
from tests.support.calls import complete_draft

from halric.calls import rules
from halric.core.errors import InvalidInput

# BioMAX's EIGER X 16M from the registry: 4150 × 4371 pixels, 32 bit
BIOMAX_FRAME_BYTES = 4150 * 4371 * 4


def new_call(client, people, **extra) -> dict:
    today = date.today()
    body = {
        "slug": f"data-{uuid.uuid4().hex[:10]}",
        "title": "Pilot call with data costs", "opens_on": (today - timedelta(days=1)).isoformat(),
        "deadline": (today + timedelta(days=60)).isoformat(), "budget_ceiling": "60000.00", **extra,
    }  # fmt: skip
    r = client.post("/api/calls", json=body, headers=people["coordinator"]["h"])
    assert r.status_code == 201, r.text
    return r.json()


def new_app(client, people, call, instruments=("maxiv-biomax",)) -> dict:
    h = people["applicant"]["h"]
    app = client.post(f"/api/calls/{call['id']}/applications", json={"instruments": list(instruments)},
                      headers=h).json()  # fmt: skip
    r = client.put(f"/api/applications/{app['id']}", headers=h,
                   json=complete_draft(app["version"], instruments=list(instruments)))  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


def results(client, app_id, h) -> dict:
    return {
        r["id"]: r for r in client.get(f"/api/applications/{app_id}/eligibility", headers=h).json()["results"]
    }


STORAGE_LINE = {"organisation_id": "lu", "cost_type": "data-storage", "description": "Raw and processed data",
                "storage_tb": "12.345"}  # fmt: skip


# --- the call ------------------------------------------------------------------------------------------


def test_the_call_sets_the_rate_and_whether_data_costs_are_fundable(client, people):
    call = new_call(client, people, storage_rate_per_tb="40.00")
    assert call["storage_rate_per_tb"] == "40.00" and call["data_costs_fundable"] is False
    hc = people["coordinator"]["h"]
    body = {k: call[k] for k in ("slug", "title", "text", "opens_on", "deadline", "budget_ceiling", "currency",
                                 "duration_months")}  # fmt: skip
    r = client.put(f"/api/calls/{call['id']}", json={**body, "storage_rate_per_tb": "55.50", "data_costs_fundable": True},
                   headers=hc)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["storage_rate_per_tb"] == "55.50" and r.json()["data_costs_fundable"] is True
    assert client.get(f"/api/calls/{call['id']}").json()["storage_rate_per_tb"] == "55.50"
    # only coordinators change a call; a negative rate is refused by its field
    assert (
        client.put(f"/api/calls/{call['id']}", json=body, headers=people["applicant"]["h"]).status_code == 403
    )
    bad = client.put(f"/api/calls/{call['id']}", json={**body, "storage_rate_per_tb": "-1"}, headers=hc)
    assert bad.status_code == 422 and "storage_rate_per_tb" in bad.text
    # the call page says it in words
    page = client.get(f"/calls/{call['id']}").text
    assert "55.50 EUR per TB" in page and "it may be requested" in page


def test_the_call_form_edits_the_data_costs(client, people):
    call = new_call(client, people, storage_rate_per_tb="40.00")
    hc = people["coordinator"]["h"]
    form = client.get(f"/calls/{call['id']}/edit", headers=hc)
    doc = html.fromstring(form.text)
    assert doc.get_element_by_id("c-storage-rate").get("value") == "40.00"
    assert doc.get_element_by_id("c-data-fundable").get("checked") is None
    data = {"title": call["title"], "slug": call["slug"], "opens_on": call["opens_on"], "deadline": call["deadline"],
            "budget_ceiling": "60000.00", "currency": "EUR", "duration_months": "6", "storage_rate_per_tb": "1,032.50",
            "data_costs_fundable": "true"}  # fmt: skip
    r = client.post(f"/calls/{call['id']}/edit", data=data, headers=hc, follow_redirects=False)
    assert r.status_code == 303, r.text
    now = client.get(f"/api/calls/{call['id']}").json()
    assert now["storage_rate_per_tb"] == "1032.50" and now["data_costs_fundable"] is True
    # unticked and emptied: no rate, employment costs only
    r = client.post(f"/calls/{call['id']}/edit", data={**data, "storage_rate_per_tb": "", "data_costs_fundable": ""},
                    headers=hc, follow_redirects=False)  # fmt: skip
    now = client.get(f"/api/calls/{call['id']}").json()
    assert now["storage_rate_per_tb"] is None and now["data_costs_fundable"] is False
    bad = client.post(f"/calls/{call['id']}/edit", data={**data, "storage_rate_per_tb": "much"}, headers=hc)
    assert bad.status_code == 400 and "Data storage, rate per TB" in bad.text


# --- the budget line ------------------------------------------------------------------------------------


def test_a_data_storage_line_is_tb_times_the_calls_rate_exactly(client, people):
    call = new_call(client, people, storage_rate_per_tb="40.00", data_costs_fundable=True)
    h = people["applicant"]["h"]
    app = new_app(client, people, call)
    body = complete_draft(app["version"], instruments=["maxiv-biomax"])
    body["budget"].append(STORAGE_LINE)
    r = client.put(f"/api/applications/{app['id']}", json=body, headers=h)
    assert r.status_code == 200, r.text
    line = r.json()["budget"][2]
    assert (
        line["cost_type"] == "data-storage"
        and line["storage_tb"] == "12.345"
        and line["rate_per_tb"] == "40.00"
    )
    assert line["person_months"] is None and line["amount"] == "493.80"  # 12.345 × 40.00
    employment = Decimal("3.5") * Decimal("7000.10") + Decimal("1.25") * Decimal("5200.00")
    assert Decimal(r.json()["budget_total"]) == employment + Decimal("493.80")
    # the applicant cannot choose the rate: it is the call's
    forged = complete_draft(r.json()["version"], budget=[{**STORAGE_LINE, "rate_per_tb": "0.01"}])
    assert client.put(f"/api/applications/{app['id']}", json=forged, headers=h).status_code == 422
    # a data-storage line needs its terabytes, an employment line its person-months
    no_tb = complete_draft(r.json()["version"], budget=[{**STORAGE_LINE, "storage_tb": None}])
    r2 = client.put(f"/api/applications/{app['id']}", json=no_tb, headers=h)
    assert r2.status_code == 422 and "storage_tb" in r2.text and "terabytes" in r2.text
    no_pm = complete_draft(r.json()["version"], budget=[{"organisation_id": "lu", "monthly_cost": "5000"}])
    r2 = client.put(f"/api/applications/{app['id']}", json=no_pm, headers=h)
    assert r2.status_code == 422 and "person_months" in r2.text
    res = results(client, app["id"], h)
    assert (
        res["employment-only"]["status"] == "pass"
        and "which this call funds" in res["employment-only"]["reason"]
    )
    # the reviewer view and the PDF show quantity and rate
    view = client.get(f"/applications/{app['id']}", headers=h).text
    assert "12.345 TB" in view and "40.00 per TB" in view and "3.50 person-months" in view
    from pypdf import PdfReader

    pdf = client.get(f"/api/applications/{app['id']}/pdf", headers=h)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "12.345 TB" in text and "493.80" in text and "31,494.15" in text  # 31,000.35 + 493.80
    # KPIs count the requested amount like any other line once funded: the budget line is part of the total
    copy = client.post(f"/api/applications/{app['id']}/copy", headers=h).json()
    assert copy["budget"][2]["storage_tb"] == "12.345" and copy["budget_total"] == r.json()["budget_total"]


def test_no_data_storage_line_where_the_call_sets_no_rate(client, people, open_call):
    h = people["applicant"]["h"]
    app = new_app(client, people, open_call)
    body = complete_draft(app["version"], instruments=["maxiv-biomax"])
    body["budget"].append(STORAGE_LINE)
    r = client.put(f"/api/applications/{app['id']}", json=body, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "budget.2.cost_type"
    assert "sets no rate for data storage" in r.json()["detail"]
    # nothing was half-written: the stored draft still has its two employment lines
    stored = client.get(f"/api/applications/{app['id']}", headers=h).json()
    assert [b["cost_type"] for b in stored["budget"]] == ["employment", "employment"]


# --- the eligibility rule ------------------------------------------------------------------------------


def _facts(budget, fundable):
    return rules.Facts(
        title="t", lay_summary="l", research_question="q", work_plan="w", impact="i", data_management="d",
        duration_months=6, team=[], budget=budget, instruments=[], motivations={}, orgs={},
        budget_ceiling=Decimal("60000"), call_duration=6, data_costs_fundable=fundable, currency="SEK",
    )  # fmt: skip


def test_the_rule_flags_a_requested_storage_line_where_only_employment_is_funded():
    employment = {"line": 1, "organisation_id": "lu", "cost_type": "employment", "amount": Decimal("100.00")}
    storage = {"line": 2, "organisation_id": "maxiv", "cost_type": "data-storage", "amount": Decimal("1234.50"),
               "storage_tb": Decimal("24.690")}  # fmt: skip
    rule = next(r for r in rules.DEFAULT_RULES if r["id"] == "employment-only")
    ev = rules.evaluate(_facts([employment, storage], fundable=False), [rule])
    r = ev.results[0]
    assert r.status == "fail" and not ev.eligible
    assert "Budget line 2 requests 1,234.50 SEK for data storage for 24.690 TB" in r.reason
    assert "move it to the in-kind contributions" in r.reason and "remove it" in r.reason
    assert "Move line 2 to in-kind" in r.reason
    assert rules.evaluate(_facts([employment, storage], fundable=True), [rule]).results[0].status == "pass"
    assert rules.evaluate(_facts([employment], fundable=False), [rule]).results[0].status == "pass"
    # other kinds of cost stay refused even where data costs are funded, and both are said
    travel = {"line": 3, "organisation_id": "lu", "cost_type": "travel", "amount": Decimal("9.00")}
    both = rules.evaluate(_facts([storage, travel], fundable=False), [rule]).results[0]
    assert both.status == "fail" and "travel" in both.reason and "data storage" in both.reason
    assert rules.evaluate(_facts([storage, travel], fundable=True), [rule]).results[0].status == "fail"
    # the motivation mechanism applies where the call's rule allows it
    motivated = {**rule, "motivation_allowed": True}
    f = _facts([storage], fundable=False)
    assert rules.evaluate(f, [motivated]).results[0].status == "fail"
    f.motivations = {"employment-only": "The archive copy is required by the ethics approval."}
    out = rules.evaluate(f, [motivated]).results[0]
    assert out.status == "motivated" and "ethics approval" in out.reason


def test_moving_the_flagged_line_to_in_kind_makes_the_draft_eligible(client, people):
    call = new_call(client, people, storage_rate_per_tb="40.00")
    h = people["applicant"]["h"]
    app = new_app(client, people, call)
    body = complete_draft(app["version"], instruments=["maxiv-biomax"])
    body["budget"].append({**STORAGE_LINE, "organisation_id": "maxiv"})
    v = client.put(f"/api/applications/{app['id']}", json=body, headers=h).json()["version"]
    res = results(client, app["id"], h)
    assert res["employment-only"]["status"] == "fail" and "Budget line 3" in res["employment-only"]["reason"]
    assert client.post(f"/api/applications/{app['id']}/submit", headers=h).status_code == 400
    # the form's button by the line (the page saves the draft first, then moves the line)
    from tests.calls.test_forms import draft_form

    form = draft_form(v, **{"instruments": "maxiv-biomax", "budget-2-organisation_id": "maxiv",
                            "budget-2-cost_type": "data-storage", "budget-2-description": "Raw and processed data",
                            "budget-2-storage_tb": "12.345", "action": "inkind-2"})  # fmt: skip
    edit = client.get(f"/applications/{app['id']}/edit", headers=h).text
    assert (
        'value="inkind-2"' in edit
        and "Move line 3 to in-kind" in edit
        and 'name="budget-2-storage_tb"' in edit
    )
    r = client.post(f"/applications/{app['id']}/edit", data=form, headers=h, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?moved=1#in-kind")
    stored = client.get(f"/api/applications/{app['id']}", headers=h).json()
    assert [b["cost_type"] for b in stored["budget"]] == ["employment", "employment"]
    moved = stored["in_kind"][-1]
    assert moved == {"organisation_id": "maxiv", "description": "Raw and processed data (12.345 TB)",
                     "amount": "493.80"}  # fmt: skip
    res = results(client, app["id"], h)
    assert res["employment-only"]["status"] == "pass"
    assert all(r["status"] in ("pass", "motivated", "warn") for r in res.values())
    page = client.get(r.headers["location"], headers=h).text
    assert "moved to the in-kind contributions" in page
    assert client.post(f"/api/applications/{app['id']}/submit", headers=h).status_code == 200


# --- the plan step ---------------------------------------------------------------------------------------


def test_the_plan_api_prices_the_plan_at_the_calls_rate_and_adds_it(client, people, db):
    call = new_call(client, people, storage_rate_per_tb="40.00")
    h = people["applicant"]["h"]
    app = new_app(client, people, call, instruments=("maxiv-biomax", "maxiv-danmax"))
    url = f"/api/applications/{app['id']}/data-plan"
    r = client.post(
        url, json={"instrument": "maxiv-biomax", "frames": 3600, "samples": 10, "ratio": 1.0}, headers=h
    )
    assert r.status_code == 200, r.text
    p = r.json()
    raw = BIOMAX_FRAME_BYTES * 3600 * 10  # 2,612,109,600,000 bytes: 2.6121096 TB, rounded up to the GB
    assert p["plan"]["raw_bytes"] == raw and p["storage_tb"] == "2.613"
    assert p["amount"] == "104.52" and p["rate_per_tb"] == "40.00" and p["added"] is None  # 2.613 × 40.00
    # with the measured compression the same experiment needs less: whatever the plan says, rounded up
    r = client.post(url, json={"instrument": "maxiv-biomax", "frames": 3600, "samples": 10}, headers=h).json()
    assert (
        Decimal(r["storage_tb"])
        == Decimal(math.ceil(r["plan"]["compression"]["compressed_bytes"] / 1e9)) / 1000
    )
    assert Decimal(r["amount"]) == (Decimal(r["storage_tb"]) * Decimal("40.00")).quantize(Decimal("0.01"))
    # only the instruments the application requests; the registry's missing figures are named
    bad = client.post(url, json={"instrument": "maxiv-cosaxs", "frames": 10}, headers=h)
    assert bad.status_code == 400 and bad.json()["field"] == "instrument" and "BioMAX" in bad.json()["detail"]
    missing = client.post(url, json={"instrument": "maxiv-danmax", "frames": 10}, headers=h)
    assert missing.status_code == 400 and missing.json()["field"] in (
        "frame_pixels",
        "bit_depth",
        "frame_rate_hz",
    )
    # add it: in kind, then as a requested line (a new version each time)
    body = {"instrument": "maxiv-biomax", "frames": 3600, "samples": 10, "ratio": 1.0}
    added = client.post(url, json={**body, "add": "in-kind", "organisation_id": "maxiv"}, headers=h).json()[
        "added"
    ]
    assert added["as"] == "in-kind" and added["amount"] == "104.52" and "BioMAX" in added["description"]
    added = client.post(url, json={**body, "add": "requested", "organisation_id": "lu"}, headers=h).json()[
        "added"
    ]
    stored = client.get(f"/api/applications/{app['id']}", headers=h).json()
    assert stored["version"] == app["version"] + 2
    assert stored["in_kind"][-1]["amount"] == "104.52" and stored["in_kind"][-1]["organisation_id"] == "maxiv"
    line = stored["budget"][-1]
    assert (
        line["cost_type"] == "data-storage" and line["storage_tb"] == "2.613" and line["amount"] == "104.52"
    )
    assert results(client, app["id"], h)["employment-only"]["status"] == "fail"
    # refused: no organisation, an unknown one, someone else's application, a submitted one
    r = client.post(url, json={**body, "add": "in-kind"}, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "organisation_id"
    r = client.post(url, json={**body, "add": "in-kind", "organisation_id": "nowhere"}, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "organisation_id"
    assert client.post(url, json=body, headers=people["other"]["h"]).status_code == 404
    from sqlalchemy import select

    from halric.core.audit import AuditEvent

    with db.session() as s:
        entries = s.scalars(select(AuditEvent).where(AuditEvent.action == "add-data-storage",
                                                     AuditEvent.entity_id == str(app["id"]))).all()  # fmt: skip
        assert len(entries) == 2 and {e.details["as"] for e in entries} == {"in-kind", "requested"}


def test_no_cost_line_where_the_call_sets_no_rate(client, people, open_call):
    h = people["applicant"]["h"]
    app = new_app(client, people, open_call)
    url = f"/api/applications/{app['id']}/data-plan"
    body = {"instrument": "maxiv-biomax", "frames": 100}
    r = client.post(url, json=body, headers=h)
    assert r.status_code == 200 and r.json()["amount"] is None and Decimal(r.json()["storage_tb"]) > 0
    r = client.post(url, json={**body, "add": "in-kind", "organisation_id": "maxiv"}, headers=h)
    assert r.status_code == 409 and "sets no rate" in r.json()["detail"]
    page = client.get(f"/applications/{app['id']}/plan", params={"instrument": "maxiv-biomax", "frames": "100"},
                      headers=h)  # fmt: skip
    assert page.status_code == 200 and "sets no rate for data storage" in page.text
    assert "add-storage" not in page.text


def test_the_plan_page_from_the_form_to_the_budget(client, people):
    call = new_call(client, people, storage_rate_per_tb="40.00", data_costs_fundable=True)
    h = people["applicant"]["h"]
    app = new_app(client, people, call)
    # the form's button saves the draft and opens the plan step
    from tests.calls.test_forms import draft_form

    form = draft_form(app["version"], instruments="maxiv-biomax", title="Saved on the way", action="plan")
    r = client.post(f"/applications/{app['id']}/edit", data=form, headers=h, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/applications/{app['id']}/plan"
    assert client.get(f"/api/applications/{app['id']}", headers=h).json()["title"] == "Saved on the way"
    page = client.get(r.headers["location"], headers=h)
    assert page.status_code == 200 and 'id="plan-result"' not in page.text
    doc = html.fromstring(page.text)
    assert doc.xpath('//select[@id="plan-instrument"]/option[@selected]/@value') == ["maxiv-biomax"]
    params = {"instrument": "maxiv-biomax", "samples": "10", "frames": "3600", "link_gbps": "10"}
    page = client.get(f"/applications/{app['id']}/plan", params=params, headers=h)
    doc = html.fromstring(page.text)
    assert "TB" in doc.get_element_by_id("storage-tb").text_content()
    tb = doc.get_element_by_id("storage-tb").text_content().split(" TB")[0].strip()
    cost = doc.get_element_by_id("storage-cost").text_content()
    amount = (Decimal(tb) * Decimal("40.00")).quantize(Decimal("0.01"))
    assert f"{amount:,.2f} EUR" in cost and "40.00 EUR per TB" in cost
    assert doc.get_element_by_id("transfer-time").text_content().strip()
    add = doc.get_element_by_id("add-storage")
    hidden = {i.get("name"): i.get("value") for i in add.iter("input") if i.get("type") == "hidden"}
    assert hidden["frames"] == "3600" and hidden["instrument"] == "maxiv-biomax"
    assert add.xpath('.//input[@name="as"][@checked]/@value') == ["requested"]  # the call funds data costs
    assert add.xpath('.//select[@name="organisation_id"]/option[@selected]/@value') == ["maxiv"]
    # the amount is computed again from the plan: a forged TB or amount in the form changes nothing
    post = {**{k: v for k, v in hidden.items() if k != "csrf_token"}, "as": "requested", "organisation_id": "lu",
            "storage_tb": "0.001", "amount": "1.00"}  # fmt: skip
    r = client.post(f"/applications/{app['id']}/plan", data=post, headers=h, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("edit?storage=requested#budget")
    line = client.get(f"/api/applications/{app['id']}", headers=h).json()["budget"][-1]
    assert line["storage_tb"] == tb and line["amount"] == str(amount) and line["organisation_id"] == "lu"
    edit = client.get(r.headers["location"], headers=h).text
    assert "added as a requested budget line" in edit
    doc = html.fromstring(edit)
    assert doc.xpath('//input[@name="budget-2-storage_tb"]/@value') == [tb]
    # a choice left out is pointed out by its field, with the plan still shown
    r = client.post(f"/applications/{app['id']}/plan", data={**post, "as": ""}, headers=h)
    assert r.status_code == 400 and 'id="as-error"' in r.text and 'id="plan-result"' in r.text
    # missing detector figures are marked by their fields
    other = new_app(client, people, call, instruments=("maxiv-danmax",))
    r = client.get(f"/applications/{other['id']}/plan", params={"frames": "100"}, headers=h)
    assert r.status_code == 400 and "The registry has no" in r.text and 'aria-invalid="true"' in r.text
    # someone else's draft is not there; a submitted one goes to its page
    assert client.get(f"/applications/{app['id']}/plan", headers=people["other"]["h"]).status_code == 404


def test_storage_tb_rounds_up_to_the_next_gigabyte():
    from halric.web.routes.data_plan import storage_tb

    assert storage_tb(1.0) == Decimal("0.001")
    assert storage_tb(2_612_109_600_000.0) == Decimal("2.613")
    assert storage_tb(3e12) == Decimal("3.000")
    with pytest.raises(InvalidInput):
        storage_tb(float("nan"))
