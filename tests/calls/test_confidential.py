"""Confidential pilots (#17): outside the applicant team, a confidential application is read only after
accepting the call's confidentiality terms; before that — and in every list and export — only its
non-confidential summary shows. Its PDF carries the downloader's name and the date on every page. The
applicants' excluded organisations (competitors) are excluded without being told; the coordinator sees why.

Every secret of the application contains the word SECRET, and every check that something is hidden searches
the whole answer (page, JSON, PDF text, CSV, XLSX) for it."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from tests.support.accounts import PASSWORD, bearer
from tests.support.calls import complete_draft

SECRET = "nightjar"  # in every confidential field, lower-cased
PUBLIC = "A catalyst stability study with an industrial partner, using in-situ X-ray diffraction."
SCORES = {"excellence": 4, "impact": 5, "collaboration": 3}
REVIEW_FORM = {"do": "review", **{f"score-{k}": str(v) for k, v in SCORES.items()}, "comments": "Solid."}


def _person(db, roles: list[str], *, organisation: str | None = None, domain: str = "example.org",
            full_name: str = "") -> dict:  # fmt: skip
    from halric.accounts import service
    from halric.accounts.schemas import NewUser
    from halric.core.actor import system_actor

    name = f"{roles[0][:4]}{uuid.uuid4().hex[:8]}"
    with db.session() as s:
        user = service.create_user(s, system_actor("test"), NewUser(
            username=name, email=f"{name}@{domain}", password=PASSWORD, roles=roles, full_name=full_name,
            organisation_id=organisation))  # fmt: skip
        uid = user.id
    return {"name": name, "id": uid, "h": bearer(db, name), "email": f"{name}@{domain}"}


def secret_draft(version: int) -> dict:
    return complete_draft(
        version,
        title="Project Nightjar: zeolite catalyst ageing",
        lay_summary="Nightjar lay summary: why our catalyst loses activity in the reactor.",
        research_question="Which Nightjar phase forms during regeneration, and how fast?",
        work_plan="Nightjar work plan. " + "In-situ diffraction of the Nightjar catalyst during cycling. " * 80,
        timeline="Nightjar months 1-6.", impact="Nightjar impact on the product line.",
        data_management="Nightjar data stay with the company.",
        team=[{"name": "Nora Nightjar", "email": "nora@acme.se", "organisation_id": "lu", "country": "SE",
               "sector": "academia", "role": "PI"},
              {"name": "Ben Clinic", "email": "ben@example.com", "organisation_id": "rigshospitalet",
               "country": "DK", "sector": "hospital", "role": "Nightjar co-PI"}],
        budget=[{"organisation_id": "lu", "cost_type": "employment", "description": "Nightjar postdoc",
                 "person_months": "3", "monthly_cost": "7000.00"}],
        in_kind=[{"organisation_id": "maxiv", "description": "Nightjar beamtime support", "amount": "9000.00"}],
        confidential=True, public_summary=PUBLIC,
        excluded_organisations=[
            {"organisation_id": "dtu"},
            {"ror": "https://ror.org/035b05819"},  # University of Copenhagen, found by its ROR id
            {"name": "Rival Pharma AB", "domain": "@RivalPharma.se"},
        ],
    )  # fmt: skip


@pytest.fixture(scope="module")
def world(app, db, loaded):
    """One confidential application in committee review, and people in every role around it."""
    from fastapi.testclient import TestClient

    from halric.calls import service
    from halric.core.actor import system_actor

    p = {
        "coordinator": _person(db, ["coordinator"]),
        "applicant": _person(db, ["applicant"], domain="acme.se"),
        "other": _person(db, ["applicant"]),
        "ambassador": _person(db, ["ambassador"], organisation="sdu"),
        "facility": _person(db, ["facility"], organisation="maxiv"),
        "committee": _person(db, ["committee"], organisation="desy", full_name="Carla Committee"),
        "reviewer": _person(db, ["reviewer"], organisation="desy", full_name="Rolf Reviewer"),
        "dtu": _person(db, ["committee"], organisation="dtu"),  # excluded: a named organisation
        "ku_mail": _person(db, ["committee"], domain="sund.ku.dk"),  # excluded: the registry's domain of KU
        "rival": _person(
            db, ["reviewer"], domain="rivalpharma.se"
        ),  # excluded: the free organisation's domain
        "rival_amb": _person(db, ["ambassador"], domain="rivalpharma.se"),
    }
    with TestClient(app) as c:
        hc, ha = p["coordinator"]["h"], p["applicant"]["h"]
        today = date.today()
        call = c.post("/api/calls", headers=hc, json={
            "slug": f"conf-{uuid.uuid4().hex[:6]}", "title": "Industrial pilots", "opens_on": (today - timedelta(days=1)).isoformat(),
            "deadline": (today + timedelta(days=40)).isoformat(), "budget_ceiling": "60000.00"}).json()  # fmt: skip
        draft = c.post(f"/api/calls/{call['id']}/applications", json={}, headers=ha).json()
        aid = draft["id"]
        saved = c.put(f"/api/applications/{aid}", json=secret_draft(draft["version"]), headers=ha)
        assert saved.status_code == 200, saved.text
        assert c.post(f"/api/applications/{aid}/submit", headers=ha).status_code == 200
        assert (
            c.post(
                f"/api/applications/{aid}/transition", json={"target": "feasibility"}, headers=hc
            ).status_code
            == 200
        )
        p["facility"]["accepted"] = accept(c, call["id"], p["facility"]["h"])
        body = {"infrastructure_id": "maxiv", "verdict": "feasible", "comments": "Nightjar is feasible."}
        assert (
            c.post(f"/api/applications/{aid}/feasibility", json=body, headers=p["facility"]["h"]).status_code
            == 200
        )
        assert (
            c.post(
                f"/api/applications/{aid}/transition", json={"target": "committee"}, headers=hc
            ).status_code
            == 200
        )
        r = c.post(f"/applications/{aid}/action", data={"do": "assign", "reviewer": str(p["reviewer"]["id"])}, headers=hc,
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text
    with db.session() as s:
        service.assign_ambassador(s, system_actor("test"), aid, p["ambassador"]["id"])
    return {"people": p, "aid": aid, "call": call}


def accept(c, call_id: int, h: dict) -> dict:
    terms = c.get(f"/api/calls/{call_id}/confidentiality", headers=h).json()
    r = c.post(
        f"/api/calls/{call_id}/confidentiality", json={"terms_sha256": terms["terms_sha256"]}, headers=h
    )
    assert r.status_code == 200, r.text
    return r.json()


def pdf_pages(content: bytes) -> list[str]:
    from pypdf import PdfReader

    assert content.startswith(b"%PDF")
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def hidden(text: str) -> bool:
    return SECRET not in text.lower()


def assert_redacted(c, aid: int, h: dict) -> None:
    """What someone sees before accepting the terms: the summary, no secret anywhere (API, page, PDF)."""
    api = c.get(f"/api/applications/{aid}", headers=h)
    assert api.status_code == 200 and hidden(api.text), api.text
    a = api.json()
    assert a["redacted"] is True and a["title"] == f"Confidential pilot #{aid}" and a["lay_summary"] == PUBLIC
    assert a["research_question"] == a["work_plan"] == "" and a["budget"] == [] and a["instruments"] == []
    assert [(m["country"], m["sector"], m["name"], m["organisation_id"]) for m in a["team"]] == [
        ("SE", "academia", "", ""), ("DK", "hospital", "", "")]  # fmt: skip
    elig = c.get(f"/api/applications/{aid}/eligibility", headers=h)
    assert elig.json()["results"] == [] and hidden(elig.text)
    page = c.get(f"/applications/{aid}", headers=h)
    assert page.status_code == 200 and hidden(page.text) and PUBLIC in page.text
    assert "Read and accept the confidentiality terms of the call" in page.text
    assert "Lund University" not in page.text and "Rigshospitalet" not in page.text  # no organisations
    for path in (f"/api/applications/{aid}/pdf", f"/applications/{aid}/pdf"):
        text = "\n".join(pdf_pages(c.get(path, headers=h).content))
        assert hidden(text) and "non-confidential summary" in text.lower()


def test_the_team_reads_everything_and_others_see_the_summary_until_they_accept(client, world, db):
    from halric.core.audit import AuditEvent

    p, aid, call = world["people"], world["aid"], world["call"]
    # the applicant: everything, without accepting anything; the PDF carries their name too
    mine = client.get(f"/api/applications/{aid}", headers=p["applicant"]["h"]).json()
    assert mine["redacted"] is False and SECRET in mine["title"].lower() and mine["confidential"] is True
    assert {e["name"] for e in mine["excluded_organisations"]} == {
        "Technical University of Denmark",
        "University of Copenhagen",
        "Rival Pharma AB",
    }
    assert (
        next(e for e in mine["excluded_organisations"] if e["name"] == "Rival Pharma AB")["domain"]
        == "rivalpharma.se"
    )
    assert "Nightjar work plan" in client.get(f"/applications/{aid}", headers=p["applicant"]["h"]).text
    # ambassador, assigned reviewer, committee member, coordinator: the summary only, until they accept
    for role in ("ambassador", "reviewer", "committee", "coordinator"):
        assert_redacted(client, aid, p[role]["h"])
    # and they cannot act on what they did not read
    hr, hcm = p["reviewer"]["h"], p["committee"]["h"]
    r = client.post(f"/api/applications/{aid}/review", json={"scores": SCORES}, headers=hcm)
    assert r.status_code == 403 and "confidentiality terms" in r.json()["detail"]
    r = client.post(
        f"/applications/{aid}/action", data=REVIEW_FORM, headers=hr
    )  # reviewers score on the page
    assert r.status_code == 403 and "confidentiality terms" in r.text and hidden(r.text)
    r = client.post(
        f"/api/applications/{aid}/comments", json={"text": "Looks good"}, headers=p["ambassador"]["h"]
    )
    assert r.status_code == 403
    letter = "Dear applicants, the committee approves your pilot project."
    r = client.post(f"/api/applications/{aid}/decision", json={"outcome": "approved", "letter": letter},
                    headers=p["coordinator"]["h"])  # fmt: skip
    assert r.status_code == 403
    # anonymous and another applicant: nothing at all
    for path in (f"/api/applications/{aid}", f"/api/applications/{aid}/pdf"):
        assert client.get(path).status_code == 401
        r = client.get(path, headers=p["other"]["h"])
        assert r.status_code == 404 and hidden(r.text)
    page = client.get(f"/applications/{aid}", follow_redirects=False)
    assert page.status_code in (302, 303) and hidden(page.text)
    assert client.get(f"/applications/{aid}", headers=p["other"]["h"]).status_code == 404
    assert aid not in [a["id"] for a in client.get("/api/applications", headers=p["other"]["h"]).json()]

    # accepting: shown the terms on a page, recorded with the version and the date, audited
    sha = client.get(f"/api/calls/{call['id']}/confidentiality").json()["terms_sha256"]
    page = client.get(f"/calls/{call['id']}/confidentiality?next=/applications/{aid}", headers=hr)
    assert "I have read these terms and accept them" in page.text and "trade secrets" in page.text
    refused = client.post(f"/calls/{call['id']}/confidentiality", headers=hr,
                          data={"terms_sha256": sha, "next": f"/applications/{aid}"})  # fmt: skip
    assert refused.status_code == 400 and "Tick the box" in refused.text  # not without the box
    assert_redacted(client, aid, hr)
    done = client.post(f"/calls/{call['id']}/confidentiality", follow_redirects=False, headers=hr,
                       data={"terms_sha256": sha, "agree": "yes", "next": f"/applications/{aid}"})  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == f"/applications/{aid}"
    with db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "accept-confidentiality-terms",
                                                AuditEvent.actor_name == p["reviewer"]["name"])).all()  # fmt: skip
        assert len(ev) == 1 and ev[0].details["terms_sha256"] == sha
    terms = client.get(f"/api/calls/{call['id']}/confidentiality", headers=hr).json()
    assert terms["accepted_at"][:10] == date.today().isoformat()
    assert client.get(f"/api/calls/{call['id']}/confidentiality", headers=hcm).json()["accepted_at"] is None

    # after accepting: the whole application, and the review goes in
    full = client.get(f"/api/applications/{aid}", headers=hr).json()
    assert full["redacted"] is False and "Nightjar work plan" in full["work_plan"]
    assert full["excluded_organisations"] == []  # the applicants' competitors are not the reviewer's business
    page = client.get(f"/applications/{aid}", headers=hr).text
    assert "Nightjar work plan" in page and "Lund University" in page and "you accepted the call" in page
    r = client.post(f"/applications/{aid}/action", data=REVIEW_FORM, headers=hr, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("done=review")
    # lists stay redacted, accepted or not
    listed = client.get("/api/applications", headers=hr)
    assert aid in [a["id"] for a in listed.json()] and hidden(listed.text)
    listing = client.get("/applications", headers=hr).text
    assert hidden(listing) and f"Confidential pilot #{aid}" in listing
    # the committee member who has not accepted still sees the summary only
    assert_redacted(client, aid, hcm)


def test_the_pdf_is_watermarked_with_the_readers_name_and_the_date_on_every_page(client, world, db):
    from halric.core.audit import AuditEvent

    p, aid, call = world["people"], world["aid"], world["call"]
    h = p["committee"]["h"]
    accept(client, call["id"], h)
    today = date.today().isoformat()
    for path in (f"/api/applications/{aid}/pdf", f"/applications/{aid}/pdf"):
        r = client.get(path, headers=h)
        assert r.headers["content-disposition"].startswith("attachment;")  # a copy to keep, not a view
        pages = pdf_pages(r.content)
        assert len(pages) >= 2 and "Nightjar work plan" in " ".join(" ".join(pages).split())
        for text in pages:
            flat = " ".join(text.split())
            assert f"downloaded by Carla Committee ({p['committee']['name']})" in flat and today in flat, (
                flat[-300:]
            )
    # the team's own copy is marked too, and an application that is not confidential is not
    pages = pdf_pages(client.get(f"/api/applications/{aid}/pdf", headers=p["applicant"]["h"]).content)
    assert all(f"downloaded by {p['applicant']['name']}" in " ".join(t.split()) for t in pages)
    with db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "download-pdf",
                                                AuditEvent.entity_id == str(aid))).all()  # fmt: skip
        assert {e.actor_name for e in ev} >= {p["committee"]["name"], p["applicant"]["name"]}
    ha = p["applicant"]["h"]
    plain = client.post(f"/api/calls/{call['id']}/applications", json={}, headers=ha).json()
    client.put(f"/api/applications/{plain['id']}", json=complete_draft(plain["version"]), headers=ha)
    r = client.get(f"/api/applications/{plain['id']}/pdf", headers=ha)
    assert r.headers["content-disposition"].startswith("inline;")
    text = "".join(pdf_pages(r.content))
    assert "downloaded by" not in text and "Polymorph stability" in text


def test_excluded_organisations_staff_find_nothing_and_the_coordinator_sees_why(client, world, db):
    from halric.calls import service
    from halric.calls.models import OutboxMessage
    from halric.core.actor import system_actor
    from halric.core.errors import Conflict

    p, aid, call = world["people"], world["aid"], world["call"]
    hc = p["coordinator"]["h"]
    # by the named organisation (DTU), by the registry's e-mail domain of KU, by the free organisation's domain
    for who in ("dtu", "ku_mail", "rival"):
        h = p[who]["h"]
        for path in (f"/api/applications/{aid}", f"/api/applications/{aid}/pdf", f"/applications/{aid}",
                     f"/applications/{aid}/pdf", f"/api/applications/{aid}/eligibility"):  # fmt: skip
            r = client.get(path, headers=h)
            assert r.status_code == 404, (who, path, r.status_code)
            assert "exclude" not in r.text.lower() and hidden(r.text)  # not even told they were excluded
        assert aid not in [a["id"] for a in client.get("/api/applications", headers=h).json()]
        r = client.post(f"/applications/{aid}/action", data=REVIEW_FORM, headers=h)
        assert r.status_code == 404 and "exclude" not in r.text.lower() and hidden(r.text)
    r = client.post(f"/api/applications/{aid}/review", json={"scores": SCORES}, headers=p["dtu"]["h"])
    assert r.status_code == 404
    # the ranking has no row for them at all (a team-organisation conflict would show an "excluded" row)
    rows = client.get(f"/api/calls/{call['id']}/ranking", headers=p["dtu"]["h"]).json()
    assert aid not in [r["application_id"] for r in rows]
    ranking = client.get(f"/calls/{call['id']}/ranking", headers=p["dtu"]["h"]).text
    assert "excluded" not in ranking and hidden(ranking)
    # they cannot be assigned: the coordinator is told why
    for who, why in (("rival", "rivalpharma.se, the domain of Rival Pharma AB"), ("ku_mail", "ku.dk")):
        r = client.post(
            f"/applications/{aid}/action", headers=hc, data={"do": "assign", "reviewer": str(p[who]["id"])}
        )
        assert r.status_code == 409 and "excluded from this application" in r.text and why in r.text
    with db.session() as s, pytest.raises(Conflict, match=r"rivalpharma\.se"):
        service.assign_ambassador(s, system_actor("test"), aid, p["rival_amb"]["id"])
    r = client.post(f"/api/applications/{aid}/invitations", headers=p["applicant"]["h"],
                    json={"email": "someone@rivalpharma.se", "kind": "ambassador"})  # fmt: skip
    assert r.status_code == 409 and "Rival Pharma AB" in r.json()["detail"]
    # the coordinator sees who is excluded and why (API and page), before accepting the terms too
    ex = client.get(f"/api/applications/{aid}/exclusions", headers=hc).json()
    why = {e["username"]: e["reason"] for e in ex["people"]}
    assert "Technical University of Denmark" in why[p["dtu"]["name"]]
    assert "ku.dk" in why[p["ku_mail"]["name"]] and "University of Copenhagen" in why[p["ku_mail"]["name"]]
    assert "rivalpharma.se" in why[p["rival"]["name"]] and p["rival_amb"]["name"] in why
    assert p["committee"]["name"] not in why and p["reviewer"]["name"] not in why
    page = client.get(f"/applications/{aid}", headers=hc).text
    assert "Excluded by the applicants" in page and "rivalpharma.se, the domain of Rival Pharma AB" in page
    options = re.search(r'<select id="reviewer".*?</select>', page, re.S).group(0)
    assert f'value="{p["rival"]["id"]}"' not in options and f'value="{p["committee"]["id"]}"' in options
    # the applicants see their list but not the people; the others see neither
    mine = client.get(f"/api/applications/{aid}/exclusions", headers=p["applicant"]["h"]).json()
    assert len(mine["organisations"]) == 3 and mine["people"] == []
    assert client.get(f"/api/applications/{aid}/exclusions", headers=p["reviewer"]["h"]).status_code == 403
    assert client.get(f"/api/applications/{aid}/exclusions", headers=p["dtu"]["h"]).status_code == 404
    # mail to the reviewer names the application without its content
    with db.session() as s:
        to_reviewer = s.scalars(select(OutboxMessage).where(OutboxMessage.to == p["reviewer"]["email"])).all()
        assert to_reviewer and all(hidden(m.subject + m.body) for m in to_reviewer)
        assert f"Confidential pilot #{aid}" in to_reviewer[0].subject


def test_changed_terms_must_be_accepted_again(client, world, db):
    from halric.calls import service
    from halric.calls.schemas import CallInput
    from halric.core.actor import system_actor

    p, aid, call = world["people"], world["aid"], world["call"]
    h = p["ambassador"]["h"]
    assert_redacted(client, aid, h)
    stale = client.get(f"/api/calls/{call['id']}/confidentiality").json()["terms_sha256"]
    accept(client, call["id"], h)
    assert "Nightjar work plan" in client.get(f"/api/applications/{aid}", headers=h).json()["work_plan"]
    with db.session() as s:
        c = service.get_call(s, call["id"])
        data = CallInput(slug=c.slug, title=c.title, opens_on=c.opens_on, deadline=c.deadline,
                         budget_ceiling=c.budget_ceiling, confidentiality_terms="New terms: keep it all secret for ten years.")  # fmt: skip
        service.update_call(s, system_actor("test"), call["id"], data)
    assert_redacted(client, aid, h)  # the old acceptance no longer opens it
    r = client.post(f"/api/calls/{call['id']}/confidentiality", json={"terms_sha256": stale}, headers=h)
    assert r.status_code == 409 and r.json()["field"] == "terms_sha256"
    terms = client.get(f"/api/calls/{call['id']}/confidentiality", headers=h).json()
    assert terms["terms"] == "New terms: keep it all secret for ten years." and terms["terms_sha256"] != stale
    accept(client, call["id"], h)
    assert client.get(f"/api/applications/{aid}", headers=h).json()["redacted"] is False
    assert "Nightjar work plan" in client.get(f"/applications/{aid}", headers=h).text
    r = client.post(f"/api/applications/{aid}/comments", json={"text": "Read it."}, headers=h)
    assert r.status_code == 201
    # the person's data export lists both acceptances, and names the application by its number only
    export = client.get("/api/account/export", headers=h)
    assert export.status_code == 200 and hidden(export.text)
    accepted = [a["terms_sha256"] for a in export.json()["confidentiality_terms_accepted"]]
    assert accepted == [stale, terms["terms_sha256"]]
    assert [a["title"] for a in export.json()["applications"]] == [f"Confidential pilot #{aid}"]


def test_decisions_and_kpis_count_it_without_its_content(client, world, db):
    p, aid, call = world["people"], world["aid"], world["call"]
    hc = p["coordinator"]["h"]
    before = client.get("/api/kpi", headers=hc).json()
    ranking = client.get(f"/api/calls/{call['id']}/ranking", headers=hc)
    assert f"Confidential pilot #{aid}" in ranking.text and hidden(ranking.text)
    assert hidden(client.get(f"/calls/{call['id']}/ranking", headers=hc).text)
    accept(client, call["id"], hc)
    letter = "Dear applicants, the committee approves the Nightjar pilot project."
    r = client.post(
        f"/api/applications/{aid}/decision", json={"outcome": "approved", "letter": letter}, headers=hc
    )
    assert r.status_code == 200
    r = client.post(f"/api/applications/{aid}/project", headers=hc,
                    json={"started_on": "2027-01-01", "ends_on": "2027-06-30"})  # fmt: skip
    assert r.status_code == 201
    upd = client.patch(f"/api/applications/{aid}/project", headers=p["applicant"]["h"], json={
        "milestones": [{"title": "Nightjar beamtime", "due": "2027-03-01"}],
        "publications": [{"title": "Nightjar phases"}], "cost_claims": [{"organisation_id": "lu", "amount": "5000.00"}]})  # fmt: skip
    assert upd.status_code == 200
    # the committee member who has not accepted sees neither the letter nor the follow-up
    other = _person(db, ["committee"], organisation="uhh")
    page = client.get(f"/applications/{aid}", headers=other["h"])
    assert page.status_code == 200 and hidden(page.text) and "Running" in page.text
    # nor the project space: its page, its JSON and the list of projects show the number and the summary
    for path in (f"/projects/{aid}", f"/api/projects/{aid}", "/projects", "/api/projects"):
        r = client.get(path, headers=other["h"])
        assert r.status_code == 200 and hidden(r.text), path
    assert client.get(f"/api/projects/{aid}", headers=other["h"]).json()["redacted"] is True
    assert f"Confidential pilot #{aid}" in client.get("/projects", headers=other["h"]).text
    assert (
        "Project Nightjar" in client.get(f"/projects/{aid}", headers=p["applicant"]["h"]).text
    )  # the team sees it
    # the project's catalog proposal is named by its number and described by the non-confidential summary
    from halric.catalog.models import Proposal
    from halric.projects.models import ProjectSpace

    with db.session() as s:
        space = s.scalar(select(ProjectSpace).where(ProjectSpace.application_id == aid))
        proposal = s.get(Proposal, space.proposal_id)
        assert proposal.title == f"Confidential pilot #{aid}" and proposal.abstract == PUBLIC
        assert hidden(
            proposal.title
            + (proposal.abstract or "")
            + str(proposal.proposal_metadata.get("halric", {}).get("title"))
        )
    # KPIs count it; neither the page, the JSON, the CSVs nor the workbook carries its content
    after = client.get("/api/kpi", headers=hc)
    assert after.json()["funded"] == before["funded"] + 1 and after.json()["submitted"] == before["submitted"]
    assert hidden(after.text)
    assert hidden(client.get("/kpi", headers=hc).text)
    for key in after.json()["tables"]:
        assert hidden(client.get(f"/api/kpi/{key}.csv", headers=hc).text)
    xlsx = client.get("/api/kpi/export.xlsx", headers=hc).content
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        for name in z.namelist():
            assert hidden(z.read(name).decode("utf-8", "replace")), name
    budget = {r[0]: r for r in after.json()["tables"]["budget"]["rows"]}
    assert budget["lu"][2] != "0.00"  # its claim is counted


def test_a_confidential_application_needs_its_summary_and_a_proper_exclusion_list(client, db, loaded):
    hc = _person(db, ["coordinator"])["h"]
    ha = _person(db, ["applicant"])["h"]
    today = date.today()
    call = client.post("/api/calls", headers=hc, json={
        "slug": f"conf-{uuid.uuid4().hex[:6]}", "title": "Another call", "opens_on": (today - timedelta(days=1)).isoformat(),
        "deadline": (today + timedelta(days=40)).isoformat(), "budget_ceiling": "60000.00"}).json()  # fmt: skip
    assert call["confidentiality_terms"].startswith(
        "Confidentiality terms for confidential pilot applications"
    )
    app = client.post(f"/api/calls/{call['id']}/applications", json={}, headers=ha).json()
    v = client.put(
        f"/api/applications/{app['id']}", json=complete_draft(app["version"], confidential=True), headers=ha
    )
    assert v.status_code == 200  # a draft may be incomplete ...
    r = client.post(f"/api/applications/{app['id']}/submit", headers=ha)
    assert r.status_code == 400 and r.json()["field"] == "public_summary"  # ... a submission may not
    for bad, field in (({"name": "X Corp", "domain": "gmail.com"}, "domain"), ({"domain": "acme.com"}, "name"),
                       ({"organisation_id": "nowhere"}, "organisation_id")):  # fmt: skip
        r = client.put(f"/api/applications/{app['id']}", headers=ha,
                       json=complete_draft(v.json()["version"], excluded_organisations=[bad]))  # fmt: skip
        assert r.status_code in (400, 422) and field in str(r.json()), r.text
    # the form: the checkbox, the summary and the excluded organisation's row, with errors by their fields
    page = client.get(f"/applications/{app['id']}/edit", headers=ha).text
    assert 'name="confidential"' in page and "Non-confidential summary" in page and "exclude-0-domain" in page
    form = {"version": str(v.json()["version"]), "title": "T", "confidential": "yes", "public_summary": "",
            "exclude-0-name": "Rival Pharma AB", "exclude-0-domain": "gmail.com"}  # fmt: skip
    r = client.post(f"/applications/{app['id']}/edit", data=form, headers=ha)
    assert r.status_code == 422 and 'id="err-exclude-0-domain"' in r.text and "public mail service" in r.text
    form["exclude-0-domain"] = "rivalpharma.se"
    form["public_summary"] = PUBLIC
    r = client.post(f"/applications/{app['id']}/edit", data=form, headers=ha, follow_redirects=False)
    assert r.status_code == 303
    stored = client.get(f"/api/applications/{app['id']}", headers=ha).json()
    assert stored["confidential"] is True and stored["public_summary"] == PUBLIC
    assert stored["excluded_organisations"] == [
        {"organisation_id": None, "name": "Rival Pharma AB", "ror": None, "domain": "rivalpharma.se"}]  # fmt: skip
    assert 'value="rivalpharma.se"' in client.get(f"/applications/{app['id']}/edit", headers=ha).text
