"""The end of a project: the final report links publications (DOIs, shape checked) and the project's
datasets; the project closes only when the report, the visit feedback and a cost claim are in."""

from __future__ import annotations

from tests.support.accounts import csrf_from, signin

from .helpers import actor, running_project

REPORT = {"summary": "Done.", "results": "Form II appears at 75 % RH.", "infrastructure_experience": "Good.",
          "next_steps": "A full study."}  # fmt: skip
SATISFACTION = {"overall": 5, "support": 4, "access": 4, "data_handling": 3}


def test_final_report_links_and_closure(client, db, people, open_call, make_user):
    from halric.catalog import service as catalog

    pilot = running_project(db, people["applicant"]["name"], people["coordinator"]["name"],
                            people["maxiv_staff"]["name"])  # fmt: skip
    ha, hc = people["applicant"]["h"], people["coordinator"]["h"]
    steward = _steward(db, make_user)
    with db.session() as s:
        ds = catalog.create_dataset(s, actor(db, people["applicant"]["name"]), {
            "type": "raw", "owner": "Ada", "contactEmail": "ada@example.org", "sourceFolder": f"/data/r{pilot.app_id}",
            "creationTime": "2027-02-01T10:00:00Z", "proposalIds": [pilot.proposal_id]})  # fmt: skip
        foreign = catalog.create_dataset(s, steward, {
            "type": "raw", "owner": "X", "contactEmail": "x@example.org", "sourceFolder": f"/data/x{pilot.app_id}",
            "ownerGroup": "elsewhere", "creationTime": "2027-02-01T10:00:00Z"})  # fmt: skip
    url = f"/api/applications/{pilot.app_id}/final-report"
    bad = client.post(url, headers=ha, json={"report": REPORT, "satisfaction": SATISFACTION,
                                             "publications": [{"doi": "not-a-doi/123"}]})  # fmt: skip
    assert (
        bad.status_code == 400
        and bad.json()["field"] == "publications"
        and "not a DOI" in bad.json()["detail"]
    )
    bad = client.post(url, headers=ha, json={"report": REPORT, "satisfaction": SATISFACTION,
                                             "datasets": [foreign["pid"]]})  # fmt: skip
    assert bad.status_code == 400 and bad.json()["field"] == "datasets"
    ok = client.post(url, headers=ha, json={
        "report": REPORT, "satisfaction": SATISFACTION, "datasets": [ds["pid"]],
        "publications": [{"title": "Humidity-induced transitions", "doi": "https://doi.org/10.1107/S1600577527000123"}]})  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.json()["publications"] == ["10.1107/S1600577527000123"] and ok.json()["datasets"] == [ds["pid"]]
    body = client.get(f"/api/projects/{pilot.app_id}", headers=ha).json()
    assert body["final_report"] == {"submitted": True, "publications": ["10.1107/S1600577527000123"],
                                    "datasets": [ds["pid"]]}  # fmt: skip
    assert {"title": "Humidity-induced transitions", "doi": "10.1107/S1600577527000123"} in body[
        "publications"
    ]
    assert body["closure_missing"] == ["the cost claim (at least one claim, under follow-up)"]

    # closing is refused with what is missing; with a cost claim it goes
    close = client.post(f"/api/applications/{pilot.app_id}/transition", json={"target": "closed"}, headers=hc)
    assert close.status_code == 409 and "still missing: the cost claim" in close.json()["detail"]
    page = client.get(f"/projects/{pilot.app_id}", headers=hc)
    assert "Before the project can close: the cost claim" in page.text
    claim = client.patch(f"/api/applications/{pilot.app_id}/project", headers=ha,
                         json={"cost_claims": [{"organisation_id": "lu", "amount": "10000.00"}]})  # fmt: skip
    assert claim.status_code == 200
    assert client.get(f"/api/projects/{pilot.app_id}", headers=ha).json()["closure_missing"] == []
    close = client.post(f"/api/applications/{pilot.app_id}/transition", json={"target": "closed"}, headers=hc)
    assert close.status_code == 200 and close.json()["state"] == "closed"


def test_report_form_and_follow_up_check_dois(client, db, people, open_call):
    pilot = running_project(db, people["applicant"]["name"], people["coordinator"]["name"],
                            people["maxiv_staff"]["name"])  # fmt: skip
    signin(client, people["applicant"]["name"])
    view = client.get(f"/applications/{pilot.app_id}")
    token = csrf_from(view.text)
    r = client.post(f"/applications/{pilot.app_id}/action", data={
        "csrf_token": token, "do": "followup", "publication": "A preprint", "publication_doi": "arXiv:2701.0001"})  # fmt: skip
    assert r.status_code == 400 and "is not a DOI" in r.text and 'value="arXiv:2701.0001"' in r.text
    form = {"csrf_token": token, "do": "final-report", **REPORT, **{f"sat-{k}": str(v) for k, v in SATISFACTION.items()},
            "publications": "10.1107/S1600577527000123\nnonsense"}  # fmt: skip
    r = client.post(f"/applications/{pilot.app_id}/action", data=form)
    assert r.status_code == 400 and "nonsense" in r.text and 'id="fr-publications"' in r.text
    form["publications"] = "10.1107/S1600577527000123\ndoi:10.5281/zenodo.1234567"
    r = client.post(f"/applications/{pilot.app_id}/action", data=form, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(f"/applications/{pilot.app_id}")
    assert 'href="https://doi.org/10.5281/zenodo.1234567"' in page.text


def _steward(db, make_user):
    return actor(db, make_user(["steward"], prefix="stw"))


def test_closure_waits_for_the_visit_feedback(client, db, people, open_call):
    """A project whose access visit took place closes only once every visitor has given feedback."""
    from tests.calls.test_visits import outbox, ready_visit
    from tests.calls.test_visits import running_project as started_through_the_api

    aid = started_through_the_api(client, people, open_call)
    ha, hc, hs = people["applicant"]["h"], people["coordinator"]["h"], people["maxiv_staff"]["h"]
    vid, _slot = ready_visit(client, people, aid, start_days=120)
    assert client.post(f"/api/projects/{aid}/visit/{vid}/confirm", headers=hs).status_code == 200
    assert client.post(f"/api/projects/{aid}/visit/{vid}/done", headers=hs).status_code == 200
    claim = client.patch(f"/api/applications/{aid}/project", headers=ha,
                         json={"cost_claims": [{"organisation_id": "lu", "amount": "500.00"}]})  # fmt: skip
    assert claim.status_code == 200
    r = client.post(f"/api/applications/{aid}/final-report", headers=ha,
                    json={"report": REPORT, "satisfaction": SATISFACTION})  # fmt: skip
    assert r.status_code == 200, r.text
    close = client.post(f"/api/applications/{aid}/transition", json={"target": "closed"}, headers=hc)
    assert close.status_code == 409 and "the visit feedback" in close.json()["detail"]
    assert "cost claim" not in close.json()["detail"] and "final report" not in close.json()["detail"]
    (mail,) = outbox(db, f"vera{aid}@example.org", "how was your visit")
    token = mail[2].split("/visits/feedback/")[1].split()[0]
    assert client.post(f"/api/visits/feedback/{token}", json={"rating": 5}).status_code == 200
    assert client.get(f"/api/projects/{aid}", headers=ha).json()["closure_missing"] == []
    close = client.post(f"/api/applications/{aid}/transition", json={"target": "closed"}, headers=hc)
    assert close.status_code == 200 and close.json()["state"] == "closed"
