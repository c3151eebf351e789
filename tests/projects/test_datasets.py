"""Datasets land in a project through its proposal id: through the SciCat API only from the project's team
and facility contacts, owned by the project's group unless told otherwise; the proposal itself is the hub's."""

from __future__ import annotations

from tests.support.accounts import bearer

from .helpers import running_project


def _dataset(proposal_id: str, folder: str, **extra) -> dict:
    return {"type": "raw", "owner": "DanMAX", "contactEmail": "danmax@example.org", "sourceFolder": folder,
            "creationTime": "2027-02-01T10:00:00Z", "proposalId": proposal_id, **extra}  # fmt: skip


def test_scicat_create_with_a_projects_proposal_id(client, db, people, open_call, make_user):
    pilot = running_project(db, people["applicant"]["name"], people["coordinator"]["name"],
                            people["maxiv_staff"]["name"])  # fmt: skip
    n = pilot.app_id
    # the facility contact (v3 singular proposalId, no ownerGroup): accepted, owned by the project's group
    r = client.post("/api/v3/datasets", json=_dataset(pilot.proposal_id, f"/data/p{n}/a"),
                    headers=people["maxiv_staff"]["h"])  # fmt: skip
    assert r.status_code in (200, 201), r.text
    assert r.json()["ownerGroup"] == pilot.group and r.json()["proposalIds"] == [pilot.proposal_id]
    # a team member giving the ownerGroup explicitly: accepted too
    r = client.post("/api/v3/datasets", headers=people["applicant"]["h"],
                    json=_dataset(pilot.proposal_id, f"/data/p{n}/b", ownerGroup=pilot.group))  # fmt: skip
    assert r.status_code in (200, 201), r.text
    # someone outside the team, without a group of the project: refused, saying why
    r = client.post("/api/v3/datasets", json=_dataset(pilot.proposal_id, f"/data/p{n}/c"),
                    headers=people["desy_staff"]["h"])  # fmt: skip
    assert r.status_code == 403 and "ownerGroup" in r.json()["detail"]
    # ... and with a group of their own: the proposal is not theirs to add to
    outsider = make_user(["applicant"], groups=["desy-team"], prefix="out")
    ho = bearer(db, outsider)
    r = client.post("/api/v3/datasets", headers=ho,
                    json=_dataset(pilot.proposal_id, f"/data/p{n}/d", ownerGroup="desy-team"))  # fmt: skip
    assert r.status_code in (400, 403) and pilot.proposal_id in r.json()["detail"]
    # nor may they move one of their own datasets into the project afterwards
    own = {
        k: v for k, v in _dataset("-", f"/data/p{n}/e", ownerGroup="desy-team").items() if k != "proposalId"
    }
    mine = client.post("/api/v3/datasets", headers=ho, json=own)
    assert mine.status_code in (200, 201), mine.text
    pid = mine.json()["pid"]
    r = client.patch(f"/api/v3/datasets/{pid}", headers=ho, json={"proposalIds": [pilot.proposal_id]})
    assert r.status_code in (400, 403) and pilot.proposal_id in r.json()["detail"]
    assert client.get(f"/api/v3/datasets/{pid}", headers=ho).json()["proposalIds"] == []
    # one who may read the proposal (a steward shared it with their group) still may not add to it
    steward = bearer(db, make_user(["steward"], prefix="stw"))
    r = client.patch(
        f"/api/v3/proposals/{pilot.proposal_id}", headers=steward, json={"accessGroups": ["readers"]}
    )
    assert r.status_code == 200, r.text
    reader = bearer(db, make_user(["applicant"], groups=["readers"], prefix="rdr"))
    assert client.get(f"/api/v3/proposals/{pilot.proposal_id}", headers=reader).status_code == 200
    r = client.post("/api/v3/datasets", headers=reader,
                    json=_dataset(pilot.proposal_id, f"/data/p{n}/f", ownerGroup="readers"))  # fmt: skip
    assert r.status_code == 403 and "only the project's team and facility contacts" in r.json()["detail"]
    # the two accepted datasets are listed on the project page for the team
    listed = client.get(f"/api/projects/{n}", headers=people["applicant"]["h"]).json()["datasets"]
    assert len(listed) == 2


def test_the_projects_proposal_stays_the_hubs(client, db, people, open_call, make_user):
    pilot = running_project(db, people["applicant"]["name"], people["coordinator"]["name"],
                            people["maxiv_staff"]["name"])  # fmt: skip
    ha = people["applicant"]["h"]
    # the team cannot give the proposal to another group or relabel its project
    r = client.patch(f"/api/v3/proposals/{pilot.proposal_id}", headers=ha, json={"ownerGroup": "elsewhere"})
    assert r.status_code == 403 and "pilot project" in r.json()["detail"]
    other = str(pilot.app_id + 1000)  # another project's number (not "1": alone in a run, this one is 1)
    r = client.patch(f"/api/v3/proposals/{pilot.proposal_id}", headers=ha, json={"pilotProjectId": other})
    assert r.status_code == 403
    # nobody but a data steward makes proposals in the hub's HALRIC- namespace or claims a pilot project
    someone = make_user(["applicant"], groups=["lab"], prefix="lab")
    hs = bearer(db, someone)
    body = {"proposalId": "HALRIC-999999", "ownerGroup": "lab", "email": "lab@example.org", "title": "Squat"}
    r = client.post("/api/v3/proposals", headers=hs, json=body)
    assert r.status_code == 403 and "HALRIC-" in r.json()["detail"]
    r = client.post(
        "/api/v3/proposals", headers=hs, json={**body, "proposalId": "LAB-1", "pilotProjectId": "5"}
    )
    assert r.status_code == 403
    r = client.post("/api/v3/proposals", headers=hs, json={**body, "proposalId": "LAB-2"})
    assert r.status_code in (200, 201)
    steward = bearer(db, make_user(["steward"], prefix="stw"))
    r = client.post("/api/v3/proposals", headers=steward, json={**body, "proposalId": "HALRIC-999998"})
    assert r.status_code in (200, 201)
