"""Publishing a project's datasets credits the programme: DataCite metadata with the team as creators (ORCID
iDs, affiliations with ROR ids), PaNET techniques as subjects, the instrument, the project as related item
and a fundingReference for the call's funder and award number — valid against DataCite 4.5, and what a
DOI registration sends."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

from sqlalchemy import update
from tests.catalog.test_datacite import StandIn, stand_in  # noqa: F401
from tests.support.accounts import bearer, csrf_from, signin

from halric.catalog import datacite

from .helpers import actor, running_project

MX = {"pid": "http://purl.org/pan-science/PaNET/PaNET01164", "name": "macromolecular crystallography"}
FUNDER = "Interreg Öresund-Kattegat-Skagerrak"


def _pilot_with_data(db, people, make_user):
    from halric.accounts.models import User
    from halric.catalog import service as catalog

    # Ben Clinic of the application's team has an account whose ORCID iD a provider vouched for
    ben = make_user(["applicant"], prefix="ben")
    with db.session() as s:
        s.execute(update(User).where(User.username == ben).values(
            email=f"ben.{ben}@example.com", orcid="0000-0002-1825-0097", email_verified_at=datetime.now(UTC)))  # fmt: skip
    team = [
        {"name": "Ada Pharma", "email": "ada@example.com", "organisation_id": "lu", "country": "SE", "sector": "academia", "role": "PI"},
        {"name": "Ben Clinic", "email": f"ben.{ben}@example.com", "organisation_id": "rigshospitalet", "country": "DK", "sector": "hospital"},
    ]  # fmt: skip
    pilot = running_project(db, people["applicant"]["name"], people["coordinator"]["name"],
                            people["maxiv_staff"]["name"], team=team)  # fmt: skip
    with db.session() as s:
        ds = catalog.create_dataset(s, actor(db, people["maxiv_staff"]["name"]), {
            "type": "raw", "owner": "DanMAX", "contactEmail": "danmax@example.org", "sourceFolder": f"/data/m{pilot.app_id}",
            "creationTime": "2027-02-01T10:00:00Z", "proposalId": pilot.proposal_id, "techniques": [MX],
            "datasetName": "Lysozyme, 75 % RH"})  # fmt: skip
    return pilot, ds["pid"]


def test_project_publication_credits_the_programme(client, db, people, open_call, make_user, stand_in):  # noqa: F811
    pilot, pid = _pilot_with_data(db, people, make_user)
    ha = people["applicant"]["h"]
    url = f"/api/projects/{pilot.app_id}/published-data"
    body = {
        "pidArray": [pid],
        "title": "Humidity series of lysozyme",
        "abstract": "Powder patterns at 5 humidities.",
    }
    # outsiders cannot publish the project's data; a dataset of another project is refused by its field
    assert client.post(url, json=body, headers=people["other"]["h"]).status_code == 404
    bad = client.post(url, json={**body, "pidArray": ["20.500.12345/not-ours"]}, headers=ha)
    assert bad.status_code == 400 and bad.json()["field"] == "pidArray"
    r = client.post(url, json=body, headers=ha)
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["creator"][-2:] == ["Ada Pharma", "Ben Clinic"] and rec["status"] == "pending_registration"
    doi = quote(rec["doi"], safe="")

    doc = client.get(f"/api/catalog/published/{doi}/datacite", headers=ha).json()
    assert datacite.problems(doc) == []
    assert doc["fundingReferences"] == [{"funderName": FUNDER, "awardNumber": "NYPS 20357868"}]
    ben = next(c for c in doc["creators"] if c["name"] == "Ben Clinic")
    assert ben["nameIdentifiers"][0]["nameIdentifier"] == "https://orcid.org/0000-0002-1825-0097"
    assert ben["affiliation"] == [{"name": "Rigshospitalet", "affiliationIdentifier": "https://ror.org/03mchdq19",
                                   "affiliationIdentifierScheme": "ROR", "schemeUri": "https://ror.org"}]  # fmt: skip
    ada = next(c for c in doc["creators"] if c["name"] == "Ada Pharma")
    assert "nameIdentifiers" not in ada and ada["affiliation"][0]["name"] == "Lund University"
    mx = [x for x in doc["subjects"] if x.get("valueUri") == MX["pid"]]
    assert mx == [{"subject": "macromolecular crystallography", "subjectScheme": "PaNET",
                   "schemeUri": "http://purl.org/pan-science/PaNET/", "valueUri": MX["pid"]}]  # fmt: skip
    rel = {(x["relationType"], x["relatedIdentifier"].split("/", 3)[-1]) for x in doc["relatedIdentifiers"]}
    assert ("IsPartOf", f"projects/{pilot.app_id}") in rel
    assert ("IsCollectedBy", "registry/instruments/maxiv-danmax") in rel
    items = {x["relatedItemType"]: x for x in doc["relatedItems"]}
    assert items["Other"]["titles"][0]["title"].startswith("HALRIC pilot project: ")
    assert (
        items["Instrument"]["relationType"] == "IsCollectedBy"
        and "DanMAX" in items["Instrument"]["titles"][0]["title"]
    )
    # the schema check bites: a funding reference without a funder is refused
    assert any(
        "fundingReferences" in p
        for p in datacite.problems({**doc, "fundingReferences": [{"awardNumber": "1"}]})
    )

    # a data steward registers the DOI: DataCite receives (and validates) the programme's credit
    steward = bearer(db, make_user(["steward"], prefix="stw"))
    r = client.post(f"/api/v3/PublishedData/{doi}/register", headers=steward)
    assert r.status_code == 200, r.text
    (sent,) = StandIn.received
    assert sent["data"]["attributes"]["fundingReferences"] == doc["fundingReferences"]
    # the project page lists the published data
    page = client.get(f"/projects/{pilot.app_id}", headers=ha)
    assert rec["doi"] in page.text and "registered" in page.text


def test_the_call_award_number_reaches_the_metadata(client, db, people, open_call, make_user):
    pilot, pid = _pilot_with_data(db, people, make_user)
    signin(client, people["coordinator"]["name"])
    form = client.get(f"/calls/{pilot.call_id}/edit")
    assert 'name="award_number"' in form.text and 'value="NYPS 20357868"' in form.text
    values = dict(re.findall(r'<input id="[^"]+" name="([a-z_]+)" value="([^"]*)"', form.text))
    values.update(csrf_token=csrf_from(form.text), award_number="20201234", text="")
    r = client.post(f"/calls/{pilot.call_id}/edit", data=values, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert client.get(f"/api/calls/{pilot.call_id}").json()["award_number"] == "20201234"
    client.cookies.clear()
    # the team publishes from the project page; the metadata names the new award number
    signin(client, people["applicant"]["name"])
    page = client.get(f"/projects/{pilot.app_id}")
    assert 'id="publish-form"' in page.text
    r = client.post(f"/projects/{pilot.app_id}/publish", data={"csrf_token": csrf_from(page.text), "title": "",
                                                               "abstract": "x", "datasets": [pid]})  # fmt: skip
    assert r.status_code == 400 and "the published data a title" in r.text
    assert f'value="{pid}" checked' in r.text
    r = client.post(f"/projects/{pilot.app_id}/publish", follow_redirects=False, data={
        "csrf_token": csrf_from(page.text), "title": "Lysozyme series", "abstract": "Five humidities.", "datasets": [pid]})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith("/catalog/published/")
    doi = r.headers["location"].rsplit("/", 1)[-1]
    doc = client.get(f"/api/catalog/published/{doi}/datacite").json()
    assert doc["fundingReferences"] == [{"funderName": FUNDER, "awardNumber": "20201234"}]
    assert datacite.problems(doc) == []
