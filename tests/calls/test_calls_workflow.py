"""One application from draft to closed across every role, with the rules that guard each step."""

from __future__ import annotations

import io
from decimal import Decimal

from sqlalchemy import select
from tests.support.calls import complete_draft


def test_only_coordinators_create_calls(client, people, open_call):
    r = client.post("/api/calls", json={"slug": "x-call", "title": "X", "opens_on": "2026-01-01",
                                        "deadline": "2027-01-01", "budget_ceiling": "1"},
                    headers=people["applicant"]["h"])  # fmt: skip
    assert r.status_code == 403
    r = client.post("/api/calls", json={"slug": "y-call", "title": "Y call", "opens_on": "2026-01-01",
                                        "budget_ceiling": "1"}, headers=people["coordinator"]["h"])  # fmt: skip
    assert r.status_code == 400 and r.json()["field"] == "deadline"
    bad_rule = {"slug": "z-call", "title": "Z call", "opens_on": "2026-01-01", "deadline": "2027-01-01",
                "budget_ceiling": "1", "rules": [{"id": "a", "kind": "astrology"}]}  # fmt: skip
    r = client.post("/api/calls", json=bad_rule, headers=people["coordinator"]["h"])
    assert r.status_code == 400 and "astrology" in r.json()["detail"]


def test_draft_version_check_and_exact_budget(client, people, open_call):
    h = people["applicant"]["h"]
    app = client.post(f"/api/calls/{open_call['id']}/applications", json={"instruments": ["maxiv-danmax"],
                                                                           "question": "Which polymorph?"},
                      headers=h).json()  # fmt: skip
    assert (
        app["state"] == "draft"
        and app["instruments"] == ["maxiv-danmax"]
        and app["research_question"] == "Which polymorph?"
    )
    v1 = app["version"]
    first = client.put(f"/api/applications/{app['id']}", json=complete_draft(v1), headers=h)
    assert first.status_code == 200
    assert Decimal(first.json()["budget_total"]) == Decimal("3.5") * Decimal("7000.10") + Decimal(
        "1.25"
    ) * Decimal("5200.00")
    # a second writer still holding the old version is told, and nothing is overwritten
    stale = client.put(
        f"/api/applications/{app['id']}", json=complete_draft(v1, title="Stale title"), headers=h
    )
    assert stale.status_code == 409 and stale.json()["field"] == "version"
    assert client.get(f"/api/applications/{app['id']}", headers=h).json()["title"] != "Stale title"
    # other applicants cannot see or edit it (404, not 403: existence is not revealed)
    assert client.get(f"/api/applications/{app['id']}", headers=people["other"]["h"]).status_code == 404
    bad_org = complete_draft(first.json()["version"], team=[{"name": "Xi Yu", "organisation_id": "nowhere", "country": "SE",
                                                            "sector": "academia"}])  # fmt: skip
    r = client.put(f"/api/applications/{app['id']}", json=bad_org, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "team.0.organisation_id"


def rules_of(client, app_id, h):
    return {
        r["id"]: r for r in client.get(f"/api/applications/{app_id}/eligibility", headers=h).json()["results"]
    }


def test_eligibility_rules_explain_themselves(client, people, open_call):
    h = people["applicant"]["h"]
    app = client.post(f"/api/calls/{open_call['id']}/applications", json={}, headers=h).json()
    res = rules_of(client, app["id"], h)
    assert res["complete"]["status"] == "fail" and "title" in res["complete"]["reason"]
    assert res["infrastructure"]["status"] == "fail"
    draft = complete_draft(app["version"], team=[{"name": "Ann A", "organisation_id": "lu", "country": "SE", "sector": "academia"}],
                           budget=[{"organisation_id": "sdu", "cost_type": "employment", "person_months": "1", "monthly_cost": "1"},
                                   {"organisation_id": "lu", "cost_type": "travel", "person_months": "1", "monthly_cost": "99999"}])  # fmt: skip
    v = client.put(f"/api/applications/{app['id']}", json=draft, headers=h).json()["version"]
    res = rules_of(client, app["id"], h)
    assert (
        res["eligible-orgs"]["status"] == "fail"
        and "University of Southern Denmark" in res["eligible-orgs"]["reason"]
    )
    assert res["employment-only"]["status"] == "fail" and "travel" in res["employment-only"]["reason"]
    assert res["cross-border"]["status"] == "fail" and "motivation" in res["cross-border"]["reason"]
    assert res["ceiling"]["status"] == "fail"
    assert res["industry-clinic"]["status"] == "warn"
    r = client.post(f"/api/applications/{app['id']}/submit", headers=h)
    assert r.status_code == 400 and "Not yet eligible" in r.json()["detail"]
    motivated = complete_draft(v, team=[{"name": "Ann A", "organisation_id": "lu", "country": "SE", "sector": "industry"}],
                               motivations={"cross-border": "The Danish partner joins in month 2."})  # fmt: skip
    client.put(f"/api/applications/{app['id']}", json=motivated, headers=h)
    res = rules_of(client, app["id"], h)
    assert res["cross-border"]["status"] == "motivated" and res["industry-clinic"]["status"] == "pass"
    assert all(r["status"] in ("pass", "motivated") for r in res.values())


def test_full_journey_draft_to_closed(client, people, open_call, db):
    from halric.calls.models import OutboxMessage

    ha, hc = people["applicant"]["h"], people["coordinator"]["h"]
    app = client.post(
        f"/api/calls/{open_call['id']}/applications", json={"instruments": ["maxiv-danmax"]}, headers=ha
    ).json()
    aid = app["id"]
    client.put(f"/api/applications/{aid}", json=complete_draft(app["version"]), headers=ha)
    # ambassador invited by e-mail (the address of their account: only that account may accept), accepts, comments
    amb_email = f"{people['ambassador']['name']}@example.org"
    inv = client.post(
        f"/api/applications/{aid}/invitations",
        json={"email": amb_email, "kind": "ambassador"},
        headers=ha,
    )
    assert inv.status_code == 201
    with db.session() as s:
        mail = s.scalars(select(OutboxMessage).where(OutboxMessage.to == amb_email)).all()[-1]
        token = mail.body.split("/calls/invitations/")[1].split()[0]
    assert (
        client.post(f"/api/invitations/{token}/accept", headers=people["ambassador"]["h"]).status_code == 200
    )
    assert client.post(f"/api/applications/{aid}/comments", json={"text": "Mention the humidity range."},
                       headers=people["ambassador"]["h"]).status_code == 201  # fmt: skip
    # submit → automatic eligibility check; the coordinator now sees it
    sub = client.post(f"/api/applications/{aid}/submit", headers=ha)
    assert sub.status_code == 200 and sub.json()["state"] == "eligibility"
    assert sub.json()["cutoff"] == open_call["cutoffs"][0]
    with db.session() as s:
        assert any("Submitted" in m.subject for m in s.scalars(select(OutboxMessage)))
    # drafts cannot be edited after submission; illegal jumps are refused
    assert client.put(f"/api/applications/{aid}", json=complete_draft(99), headers=ha).status_code == 409
    jump = client.post(f"/api/applications/{aid}/transition", json={"target": "approved"}, headers=hc)
    assert jump.status_code == 409
    assert (
        client.post(
            f"/api/applications/{aid}/transition", json={"target": "feasibility"}, headers=ha
        ).status_code
        == 409
    )
    assert (
        client.post(
            f"/api/applications/{aid}/transition", json={"target": "feasibility"}, headers=hc
        ).status_code
        == 200
    )
    # feasibility: only MAX IV staff for the MAX IV beamline
    body = {"infrastructure_id": "maxiv", "verdict": "conditions", "comments": "Needs a humidity cell."}
    assert client.post(
        f"/api/applications/{aid}/feasibility", json=body, headers=people["desy_staff"]["h"]
    ).status_code in (403, 404)
    early = client.post(f"/api/applications/{aid}/transition", json={"target": "committee"}, headers=hc)
    assert early.status_code == 409 and "maxiv" in early.json()["detail"]
    assert (
        client.post(
            f"/api/applications/{aid}/feasibility", json=body, headers=people["maxiv_staff"]["h"]
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/applications/{aid}/transition", json={"target": "committee"}, headers=hc
        ).status_code
        == 200
    )
    # committee: the Lund member is in conflict automatically (Lund University is in the team)
    scores = {"excellence": 4, "impact": 5, "collaboration": 3}
    r = client.post(
        f"/api/applications/{aid}/review", json={"scores": scores}, headers=people["member_lu"]["h"]
    )
    assert r.status_code == 409 and "conflict" in r.json()["detail"]
    r = client.post(
        f"/api/applications/{aid}/review",
        json={"scores": scores, "comments": "Strong."},
        headers=people["member_dtu"]["h"],
    )
    assert r.status_code == 200 and r.json()["conflict"] is False
    bad = client.post(
        f"/api/applications/{aid}/review",
        json={"scores": {"excellence": 9}},
        headers=people["member_dtu"]["h"],
    )
    assert bad.status_code == 422
    ranking = client.get(f"/api/calls/{open_call['id']}/ranking", headers=hc).json()
    mine = next(x for x in ranking if x["application_id"] == aid)
    assert mine["mean"] == "4.20" and mine["reviews"] == 1 and mine["conflicts"] >= 1
    from halric.accounts.models import User
    from halric.calls.models import CommitteeReview

    with db.session() as s:
        lu_id = s.scalar(select(User.id).where(User.username == people["member_lu"]["name"]))
        row = s.scalar(
            select(CommitteeReview).where(
                CommitteeReview.application_id == aid, CommitteeReview.member_id == lu_id
            )
        )
        assert row.conflict and "lu" in row.conflict_reason and row.scores == {}
    # the applicant never sees who reviewed
    seen = client.get(f"/applications/{aid}", headers=ha)
    assert people["member_dtu"]["name"] not in seen.text and people["maxiv_staff"]["name"] not in seen.text
    # decision with a letter
    short = client.post(
        f"/api/applications/{aid}/decision", json={"outcome": "approved", "letter": "ok"}, headers=hc
    )
    assert short.status_code == 400 and short.json()["field"] == "letter"
    d = client.post(
        f"/api/applications/{aid}/decision",
        json={"outcome": "approved", "letter": "Dear applicants, your pilot is approved."},
        headers=hc,
    )
    assert d.status_code == 200
    # follow-up
    p = client.post(
        f"/api/applications/{aid}/project",
        json={"started_on": "2027-01-01", "ends_on": "2027-06-30"},
        headers=hc,
    )
    assert p.status_code == 201
    upd = client.patch(f"/api/applications/{aid}/project", headers=ha, json={
        "milestones": [{"title": "Beamtime", "due": "2027-03-01"}],
        "publications": [{"title": "Humidity-induced transitions"}],
        "cost_claims": [{"organisation_id": "lu", "amount": "10000.00"}]})  # fmt: skip
    assert upd.status_code == 200
    assert client.patch(f"/api/applications/{aid}/project", headers=ha, json={"budget": 1}).status_code == 400
    # datasets are no longer a typed list: they land in the project through its proposal id
    old_list = client.patch(
        f"/api/applications/{aid}/project", headers=ha, json={"datasets": ["20.500.12345/abc"]}
    )
    assert old_list.status_code == 400 and old_list.json()["field"] == "datasets"
    incomplete = client.post(f"/api/applications/{aid}/final-report", headers=ha,
                             json={"report": {"summary": "x"}, "satisfaction": {}})  # fmt: skip
    assert incomplete.status_code == 400
    fr = client.post(f"/api/applications/{aid}/final-report", headers=ha, json={
        "report": {"summary": "Done.", "results": "Form II appears at 75 % RH.", "infrastructure_experience": "Good.",
                   "next_steps": "Full study."},
        "satisfaction": {"overall": 5, "support": 4, "access": 4, "data_handling": 3}})  # fmt: skip
    assert fr.status_code == 200
    closed = client.post(f"/api/applications/{aid}/transition", json={"target": "closed"}, headers=hc)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    # KPIs count it
    k = client.get("/api/kpi", headers=hc).json()
    assert k["funded"] >= 1 and k["target"] == 75
    pairs = k["tables"]["country_pairs"]
    dk_row = next(r for r in pairs["rows"] if r[0] == "DK")
    assert int(dk_row[pairs["header"].index("SE")]) >= 1
    budget = {r[0]: r for r in k["tables"]["budget"]["rows"]}
    assert Decimal(budget["lu"][2]) >= Decimal("10000.00")
    csv = client.get("/api/kpi/budget.csv", headers=hc)
    assert csv.status_code == 200 and csv.text.splitlines()[0] == "organisation,committed,spent,remaining"
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(client.get("/api/kpi/export.xlsx", headers=hc).content))
    assert {"cutoffs", "budget", "country_pairs"} <= set(wb.sheetnames)
    assert client.get("/api/kpi", headers=ha).status_code == 403
    assert client.get("/kpi", headers=hc).status_code == 200


def test_pdf_matches_reviewer_view(client, people, open_call):
    from pypdf import PdfReader

    h = people["applicant"]["h"]
    app = client.post(f"/api/calls/{open_call['id']}/applications", json={}, headers=h).json()
    client.put(
        f"/api/applications/{app['id']}",
        json=complete_draft(app["version"], title="Zürich–Lund crystal study"),
        headers=h,
    )
    r = client.get(f"/api/applications/{app['id']}/pdf", headers=h)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "Zürich–Lund crystal study" in text and "Polymorph" not in text.split("Lay summary")[0][:10]
    assert "Total" in text and "31,000.35" in text  # 3.5 × 7000.10 + 1.25 × 5200.00
    assert client.get(f"/api/applications/{app['id']}/pdf", headers=people["other"]["h"]).status_code == 404


def test_copy_application(client, people, open_call):
    h = people["applicant"]["h"]
    app = client.post(f"/api/calls/{open_call['id']}/applications", json={}, headers=h).json()
    client.put(f"/api/applications/{app['id']}", json=complete_draft(app["version"]), headers=h)
    copy = client.post(f"/api/applications/{app['id']}/copy", headers=h).json()
    assert copy["id"] != app["id"] and copy["state"] == "draft" and copy["title"].endswith("(copy)")
    assert (
        copy["budget_total"] == client.get(f"/api/applications/{app['id']}", headers=h).json()["budget_total"]
    )


def test_start_application_from_a_match_result(client, people, open_call, db):
    """Visiting the start page creates nothing (drafts no longer multiply); the button creates one draft."""
    import re

    from tests.support.accounts import csrf_from, signin

    page = client.get("/match", params={"question": "Which crystal form of the drug is in our tablets?"})
    link = re.search(r'href="(/calls/apply\?instrument=[^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert client.get(link, follow_redirects=False).status_code == 303  # anonymous: sign in first
    signin(client, people["applicant"]["name"])
    before = client.get("/applications").text.count("(untitled draft)")
    for _ in range(3):
        r = client.get(link, follow_redirects=False)
        assert r.status_code == 200 and "Start an application to this call" in r.text
    assert client.get("/applications").text.count("(untitled draft)") == before  # three visits, no drafts
    r = client.post(f"/calls/{open_call['id']}/apply", follow_redirects=False, data={
        "csrf_token": csrf_from(r.text), "instrument": re.search(r"instrument=([^&]+)", link).group(1),
        "question": "Which crystal form of the drug is in our tablets?"})  # fmt: skip
    assert r.status_code == 303
    edit = client.get(r.headers["location"])
    assert "Which crystal form of the drug" in edit.text
    instrument = re.search(r"instrument=([^&]+)", link).group(1)
    assert f'value="{instrument}" selected' in edit.text
    assert client.get("/applications").text.count("(untitled draft)") == before + 1


def test_regional_ambassador_assigned_on_submission(client, people, open_call, db):
    from tests.support.accounts import csrf_from, signin

    amb = people["ambassador"]
    signin(client, amb["name"])
    page = client.get("/account/expertise")
    r = client.post("/account/expertise", data={"display_name": "Ambassador DK", "countries_served": ["DK"],
                                                "public": "true", "csrf_token": csrf_from(page.text)})  # fmt: skip
    assert r.status_code in (200, 303)
    client.cookies.clear()
    h = people["applicant"]["h"]
    app = client.post(f"/api/calls/{open_call['id']}/applications", json={}, headers=h).json()
    client.put(
        f"/api/applications/{app['id']}", json=complete_draft(app["version"]), headers=h
    )  # team has DK
    assert client.get(f"/api/applications/{app['id']}", headers=amb["h"]).status_code == 404  # not yet
    assert client.post(f"/api/applications/{app['id']}/submit", headers=h).status_code == 200
    seen = client.get(f"/api/applications/{app['id']}", headers=amb["h"])
    assert seen.status_code == 200 and "ambassador" in seen.json()["your_roles"]
