"""A started pilot becomes a project space: a group for its people and a catalog proposal, made in one
transaction, kept in step with the team, and shown on the project page to the team and those with a role."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from tests.calls.test_invitations import _invite
from tests.support.accounts import bearer, csrf_from, signin

from .helpers import actor, approved_application, facility_staff, group_members, running_project


def test_starting_a_pilot_creates_its_space(client, db, people, open_call):
    """Through the API: the group holds the applicant and the facility contacts, the proposal names the
    pilot, its PI and instrument, and the project page shows both ids with a sentence for ingestors."""
    from halric.catalog.models import Proposal

    _call, app_id = approved_application(db, people["applicant"]["name"], people["coordinator"]["name"],
                                         people["maxiv_staff"]["name"])  # fmt: skip
    r = client.post(f"/api/applications/{app_id}/project", json={"started_on": "2027-01-01", "ends_on": "2027-06-30"},
                    headers=people["coordinator"]["h"])  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["group"] == f"pilot-{app_id}" and r.json()["proposal_id"] == f"HALRIC-{app_id}"
    # applicant + MAX IV's facility staff (the organisation running DanMAX; one of them reviewed feasibility);
    # not DESY's staff, not the coordinator, not the committee
    members = group_members(db, f"pilot-{app_id}")
    assert members == {people["applicant"]["name"]} | facility_staff(db, "maxiv")
    assert people["maxiv_staff"]["name"] in members and people["desy_staff"]["name"] not in members
    with db.session() as s:
        p = s.get(Proposal, f"HALRIC-{app_id}")
        assert p.owner_group == f"pilot-{app_id}" and p.pilot_project_id == str(app_id)
        assert p.title == "Polymorph stability of a tablet formulation"
        assert p.pi_email == f"{people['applicant']['name']}@example.org"
        meta = p.proposal_metadata["halric"]
        assert [i["id"] for i in meta["instruments"]] == ["maxiv-danmax"]
        assert meta["funding"]["funderName"] == "Interreg Öresund-Kattegat-Skagerrak"
        assert [t["name"] for t in meta["team"]][-2:] == ["Ada Pharma", "Ben Clinic"]
        assert meta["team"][-1]["affiliation"]["name"] == "Rigshospitalet"
    # the SciCat API serves the proposal to the team, not to others
    seen = client.get(f"/api/v3/proposals/HALRIC-{app_id}", headers=people["applicant"]["h"])
    assert seen.status_code == 200 and seen.json()["ownerGroup"] == f"pilot-{app_id}"
    assert client.get(f"/api/v3/proposals/HALRIC-{app_id}", headers=people["other"]["h"]).status_code == 404
    page = client.get(f"/projects/{app_id}", headers=people["applicant"]["h"])
    assert page.status_code == 200
    assert f'<code id="proposal-id">HALRIC-{app_id}</code>' in page.text
    assert f'<code id="group-name">pilot-{app_id}</code>' in page.text
    assert f"proposalId “HALRIC-{app_id}” and ownerGroup “pilot-{app_id}”" in page.text
    # starting twice is refused and changes nothing
    again = client.post(f"/api/applications/{app_id}/project", json={"started_on": "2027-01-01", "ends_on": "2027-06-30"},
                        headers=people["coordinator"]["h"])  # fmt: skip
    assert again.status_code == 409


def test_space_creation_is_all_or_nothing(client, db, people, open_call, monkeypatch):
    """A failure after the group and its members were written (the proposal cannot be made) leaves no
    project, no group, no membership and the application approved."""
    from halric.accounts.models import Group, UserGroup
    from halric.calls.models import Application, Project
    from halric.catalog import collections
    from halric.core.errors import Conflict
    from halric.projects.models import ProjectSpace

    _call, app_id = approved_application(db, people["applicant"]["name"], people["coordinator"]["name"],
                                         people["maxiv_staff"]["name"])  # fmt: skip
    reached = []

    def broken(s, *args, **kwargs):
        reached.append(s.scalar(select(func.count()).select_from(UserGroup).join(Group).where(
            Group.name == f"pilot-{app_id}")))  # fmt: skip
        raise Conflict("proposalId: simulated failure while making the proposal")

    monkeypatch.setattr(collections, "put_pilot_proposal", broken)
    r = client.post(f"/api/applications/{app_id}/project", json={"started_on": "2027-01-01", "ends_on": "2027-06-30"},
                    headers=people["coordinator"]["h"])  # fmt: skip
    assert r.status_code == 409 and "simulated" in r.json()["detail"]
    # the group had its members when the proposal failed
    assert reached == [1 + len(facility_staff(db, "maxiv"))]
    with db.session() as s:
        assert s.get(Application, app_id).state == "approved"
        assert s.scalar(select(Project).where(Project.application_id == app_id)) is None
        assert s.scalar(select(ProjectSpace).where(ProjectSpace.application_id == app_id)) is None
        assert s.scalar(select(Group).where(Group.name == f"pilot-{app_id}")) is None
    # the page form goes the same way: an error shown, nothing written
    signin(client, people["coordinator"]["name"])
    view = client.get(f"/applications/{app_id}")
    r = client.post(f"/applications/{app_id}/action", data={"csrf_token": csrf_from(view.text), "do": "start",
                                                            "started_on": "2027-01-01", "ends_on": "2027-06-30"})  # fmt: skip
    assert r.status_code == 409 and "simulated failure" in r.text
    monkeypatch.undo()
    r = client.post(f"/applications/{app_id}/action", data={"csrf_token": csrf_from(view.text), "do": "start",
                                                            "started_on": "2027-01-01", "ends_on": "2027-06-30"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert group_members(db, f"pilot-{app_id}") == {people["applicant"]["name"]} | facility_staff(db, "maxiv")


def test_the_group_follows_the_team(client, db, people, open_call, make_user):
    """Co-applicants who accept join, removed ones leave; facility accounts made or deactivated by an
    administrator join or leave; a membership an administrator gave by hand stays."""
    pilot = running_project(db, people["applicant"]["name"], people["coordinator"]["name"],
                            people["maxiv_staff"]["name"])  # fmt: skip
    ha = people["applicant"]["h"]
    bob = make_user(["applicant"], prefix="bob")
    token = _invite(client, db, pilot.app_id, f"{bob}@example.org", ha)
    assert bob not in group_members(db, pilot.group)
    assert client.post(f"/api/invitations/{token}/accept", headers=bearer(db, bob)).status_code == 200
    assert bob in group_members(db, pilot.group)
    # the co-applicant now reads the project (and its page)
    assert client.get(f"/api/projects/{pilot.app_id}", headers=bearer(db, bob)).status_code == 200
    co = client.get(f"/api/applications/{pilot.app_id}", headers=ha).json()["co_applicants"]
    (entry,) = [c for c in co if c["email"] == f"{bob}@example.org"]
    assert entry["accepted"] is True
    # only the owner or a coordinator removes a co-applicant
    assert client.delete(f"/api/applications/{pilot.app_id}/co-applicants/{entry['id']}",
                         headers=people["other"]["h"]).status_code == 404  # fmt: skip
    r = client.delete(f"/api/applications/{pilot.app_id}/co-applicants/{entry['id']}", headers=ha)
    assert r.status_code == 200
    assert bob not in group_members(db, pilot.group)
    assert client.get(f"/api/projects/{pilot.app_id}", headers=bearer(db, bob)).status_code == 404

    # a new MAX IV facility account joins through the admin API; deactivated, it leaves
    admin = make_user(["admin"], prefix="adm")
    hadm = bearer(db, admin)
    r = client.post("/api/admin/users", headers=hadm, json={
        "username": "facnew" + admin[-6:], "email": f"facnew{admin[-6:]}@example.org", "password": "correct-horse-battery",
        "roles": ["facility"], "organisation_id": "maxiv"})  # fmt: skip
    assert r.status_code == 201, r.text
    new_id, new_name = r.json()["id"], r.json()["username"]
    assert new_name in group_members(db, pilot.group)
    # an administrator adds someone by hand: the sync keeps them
    helper = make_user(["applicant"], prefix="help")
    hid = client.get("/api/admin/users", headers=hadm).json()
    hid = next(u["id"] for u in hid if u["username"] == helper)
    assert (
        client.patch(f"/api/admin/users/{hid}", headers=hadm, json={"groups": [pilot.group]}).status_code
        == 200
    )
    r = client.patch(f"/api/admin/users/{new_id}", headers=hadm, json={"is_active": False})
    assert r.status_code == 200
    members = group_members(db, pilot.group)
    assert new_name not in members and helper in members
    assert members >= {people["applicant"]["name"], people["maxiv_staff"]["name"]}


def test_project_page_and_api_access(client, db, people, open_call):
    from halric.catalog import service as catalog

    pilot = running_project(db, people["applicant"]["name"], people["coordinator"]["name"],
                            people["maxiv_staff"]["name"])  # fmt: skip
    ha = people["applicant"]["h"]
    with db.session() as s:  # an unpublished dataset of the project, ingested by MAX IV's staff
        ds = catalog.create_dataset(s, actor(db, people["maxiv_staff"]["name"]), {
            "type": "raw", "owner": "DanMAX", "contactEmail": "danmax@example.org", "sourceFolder": "/data/danmax/r1",
            "creationTime": "2027-02-01T10:00:00Z", "proposalIds": [pilot.proposal_id], "size": 5_000_000,
            "numberOfFiles": 3, "datasetName": "Humidity scan 1"})  # fmt: skip
    assert ds["ownerGroup"] == pilot.group
    api = client.get(f"/api/projects/{pilot.app_id}", headers=ha)
    assert api.status_code == 200
    body = api.json()
    assert body["proposal_id"] == pilot.proposal_id and body["group"] == pilot.group
    (row,) = body["datasets"]
    assert row["pid"] == ds["pid"] and row["files"] == 3 and row["size"] == 5_000_000 and row["embargo_until"]
    page = client.get(f"/projects/{pilot.app_id}", headers=ha)
    assert "Humidity scan 1" in page.text and "4.8 MiB" in page.text and "embargoed until" in page.text
    # a coordinator sees the project, but not the unpublished dataset (not in the group)
    coord = client.get(f"/api/projects/{pilot.app_id}", headers=people["coordinator"]["h"])
    assert coord.status_code == 200 and coord.json()["datasets"] == []
    # outsiders: 404 on page and API; anonymous: sign in first
    assert client.get(f"/api/projects/{pilot.app_id}", headers=people["other"]["h"]).status_code == 404
    assert client.get(f"/projects/{pilot.app_id}", headers=people["other"]["h"]).status_code == 404
    assert client.get(f"/api/projects/{pilot.app_id}", headers=people["desy_staff"]["h"]).status_code == 404
    assert client.get(f"/api/projects/{pilot.app_id}").status_code == 401
    # the lists: the applicant's projects include it, another applicant's do not
    assert pilot.app_id in [p["application_id"] for p in client.get("/api/projects", headers=ha).json()]
    assert pilot.app_id not in [
        p["application_id"] for p in client.get("/api/projects", headers=people["other"]["h"]).json()
    ]
    # reached by links: dashboard → your projects → project; application view → project page
    signin(client, people["applicant"]["name"])
    dash = client.get("/dashboard")
    assert 'href="/projects"' in dash.text
    listing = client.get("/projects")
    assert f'href="/projects/{pilot.app_id}"' in listing.text
    view = client.get(f"/applications/{pilot.app_id}")
    assert re.search(rf'href="/projects/{pilot.app_id}"', view.text)
    assert "catalog pid" not in view.text  # the free-text dataset field is gone
    # the project page links its access visit (the visit pages are served)
    page = client.get(f"/projects/{pilot.app_id}")
    assert f'href="/projects/{pilot.app_id}/visit" id="visit-link"' in page.text
    assert client.get(f"/projects/{pilot.app_id}/visit").status_code == 200
    # in OpenAPI
    spec = client.get("/api/openapi.json").json()
    assert "/api/projects/{app_id}" in spec["paths"] and "/api/projects" in spec["paths"]


@pytest.mark.parametrize("ref", ["id", "proposal"])
def test_resolve_a_project_by_either_id(db, people, open_call, ref):
    from halric.core.errors import NotFound, PermissionDenied
    from halric.projects import service as projects

    pilot = running_project(db, people["applicant"]["name"], people["coordinator"]["name"],
                            people["maxiv_staff"]["name"])  # fmt: skip
    name = str(pilot.app_id) if ref == "id" else pilot.proposal_id.lower()
    with db.session() as s:
        assert projects.for_ingest(s, actor(db, people["applicant"]["name"]), name).group_name == pilot.group
        with pytest.raises(PermissionDenied):
            projects.for_ingest(s, actor(db, people["other"]["name"]), name)
        with pytest.raises(NotFound):
            projects.resolve(s, "HALRIC-999999")


def test_the_visit_link_follows_the_visit_pages():
    """The project page links the access visit only when the hub serves its page (the visits module)."""
    from types import SimpleNamespace

    from fastapi import APIRouter, FastAPI

    from halric.web.routes.projects import VISIT_ROUTE, has_route

    bare, with_visits = FastAPI(), FastAPI()
    router = APIRouter()

    @router.get(VISIT_ROUTE)
    def visit(app_id: int) -> None:
        return None

    with_visits.include_router(router)
    assert has_route(SimpleNamespace(app=with_visits), VISIT_ROUTE)
    assert not has_route(SimpleNamespace(app=bare), VISIT_ROUTE)
