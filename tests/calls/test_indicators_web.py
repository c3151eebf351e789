"""The programme's indicators over real records (SQLite and PostgreSQL): pilots run through the workflow by
the API, solutions and their uptake declared by the team, a later joint application — then the KPI page,
each figure's evidence page, the JSON, CSV and XLSX exports, and who may see them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

from lxml import html
from sqlalchemy import select, update
from tests.support.calls import complete_draft

SE_DK = [
    {"name": "Ada Pharma", "organisation_id": "lu", "country": "SE", "sector": "academia", "role": "PI"},
    {"name": "Ben Clinic", "organisation_id": "rigshospitalet", "country": "DK", "sector": "hospital"},
]
SE_ONLY = [
    {"name": "Ada Pharma", "organisation_id": "lu", "country": "SE", "sector": "academia", "role": "PI"},
    {"name": "Cid Clinic", "organisation_id": "sus", "country": "SE", "sector": "hospital"},
]
BUDGET_SE_ONLY = [
    {"organisation_id": "lu", "cost_type": "employment", "person_months": "2", "monthly_cost": "6000"}
]


def submitted(client, people, call, title, team, **extra) -> int:
    h = people["applicant"]["h"]
    app = client.post(
        f"/api/calls/{call['id']}/applications", json={"instruments": ["maxiv-danmax"]}, headers=h
    ).json()
    body = complete_draft(app["version"], title=title, team=team, **extra)
    assert client.put(f"/api/applications/{app['id']}", json=body, headers=h).status_code == 200
    r = client.post(f"/api/applications/{app['id']}/submit", headers=h)
    assert r.status_code == 200, r.text
    return app["id"]


def run(client, people, aid: int, *, report: bool = True, close: bool = True) -> None:
    """From the eligibility check to a started project, its final report and its closure."""
    ha, hc = people["applicant"]["h"], people["coordinator"]["h"]

    def move(target: str) -> None:
        r = client.post(f"/api/applications/{aid}/transition", json={"target": target}, headers=hc)
        assert r.status_code == 200, r.text

    move("feasibility")
    r = client.post(f"/api/applications/{aid}/feasibility", headers=people["maxiv_staff"]["h"],
                    json={"infrastructure_id": "maxiv", "verdict": "feasible"})  # fmt: skip
    assert r.status_code == 200, r.text
    move("committee")
    r = client.post(f"/api/applications/{aid}/decision", headers=hc,
                    json={"outcome": "approved", "letter": "Dear applicants, your pilot is approved."})  # fmt: skip
    assert r.status_code == 200, r.text
    today = date.today()
    r = client.post(f"/api/applications/{aid}/project", headers=hc,
                    json={"started_on": (today - timedelta(days=200)).isoformat(), "ends_on": today.isoformat()})  # fmt: skip
    assert r.status_code == 201, r.text
    if report:
        r = client.post(f"/api/applications/{aid}/final-report", headers=ha, json={
            "report": {"summary": "Done.", "results": "Form II at 75 % RH.", "infrastructure_experience": "Good.",
                       "next_steps": "A full study."},
            "satisfaction": {"overall": 5, "support": 4, "access": 4, "data_handling": 4}})  # fmt: skip
        assert r.status_code == 200, r.text
    if report and close:
        r = client.patch(f"/api/applications/{aid}/project", headers=ha,
                         json={"cost_claims": [{"organisation_id": "lu", "amount": "1000.00"}]})  # fmt: skip
        assert r.status_code == 200, r.text
        move("closed")


def test_indicators_from_the_records_with_their_evidence(client, people, open_call, db):
    from halric.calls.models import Transition

    ha, hc = people["applicant"]["h"], people["coordinator"]["h"]
    joint = submitted(client, people, open_call, "Joint humidity pilot", SE_DK)
    run(client, people, joint)
    alone = submitted(client, people, open_call, "Swedish-only pilot", SE_ONLY, budget=BUDGET_SE_ONLY,
                      motivations={"cross-border": "The Danish partner joins later."})  # fmt: skip
    run(client, people, alone)
    # the team declares two solutions of the joint pilot; one without a plan for uptake is refused
    url = f"/api/applications/{joint}/solutions"
    r = client.post(url, headers=ha, json={"title": "Humidity-cell protocol", "kind": "protocol",
                                            "uptake_plan": "Published protocol; MAX IV trains new users."})  # fmt: skip
    assert r.status_code == 201, r.text
    protocol = r.json()["id"]
    r = client.post(url, headers=ha, json={"title": "Scripts", "kind": "tool", "uptake_plan": "short"})
    assert r.status_code == 422
    r = client.post(url, headers=ha, json={"title": "Stage controller", "kind": "technology",
                                            "uptake_plan": "Drawings are open; any beamline can build it."})  # fmt: skip
    controller = r.json()["id"]
    # an organisation outside the team takes the protocol up (evidence, today); a later one is refused
    up = {"organisation_id": "ku", "kind": "taken-up", "happened_on": date.today().isoformat(),
          "evidence": "Adopted in the university's stability-testing manual.", "evidence_url": "https://example.org/manual"}  # fmt: skip
    r = client.post(f"{url}/{protocol}/uptakes", headers=ha, json=up)
    assert r.status_code == 201, r.text and r.json()["uptakes"][0]["organisation_id"] == "ku"
    future = {**up, "happened_on": (date.today() + timedelta(days=3)).isoformat()}
    r = client.post(f"{url}/{protocol}/uptakes", headers=ha, json=future)
    assert r.status_code == 400 and r.json()["field"] == "happened_on"
    r = client.post(f"{url}/{protocol}/uptakes", headers=ha, json={**up, "evidence_url": "not a link"})
    assert r.status_code == 422
    r = client.post(f"{url}/{controller}/uptakes", headers=ha, json={**up, "organisation_id": "desy"})
    assert r.status_code == 201
    # the facility puts two datasets into the joint pilot's proposal; one of them is published with a DOI
    from halric.calls.models import Application
    from halric.catalog.models import PublishedData

    for n, when in ((1, "2027-02-01T10:00:00Z"), (2, "2027-03-05T10:00:00Z")):
        r = client.post("/api/v3/datasets", headers=people["maxiv_staff"]["h"], json={
            "type": "raw", "owner": "DanMAX", "contactEmail": "danmax@example.org", "sourceFolder": f"/data/j{joint}/{n}",
            "creationTime": when, "proposalId": f"HALRIC-{joint}", "datasetName": f"Humidity run {n}"})  # fmt: skip
        assert r.status_code in (200, 201), r.text
        if n == 1:
            first_pid = r.json()["pid"]
    with db.session() as s:
        s.add(PublishedData(doi="10.5072/halric-kpi-1", title="Humidity runs", publisher="HALRIC", publication_year=2027,
                            pid_array=[first_pid], status="registered", created_by="steward", updated_by="steward"))  # fmt: skip
        s.execute(update(Application).where(Application.id == joint)
                  .values(submitted_at=datetime(2027, 1, 2, 9, tzinfo=UTC)))  # fmt: skip
    # a later application of the joint pilot's organisations, after its closure: RCR84
    later = submitted(client, people, open_call, "Follow-up study", SE_DK)
    # someone else's project: their solutions are not ours to declare
    assert (
        client.post(
            url, headers=people["other"]["h"], json={"title": "Xyz tool", "uptake_plan": "y" * 20}
        ).status_code
        == 404
    )

    k = client.get("/api/kpi", headers=hc)
    assert k.status_code == 200
    inds = {i["key"]: i for i in k.json()["indicators"]}
    rco87 = inds["rco87"]
    # the joint pilot's team (LU, Rigshospitalet) and its in-kind contributor (MAX IV); not SUS (one country)
    assert rco87["value"] == "3" and sorted(r[0] for r in rco87["rows"]) == [
        "Lund University", "MAX IV Laboratory", "Rigshospitalet"]  # fmt: skip
    link = rco87["links"][0][3][0]
    # absolute (read outside the hub); a started pilot's link is its project page
    assert link.startswith("http") and link.endswith(f"/projects/{joint}")
    assert inds["rco84"]["value"] == "1" and inds["rco84"]["rows"][0][0].startswith(
        f"#{joint} Joint humidity pilot"
    )
    assert inds["rco116"]["value"] == "2"
    assert inds["rcr104"]["value"] == "2"  # both uptakes are within a year of the (recent) closure
    # all three are in the follow-up application again (MAX IV in kind), with a partner from another country
    assert sorted(r[0] for r in inds["rcr84"]["rows"]) == [
        "Lund University",
        "MAX IV Laboratory",
        "Rigshospitalet",
    ]
    assert inds["rcr84"]["rows"][0][3].startswith(f"#{later} Follow-up study")
    assert inds["pilots"]["value"] == "2" and inds["pilots"]["target"] == 75
    # datasets: the joint pilot 2 (one with a registered DOI), the Swedish one none — 1.0 and 0.5 per project
    assert inds["datasets"]["value"] == "1.0 datasets, 0.5 DOIs" and not inds["datasets"]["note"]
    row = next(r for r in inds["datasets"]["rows"] if r[0].startswith(f"#{joint}"))
    assert row[1:4] == ["2", "1", "10.5072/halric-kpi-1"]
    assert "(not readable by you)" in row[4]  # the coordinator is not in the project's group
    # first data: submitted 2027-01-02, first dataset created 2027-02-01: 30 days
    assert inds["first_data"]["value"] == "30" and inds["first_data"]["rows"][0][4] == "30"
    for i in inds.values():
        assert i["count"] == len(i["rows"])

    # backdate the joint pilot's closure by 400 days: the uptakes (today) are more than a year after it, and
    # so is the later application — the result indicators drop, the output indicators stay
    with db.session() as s:
        closed_at = s.scalar(select(Transition.at).where(Transition.application_id == joint,
                                                         Transition.to_state == "closed"))  # fmt: skip
        s.execute(update(Transition).where(Transition.application_id == joint, Transition.to_state == "closed")
                  .values(at=closed_at - timedelta(days=400)))  # fmt: skip
    inds = {i["key"]: i for i in client.get("/api/kpi", headers=hc).json()["indicators"]}
    assert inds["rcr104"]["value"] == "0" and inds["rcr84"]["value"] == "0"
    assert inds["rco116"]["value"] == "2" and inds["rco87"]["value"] == "3"
    with db.session() as s:  # back as it was, for the pages below
        s.execute(update(Transition).where(Transition.application_id == joint, Transition.to_state == "closed")
                  .values(at=closed_at))  # fmt: skip

    # the KPI page: each figure links to its evidence page, which lists what counts, with links
    page = client.get("/kpi", headers=hc)
    doc = html.fromstring(page.text)
    figure = doc.get_element_by_id("figure-rco87")
    assert "3" in figure.text_content() and figure.xpath(".//a/@href") == ["/kpi/rco87"]
    assert doc.xpath('//*[@id="interreg-figures"]/li/@id') == [
        "figure-rco87", "figure-rco84", "figure-rco116", "figure-rcr104", "figure-rcr84"]  # fmt: skip
    assert len(doc.xpath("//main//svg")) >= 4
    ev = client.get("/kpi/rcr84", headers=hc)
    assert ev.status_code == 200
    doc = html.fromstring(ev.text)
    rows = doc.xpath('//table[@id="evidence"]/tbody/tr')
    assert (
        len(rows) == 3
        and "after the closure and within one year" in doc.get_element_by_id("rule").text_content()
    )
    hrefs = doc.xpath('//table[@id="evidence"]//a/@href')
    assert f"/projects/{joint}" in hrefs and f"/applications/{later}" in hrefs  # the later one never started
    assert "/registry/organisations/lu" in hrefs
    ev = client.get("/kpi/rcr104", headers=hc)
    assert "https://example.org/manual" in ev.text and "Humidity-cell protocol" in ev.text
    assert client.get("/kpi/nonsense", headers=hc).status_code == 404

    # exports: the combined CSV has every figure and a section of evidence per indicator; the XLSX a sheet each
    text = client.get("/api/kpi/indicators.csv", headers=hc).text
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[1][:3] == ["RCO87", "Organisations cooperating across borders", "3"]
    assert any(r and r[0] == "Evidence: RCR84 Organisations cooperating across borders after project completion"
               for r in lines)  # fmt: skip
    assert any(r and r[0] == "Rigshospitalet" for r in lines)
    one = list(csv.reader(io.StringIO(client.get("/api/kpi/evidence/rco84.csv", headers=hc).text)))
    assert one[0][0] == "Project" and len(one) == 2 and one[1][0].startswith(f"#{joint}")
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(client.get("/api/kpi/export.xlsx", headers=hc).content))
    assert wb.sheetnames[0] == "indicators" and {"RCO87 evidence", "RCR84 evidence", "budget"} <= set(
        wb.sheetnames
    )
    figures = {r[0] or r[1]: r for r in wb["indicators"].iter_rows(min_row=2, values_only=True)}
    assert figures["RCO116"][2] == "2"
    sheet = list(wb["RCO87 evidence"].iter_rows(values_only=True))
    assert sheet[2][0] == "Organisation" and sorted(r[0] for r in sheet[3:]) == [
        "Lund University", "MAX IV Laboratory", "Rigshospitalet"]  # fmt: skip
    assert wb["RCO87 evidence"].cell(row=4, column=4).value

    # access: coordinators only (an applicant is refused, an anonymous visitor is asked to sign in)
    for path in (
        "/api/kpi",
        "/api/kpi/indicators.csv",
        "/api/kpi/evidence/rco87.csv",
        "/api/kpi/export.xlsx",
    ):
        assert client.get(path, headers=ha).status_code == 403, path
        assert client.get(path).status_code == 401, path
    assert client.get("/kpi/rco87", headers=ha).status_code == 403
    assert client.get("/kpi/rco87", follow_redirects=False).status_code in (303, 401)

    # a confidential pilot is counted, but lists and exports never name it, its organisations or solutions
    with db.session() as s:
        s.execute(update(Application).where(Application.id == joint).values(confidential=True))
    inds = {i["key"]: i for i in client.get("/api/kpi", headers=hc).json()["indicators"]}
    assert inds["rco87"]["value"] == "3" and {r[0] for r in inds["rco87"]["rows"]} == {
        "An organisation of a confidential pilot"}  # fmt: skip
    assert inds["rco84"]["rows"][0][0] == f"Confidential pilot #{joint}"
    every = (
        client.get("/api/kpi/indicators.csv", headers=hc).text + client.get("/kpi/rco116", headers=hc).text
    )
    for secret in (
        "Joint humidity pilot",
        "Rigshospitalet",
        "Humidity-cell protocol",
        "stability-testing manual",
    ):
        assert secret not in every, secret
    # its solutions are read by its team, and by others only after accepting the call's terms
    assert client.get(f"/api/applications/{joint}/solutions", headers=ha).status_code == 200
    r = client.get(f"/api/applications/{joint}/solutions", headers=hc)
    assert r.status_code == 403 and "confidentiality terms" in r.json()["detail"]
    assert (
        client.post(url, headers=hc, json={"title": "Xyz tool", "uptake_plan": "y" * 20}).status_code == 403
    )


def test_the_team_declares_solutions_and_uptake_on_the_project_page(client, people, open_call):
    ha = people["applicant"]["h"]
    aid = submitted(client, people, open_call, "Page pilot", SE_DK)
    run(client, people, aid, report=False)
    page = client.get(f"/applications/{aid}", headers=ha)
    doc = html.fromstring(page.text)
    assert (
        doc.get_element_by_id("solutions") is not None and doc.get_element_by_id("solution-form") is not None
    )
    assert not doc.xpath('//*[@id="uptake-form"]')  # nothing to take up yet
    act = f"/applications/{aid}/action"
    # too short a plan comes back by its field, with what was typed
    r = client.post(act, headers=ha, data={"do": "solution", "sol-title": "Humidity-cell protocol",
                                           "sol-kind": "protocol", "sol-uptake_plan": "short"})  # fmt: skip
    assert r.status_code == 400
    doc = html.fromstring(r.text)
    assert doc.get_element_by_id("err-sol-uptake_plan") is not None
    assert doc.get_element_by_id("sol-title").get("value") == "Humidity-cell protocol"
    r = client.post(act, headers=ha, follow_redirects=False, data={
        "do": "solution", "sol-title": "Humidity-cell protocol", "sol-kind": "protocol",
        "sol-description": "Keeps RH at ±1 % during diffraction.", "sol-uptake_plan": "Published; MAX IV trains users."})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].endswith("done=solution")
    page = client.get(r.headers["location"], headers=ha).text
    doc = html.fromstring(page)
    assert "Humidity-cell protocol" in doc.get_element_by_id("solution-list").text_content()
    sid = doc.xpath('//select[@id="up-solution_id"]/option/@value')[0]
    # an uptake without a date or evidence is pointed out; then recorded
    r = client.post(act, headers=ha, data={"do": "uptake", "up-solution_id": sid, "up-organisation_id": "ku",
                                           "up-kind": "taken-up", "up-happened_on": "", "up-evidence": ""})  # fmt: skip
    assert r.status_code == 400
    doc = html.fromstring(r.text)
    assert (
        doc.get_element_by_id("err-up-happened_on") is not None
        and doc.get_element_by_id("err-up-evidence") is not None
    )
    r = client.post(act, headers=ha, follow_redirects=False, data={
        "do": "uptake", "up-solution_id": sid, "up-organisation_id": "ku", "up-kind": "up-scaled",
        "up-happened_on": date.today().isoformat(), "up-evidence": "Now used in all of KU's stability studies.",
        "up-evidence_url": ""})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].endswith("done=uptake")
    listed = html.fromstring(client.get(r.headers["location"], headers=ha).text).get_element_by_id(
        "solution-list"
    )
    assert "University of Copenhagen — up-scaled on" in listed.text_content()
    # an ambassador or another applicant cannot declare
    r = client.post(act, headers=people["other"]["h"], data={"do": "solution", "sol-title": "Xyz tool",
                                                             "sol-uptake_plan": "y" * 20})  # fmt: skip
    assert r.status_code == 404
