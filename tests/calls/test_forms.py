"""The application and call pages as a person meets them (issue #14): input survives errors, messages by the
field in plain words, autosave answers, drafts, inline non-partner organisations, the PDF, reviewers."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from lxml import html
from sqlalchemy import select
from tests.support.calls import complete_draft

PARSER = html.HTMLParser(huge_tree=True)  # a page may carry back a 10 MB field
DEV_SPEAK = ("String should", "team.1", "budget.0", "Value error", "pattern", "Input should", "[object")


def page_form(text: str, form_id: str = "application-form") -> dict[str, list[str]]:
    """The values the page would send back, by input name (what the person sees in the fields)."""
    doc = html.fromstring(text, parser=PARSER)
    form = doc.get_element_by_id(form_id)
    out: dict[str, list[str]] = {}
    for el in form.iter("input", "textarea", "select"):
        name = el.get("name")
        if not name:
            continue
        if el.tag == "select":
            out.setdefault(name, []).extend(
                o.get("value", o.text_content()) for o in el.iter("option") if o.get("selected") is not None
            )
        elif el.tag == "textarea":
            out.setdefault(name, []).append(el.text or "")
        else:
            out.setdefault(name, []).append(el.get("value", ""))
    return out


def error_by(text: str, name: str) -> str:
    """The message shown next to the input ``name`` (and the input points at it)."""
    doc = html.fromstring(text, parser=PARSER)
    field = doc.xpath(f'//*[@name="{name}"]')[0]
    assert field.get("aria-invalid") == "true", f"{name} is not marked invalid"
    note = doc.get_element_by_id(f"err-{name}")
    assert field.get("aria-describedby") == f"err-{name}"
    return note.text_content()


def draft_form(version: int, **overrides: str) -> dict[str, str]:
    body = complete_draft(version)
    data = {k: str(body[k]) for k in ("title", "lay_summary", "research_question", "work_plan", "timeline",
                                      "duration_months", "impact", "data_management")}  # fmt: skip
    data["version"] = str(version)
    data["instruments"] = body["instruments"][0]
    for n, m in enumerate(body["team"]):
        data.update({f"team-{n}-{k}": v for k, v in m.items()})
    for n, b in enumerate(body["budget"]):
        data.update({f"budget-{n}-{k}": v for k, v in b.items()})
    data.update({"team-2-name": "", "budget-2-cost_type": "employment", "budget-2-person_months": ""})
    data.update(overrides)
    return data


@pytest.fixture()
def draft(client, people, open_call):
    h = people["applicant"]["h"]
    app = client.post(f"/api/calls/{open_call['id']}/applications", json={}, headers=h).json()
    return app


def test_autosave_answers_json_and_the_panel_matches_the_page(client, people, draft):
    """Item 1: the form's action attribute accepts the autosave; the answer carries every rule of the panel."""
    h = people["applicant"]["h"]
    edit = client.get(f"/applications/{draft['id']}/edit", headers=h)
    doc = html.fromstring(edit.text)
    form = doc.get_element_by_id("application-form")
    assert form.get("action") == f"/applications/{draft['id']}/edit"
    r = client.post(form.get("action"), data=draft_form(draft["version"]), headers={**h, "X-Autosave": "1"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == draft["version"] + 1 and body["eligible"] is True
    assert {x["id"] for x in body["results"]} == set(doc.xpath("//aside//li[@data-rule]/@data-rule"))
    assert doc.xpath("//li[@data-rule]//*[@data-reason]") and doc.xpath("//*[@data-eligible]")
    # an invalid autosave says what is wrong by the input name, in words
    bad = draft_form(body["version"], **{"budget-0-person_months": "-2"})
    r = client.post(form.get("action"), data=bad, headers={**h, "X-Autosave": "1"})
    assert r.status_code == 422
    assert (
        "budget-0-person_months" in r.json()["errors"]
        and "negative" in r.json()["errors"]["budget-0-person_months"]
    )
    js = (client.get("/static/autosave.js")).text
    assert 'getAttribute("action")' in js and "fetch(form.action" not in js


def test_an_invalid_draft_comes_back_with_everything_typed_and_errors_by_the_field(client, people, draft, db):
    """Item 2 and 8: negative person-months, a missing sector and an empty organisation."""
    h = people["applicant"]["h"]
    data = draft_form(draft["version"], **{
        "title": "Humidity and tablets", "budget-0-person_months": "-3", "team-1-sector": "",
        "team-1-organisation_id": "", "work_plan": "Diffraction during humidity cycles, 10–90 % RH."})  # fmt: skip
    r = client.post(f"/applications/{draft['id']}/edit", data=data, headers=h)
    assert r.status_code == 422
    sent_back = page_form(r.text)
    for k, v in data.items():
        if k not in ("version",) and v:
            assert sent_back.get(k) and v in sent_back[k][0], f"{k} lost: {sent_back.get(k)}"
    assert "negative" in error_by(r.text, "budget-0-person_months")
    assert "sector" in error_by(r.text, "team-1-sector").lower()
    assert "organisation" in error_by(r.text, "team-1-organisation_id").lower()
    summary = html.fromstring(r.text).get_element_by_id("form-error").text_content()
    assert "Team member 2" in summary and "Budget line 1" in summary
    assert not any(x in r.text for x in DEV_SPEAK)
    # nothing was half-written: the stored draft is untouched
    assert client.get(f"/api/applications/{draft['id']}", headers=h).json()["version"] == draft["version"]
    # a field far over its limit is refused by the field, and the rest of the input is still there (the page's
    # textareas carry maxlength, so a browser does not send more; bodies over 1 MiB are refused by the hub)
    assert html.fromstring(r.text).get_element_by_id("lay_summary").get("maxlength") == "5000"
    huge = draft_form(draft["version"], lay_summary="x" * 900_000)
    r = client.post(f"/applications/{draft['id']}/edit", data=huge, headers=h)
    assert r.status_code == 422 and "at most 100,000 characters" in error_by(r.text, "lay_summary")
    assert page_form(r.text)["work_plan"][0] == huge["work_plan"]


def test_a_non_partner_organisation_is_named_inline_and_never_funded(client, people, draft, db):
    """Item 5: a company added from the form, audited, flagged as not a partner; eligibility says why."""
    from halric.core.audit import AuditEvent
    from halric.registry.models import Organisation

    h = people["applicant"]["h"]
    bad = draft_form(draft["version"], **{"neworg-name": "Acme Tablets AB", "neworg-country": "se",
                                          "neworg-kind": "sme", "neworg-ror": "ror.org/banana"})  # fmt: skip
    r = client.post(f"/applications/{draft['id']}/edit", data=bad, headers=h)
    assert r.status_code == 422 and "ror.org/0" in error_by(r.text, "neworg-ror")
    assert page_form(r.text)["neworg-name"] == ["Acme Tablets AB"]
    good = {**bad, "neworg-ror": ""}
    r = client.post(f"/applications/{draft['id']}/edit", data=good, headers=h, follow_redirects=False)
    assert r.status_code == 303 and "added=acme-tablets-ab" in r.headers["location"]
    with db.session() as s:
        org = s.get(Organisation, "acme-tablets-ab")
        assert org.name == "Acme Tablets AB" and org.country == "SE" and org.kind == "sme"
        assert not org.partner and not org.funding_eligible
        assert s.scalar(select(AuditEvent).where(AuditEvent.entity_type == "organisation",
                                                 AuditEvent.entity_id == "acme-tablets-ab"))  # fmt: skip
    edit = client.get(r.headers["location"], headers=h)
    assert "Acme Tablets AB is now in the organisation lists" in edit.text
    assert re.search(r'<option value="acme-tablets-ab"\s*>Acme Tablets AB \(SE\) · not a partner', edit.text)
    # the company in the team and asking for money: eligibility explains that it cannot be funded
    v = int(page_form(edit.text)["version"][0])
    data = draft_form(v, **{"team-2-name": "Cy Company", "team-2-organisation_id": "acme-tablets-ab",
                            "team-2-country": "SE", "team-2-sector": "industry",
                            "budget-2-organisation_id": "acme-tablets-ab", "budget-2-person_months": "1",
                            "budget-2-monthly_cost": "5000"})  # fmt: skip
    r = client.post(f"/applications/{draft['id']}/edit", data=data, headers=h)
    assert r.status_code == 200
    rules = {
        x["id"]: x
        for x in client.get(f"/api/applications/{draft['id']}/eligibility", headers=h).json()["results"]
    }
    assert (
        rules["eligible-orgs"]["status"] == "fail" and "Acme Tablets AB" in rules["eligible-orgs"]["reason"]
    )
    assert rules["industry-clinic"]["status"] == "pass"
    # the same name again reuses the organisation (no duplicates)
    again = draft_form(int(page_form(client.get(f"/applications/{draft['id']}/edit", headers=h).text)["version"][0]),
                       **{"neworg-name": "acme tablets ab", "neworg-country": "SE", "neworg-kind": "company"})  # fmt: skip
    client.post(f"/applications/{draft['id']}/edit", data=again, headers=h)
    with db.session() as s:
        assert s.scalar(select(Organisation).where(Organisation.id == "acme-tablets-ab-2")) is None


@pytest.mark.skipif(
    shutil.which("node") is None, reason="Node.js runs the browser's regular-expression check"
)
def test_add_organisation_page_pattern_is_valid_in_chromium_and_linked_from_the_form(client, people, draft):
    """Item 5: the short-id pattern compiles with the `v` flag Chromium uses for `pattern`."""
    h = people["applicant"]["h"]
    page = client.get("/registry/organisations/new", headers=h)
    pattern = html.fromstring(page.text).get_element_by_id("org-id").get("pattern")
    js = (f"const re = new RegExp('^(?:' + {json.dumps(pattern)} + ')$', 'v');"
          "console.log(re.test('acme-pharma'), re.test('Acme Pharma'));")  # fmt: skip
    out = subprocess.run(["node", "-e", js], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["true", "false"]
    edit = client.get(f"/applications/{draft['id']}/edit", headers=h)
    assert f'href="/registry/organisations/new?back=/applications/{draft["id"]}/edit"' in edit.text


def test_drafts_are_deleted_by_their_owner_only_after_confirming(client, people, draft, db):
    """Item 6."""
    from halric.calls.models import Application
    from halric.core.audit import AuditEvent

    h = people["applicant"]["h"]
    assert client.get(f"/applications/{draft['id']}/delete", headers=people["other"]["h"]).status_code == 404
    confirm = client.get(f"/applications/{draft['id']}/delete", headers=h)
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    assert client.post(f"/applications/{draft['id']}/delete", headers=people["other"]["h"]).status_code == 404
    r = client.post(f"/applications/{draft['id']}/delete", headers=h, follow_redirects=False)
    assert r.status_code == 303
    assert "Your draft was deleted." in client.get(r.headers["location"], headers=h).text
    with db.session() as s:
        assert s.get(Application, draft["id"]) is None
        ev = s.scalar(select(AuditEvent).where(AuditEvent.entity_type == "application", AuditEvent.action == "delete",
                                               AuditEvent.entity_id == str(draft["id"])))  # fmt: skip
        assert ev is not None
    # a submitted application cannot be deleted
    other = client.post(f"/api/calls/{draft['call_id']}/applications", json={}, headers=h).json()
    client.put(f"/api/applications/{other['id']}", json=complete_draft(other["version"]), headers=h)
    assert client.post(f"/api/applications/{other['id']}/submit", headers=h).status_code == 200
    assert client.post(f"/applications/{other['id']}/delete", headers=h).status_code == 409


def test_pdf_carries_every_word_of_long_fields(client, people, draft):
    """Item 4: long paragraphs and a 60-letter word all reach the page (wrapped, not cut)."""
    from pypdf import PdfReader

    h = people["applicant"]["h"]
    long_word = "Pneumonoultramicroscopicsilicovolcanoconiosisandmoreletters60"
    texts = {
        "lay_summary": " ".join(f"Lay{n} summary words about humidity and tablets" for n in range(40)),
        "research_question": "Which polymorph forms first " + long_word + " and how fast at 75 % RH?",
        "work_plan": " ".join(
            f"Step{n}: SAXS and WAXS at DanMAX with in-situ humidity control." for n in range(60)
        ),
        "impact": "We shorten stability studies " * 30,
        "data_management": "Raw data stay at MAX IV; processed data go to the HALRIC catalog. " * 25,
    }
    client.put(f"/api/applications/{draft['id']}", json=complete_draft(draft["version"], **texts), headers=h)
    pdf = client.get(f"/applications/{draft['id']}/pdf", headers=h)
    reader = PdfReader(io.BytesIO(pdf.content))
    text = " ".join(p.extract_text() for p in reader.pages)
    words = text.split()
    flat = "".join(words)
    for key, value in texts.items():
        for w in set(value.split()):
            assert w in words or w in flat, f"{key}: {w!r} missing from the PDF"
    assert long_word in flat
    width = float(reader.pages[0].mediabox.width)
    for page in reader.pages:  # nothing placed beyond the right edge
        xs = []
        page.extract_text(
            visitor_text=lambda t, cm, tm, fd, fs, xs=xs: xs.append(tm[4]) if t.strip() else None
        )
        assert xs and max(xs) < width - 20


def test_calls_are_edited_and_closed_and_dates_are_checked_by_the_field(client, people, open_call):
    """Item 7 and 8: edit and close a call; a deadline before the opening date is an error by that field."""
    hc = people["coordinator"]["h"]
    page = client.get(f"/calls/{open_call['id']}", headers=hc)
    assert (
        f'href="/calls/{open_call["id"]}/edit"' in page.text
        and f'href="/calls/{open_call["id"]}/ranking"' in page.text
    )
    form = page_form(client.get(f"/calls/{open_call['id']}/edit", headers=hc).text, "call-form")
    values = {k: v[0] for k, v in form.items() if k != "csrf_token"}
    today = date.today()
    bad = {**values, "title": "Renamed pilot call", "deadline": (today - timedelta(days=30)).isoformat()}
    r = client.post(f"/calls/{open_call['id']}/edit", data=bad, headers=hc)
    assert r.status_code == 400 and "before the opening date" in error_by(r.text, "deadline")
    assert page_form(r.text, "call-form")["title"] == ["Renamed pilot call"]
    bad_slug = {**values, "slug": "Pilot Call!"}
    r = client.post(f"/calls/{open_call['id']}/edit", data=bad_slug, headers=hc)
    assert "lower-case letters" in error_by(r.text, "slug") and not any(x in r.text for x in DEV_SPEAK)
    r = client.post(
        f"/calls/{open_call['id']}/edit", data={**values, "title": "Renamed pilot call"}, headers=hc
    )
    assert r.status_code == 200 and "The call was saved." in r.text and "Renamed pilot call" in r.text
    new = client.post("/calls/new", data={"title": "Autumn call", "slug": "autumn call", "opens_on": "2027-01-10",
                                          "deadline": "2027-01-01", "budget_ceiling": "abc"}, headers=hc)  # fmt: skip
    assert new.status_code == 400
    assert "lower-case" in error_by(new.text, "slug") and "number" in error_by(new.text, "budget_ceiling")
    assert page_form(new.text, "call-form")["title"] == ["Autumn call"]
    # closing: no new drafts; reopening
    r = client.post(f"/calls/{open_call['id']}/close", headers=hc)
    assert "The call is closed" in r.text
    start = client.post(f"/api/calls/{open_call['id']}/applications", json={}, headers=people["other"]["h"])
    assert start.status_code == 409
    r = client.post(f"/calls/{open_call['id']}/close", data={"reopen": "1"}, headers=hc)
    assert "The call is open again." in r.text
    assert client.post(f"/calls/{open_call['id']}/close", headers=people["applicant"]["h"]).status_code == 403


def test_review_decision_and_follow_up_pages(client, people, open_call, make_user, db):
    """Item 7: verbs on buttons, messages that say what happened, reviewers assigned, reviews rendered,
    no default scores, names instead of ids, a conflicted member told why; errors keep the input."""
    from tests.support.accounts import bearer

    ha, hc = people["applicant"]["h"], people["coordinator"]["h"]
    app = client.post(f"/api/calls/{open_call['id']}/applications", json={}, headers=ha).json()
    aid = app["id"]
    client.put(f"/api/applications/{aid}", json=complete_draft(app["version"]), headers=ha)
    draft_view = client.get(f"/applications/{aid}", headers=ha)
    assert ">Submitted<" not in draft_view.text and "Edit and submit" in draft_view.text
    assert (
        client.post(
            f"/api/applications/{aid}/transition", json={"target": "submitted"}, headers=ha
        ).status_code
        == 409
    )
    r = client.post(
        f"/applications/{aid}/edit", data={**draft_form(app["version"] + 1), "action": "submit"}, headers=ha
    )
    assert "Your application was submitted" in r.text
    r = client.post(
        f"/applications/{aid}/action", data={"do": "transition", "target": "feasibility"}, headers=hc
    )
    assert "moved to “Feasibility review”" in r.text
    assert "Send to the committee" in r.text  # the next button is a verb
    client.post(f"/api/applications/{aid}/feasibility", json={"infrastructure_id": "maxiv", "verdict": "feasible"},
                headers=people["maxiv_staff"]["h"])  # fmt: skip
    # a reviewer (role "reviewer") is assigned by the coordinator and can then score
    rev = make_user(["reviewer"], prefix="rev", organisation="dtu")
    hr = bearer(db, rev)
    assert client.get(f"/applications/{aid}", headers=hr).status_code == 404
    with db.session() as s:
        from halric.accounts.models import User

        rev_id = s.scalar(select(User.id).where(User.username == rev))
    r = client.post(f"/applications/{aid}/action", data={"do": "assign", "reviewer": str(rev_id)}, headers=hc)
    assert "The reviewer was assigned" in r.text and rev in r.text
    conflicted = make_user(["reviewer"], prefix="rev", organisation="lu")
    with db.session() as s:
        cid = s.scalar(select(User.id).where(User.username == conflicted))
    r = client.post(f"/applications/{aid}/action", data={"do": "assign", "reviewer": str(cid)}, headers=hc)
    assert r.status_code == 409 and "conflict of interest" in error_by(r.text, "reviewer")
    client.post(f"/applications/{aid}/action", data={"do": "transition", "target": "committee"}, headers=hc)
    form = client.get(f"/applications/{aid}", headers=hr)
    doc = html.fromstring(form.text)
    selects = doc.xpath('//form[@id="review-form"]//select')
    assert len(selects) == 3 and all(sel.get("required") is not None for sel in selects)
    assert all(not sel.xpath("option[@selected]") for sel in selects)  # no score is given for the reviewer
    missing = client.post(f"/applications/{aid}/action", data={"do": "review", "score-excellence": "4",
                                                               "comments": "Strong design."}, headers=hr)  # fmt: skip
    assert missing.status_code == 400 and "1 (poor) to 5" in error_by(missing.text, "score-impact")
    assert page_form(missing.text, "review-form")["comments"] == ["Strong design."]
    assert page_form(missing.text, "review-form")["score-excellence"] == ["4"]
    r = client.post(f"/applications/{aid}/action", data={"do": "review", "score-excellence": "4", "score-impact": "5",
                                                         "score-collaboration": "3", "comments": "Strong design."},
                    headers=hr)  # fmt: skip
    assert "Your review was saved." in r.text
    # the conflicted committee member (Lund University is in the team) is told why, not "no application"
    excluded = client.get(f"/applications/{aid}", headers=people["member_lu"]["h"])
    assert excluded.status_code == 403 and "conflict of interest" in excluded.text
    assert "No application with id" not in excluded.text
    # the coordinator sees reviews as a table with the criteria, names instead of organisation ids
    coord = client.get(f"/applications/{aid}", headers=hc)
    reviews = html.fromstring(coord.text).get_element_by_id("reviews").text_content()
    assert (
        "Scientific and technical quality" in reviews and "{" not in reviews and "weighted score" in reviews
    )
    team = coord.text.split("<h2>Team</h2>")[1].split("</table>")[0]
    assert "Lund University" in team and ">lu<" not in team
    assert f'href="/calls/{open_call["id"]}/ranking"' in coord.text
    short = client.post(f"/applications/{aid}/action", data={"do": "decide", "outcome": "approved",
                                                             "letter": "Approved."}, headers=hc)  # fmt: skip
    assert short.status_code == 400 and "20 characters" in error_by(short.text, "letter")
    assert page_form(short.text, "decision-form")["letter"] == ["Approved."]
    huge = client.post(f"/applications/{aid}/action", data={"do": "decide", "outcome": "approved",
                                                            "letter": "Dear applicants " * 20_000}, headers=hc)  # fmt: skip
    assert huge.status_code == 400 and "at most 20,000 characters" in error_by(huge.text, "letter")
    r = client.post(f"/applications/{aid}/action", data={"do": "decide", "outcome": "approved",
                                                         "letter": "Dear applicants, the committee approves your pilot."},
                    headers=hc)  # fmt: skip
    assert "The decision was recorded" in r.text
    r = client.post(f"/applications/{aid}/action", data={"do": "start", "started_on": "2027-02-30",
                                                         "ends_on": "2027-07-01"}, headers=hc)  # fmt: skip
    assert r.status_code == 400 and "YYYY-MM-DD" in error_by(r.text, "started_on")
    client.post(f"/applications/{aid}/action", data={"do": "start", "started_on": "2027-02-01", "ends_on": "2027-07-01"},
                headers=hc)  # fmt: skip
    bad = client.post(f"/applications/{aid}/action", data={"do": "followup", "milestone": "Beamtime at DanMAX",
                                                           "claim_organisation": "lu", "claim_amount": "lots"},
                      headers=ha)  # fmt: skip
    assert bad.status_code == 400 and "number" in error_by(bad.text, "claim_amount")
    assert page_form(bad.text, "followup-form")["milestone"] == ["Beamtime at DanMAX"]
    ok = client.post(f"/applications/{aid}/action", data={"do": "followup", "claim_organisation": "lu",
                                                          "claim_amount": "1200.50"}, headers=ha)  # fmt: skip
    assert "The follow-up was saved." in ok.text and "Lund University 1200.50" in ok.text
    final = html.fromstring(ok.text).get_element_by_id("final-report-form")
    assert all(not sel.xpath("option[@selected]") for sel in final.iter("select"))
    r = client.post(f"/applications/{aid}/action", data={"do": "final-report", "summary": "Done.", "results": "Form II.",
                                                         "infrastructure_experience": "Good.", "next_steps": "More.",
                                                         "sat-overall": "5"}, headers=ha)  # fmt: skip
    assert r.status_code == 400 and "1 (poor) to 5" in error_by(r.text, "sat-support")
    assert page_form(r.text, "final-report-form")["results"] == ["Form II."]
    assert not any(x in r.text for x in DEV_SPEAK)


def test_the_form_has_labels_no_inline_code_and_pickers_without_abstract_classes(client, people, draft):
    """Item 12: every field has a visible label; only the hub's own scripts; abstract PaNET classes hidden."""
    h = people["applicant"]["h"]
    for url, form_id in (
        (f"/applications/{draft['id']}/edit", "application-form"),
        ("/account/expertise", None),
    ):
        text = client.get(url, headers=h).text
        doc = html.fromstring(text)
        scope = doc.get_element_by_id(form_id) if form_id else doc.xpath("//main//form")[0]
        for el in scope.iter("input", "select", "textarea"):
            if el.get("type") in ("hidden", "checkbox", "submit"):
                continue
            assert el.get("id") and doc.xpath(f'//label[@for="{el.get("id")}"]'), (
                f"{el.get('name')} has no label"
            )
        assert not doc.xpath("//*[@style]") and not doc.xpath("//script[not(@src)]")
        assert doc.xpath('//script[@src="/static/picker.js"]') and doc.xpath(
            "//select[@multiple][@data-picker]"
        )
    techniques = html.fromstring(client.get("/account/expertise", headers=h).text).xpath(
        '//select[@id="techniques"]/option'
    )
    labels = {o.text_content() for o in techniques}
    assert "small angle scattering" in labels
    assert not labels & {"probe", "purpose", "photon", "defined by experimental probe", "versus energy"}
    assert 300 < len(labels) < 556
