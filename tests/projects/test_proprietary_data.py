"""Proprietary data: the datasets of a confidential pilot project are private to its group whatever a request
says, never released by the embargo job, get no DOI but by the team's explicit decision, and leave no trace
for anyone else — not in a listing, a count, a facet, a search, an export, PaNOSC or a landing page. The
mark follows the application (sync)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import delete, update
from tests.support.accounts import bearer

from .helpers import actor, running_project

WORD = "nightjar" + uuid.uuid4().hex[:6]


def _dataset(proposal_id: str, folder: str, **extra) -> dict:
    return {"type": "raw", "owner": "DanMAX", "contactEmail": "danmax@example.org", "sourceFolder": folder,
            "creationTime": "2027-02-01T10:00:00Z", "proposalId": proposal_id, "keywords": [WORD],
            "datasetName": f"{WORD} proprietary scan", **extra}  # fmt: skip


def _traces(client, headers: dict, pid: str, proposal_id: str, group: str) -> list[str]:
    """Every read path on which the dataset (or its proposal's or group's existence in a count) shows."""
    q = quote(pid, safe="")
    where = quote(json.dumps({"where": {"pid": pid}}))
    fields = quote(json.dumps({"text": WORD}))
    found = []
    for path in (f"/api/v3/Datasets/{q}", f"/api/v4/datasets/{q}", f"/catalog/datasets/{q}",
                 f"/api/catalog/datasets/{q}/jsonld", f"/api/v3/Datasets/findOne?filter={where}",
                 f"/panosc-api/Datasets/{q}", f"/api/catalog/datasets/{q}/files",
                 f"/api/catalog/datasets/{q}/download?path=x.h5", f"/api/catalog/datasets/{q}/download.zip"):  # fmt: skip
        r = client.get(path, headers=headers)
        assert r.status_code in (200, 403, 404), (path, r.status_code, r.text)
        if r.status_code != 404:  # 403: the dataset was found, its files are not served here
            found.append(path)
    lists = (f"/api/v3/Datasets?filter={where}", f"/api/v3/datasets/fullquery?fields={fields}",
             f"/api/catalog/export?q={WORD}", "/panosc-api/Datasets")  # fmt: skip
    for path in lists:
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
        if pid in r.text:
            found.append(path)
    for path in (f"/api/catalog/export?q={WORD}&format=csv", f"/catalog?q={WORD}", "/catalog"):
        if pid in client.get(path, headers=headers).text:
            found.append(path)
    counts = {
        f"/api/v3/Datasets/count?where={quote(json.dumps({'pid': pid}))}": lambda o: o["count"],
        f"/api/v3/Datasets/count?where={quote(json.dumps({'proposalIds': proposal_id}))}": lambda o: o[
            "count"
        ],
        f"/api/v3/Datasets/count?where={quote(json.dumps({'ownerGroup': group}))}": lambda o: o["count"],
        f"/panosc-api/Datasets/count?where={quote(json.dumps({'pid': pid}))}": lambda o: o["count"],
    }
    for path, count in counts.items():
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
        if count(r.json()):
            found.append(path)
    facets = quote(json.dumps(["proposalIds", "ownerGroup", "keywords"]))
    r = client.get(
        f"/api/v3/datasets/fullfacet?fields={quote(json.dumps({}))}&facets={facets}", headers=headers
    )
    assert r.status_code == 200, r.text
    if {proposal_id, group, WORD} & {x["_id"] for k in ("proposalIds", "ownerGroup", "keywords")
                                     for x in r.json()[0].get(k, [])}:  # fmt: skip
        found.append("fullfacet")
    r = client.get(f"/api/catalog/search?q={WORD}", headers=headers)
    out = r.json()
    values = {str(i["value"]) for items in out["facets"].values() for i in items}
    if out["total"] or out["items"] or {proposal_id, group} & values:
        found.append("search")
    r = client.get("/api/catalog/search", headers=headers)
    values = {str(i["value"]) for items in r.json()["facets"].values() for i in items}
    if {proposal_id, group} & values:
        found.append("search facets")
    return found


def test_a_confidential_projects_data_stay_with_its_team(client, db, people, open_call, make_user):
    from halric.calls.models import Application
    from halric.catalog import service
    from halric.catalog.models import Dataset, DatasetTerm, Proposal
    from halric.core.actor import system_actor
    from halric.projects import service as projects

    pilot = running_project(db, people["applicant"]["name"], people["coordinator"]["name"],
                            people["maxiv_staff"]["name"])  # fmt: skip
    coord = actor(db, people["coordinator"]["name"])
    # the application is (made) confidential: the sync marks the project's catalog proposal
    with db.session() as s:
        s.execute(update(Application).where(Application.id == pilot.app_id).values(
            confidential=True, public_summary="An industrial pilot on catalysts."))  # fmt: skip
        projects.sync(s, coord, pilot.app_id)
    with db.session() as s:
        assert s.get(Proposal, pilot.proposal_id).confidential is True
    n, team, facility = pilot.app_id, people["applicant"]["h"], people["maxiv_staff"]["h"]
    # whatever a request says, the dataset stays with the group: refused with the field, nothing stored
    for body, field in (
        (_dataset(pilot.proposal_id, f"/data/c{n}/x", isPublished=True), "isPublished"),
        (_dataset(pilot.proposal_id, f"/data/c{n}/x", accessGroups=["public"]), "accessGroups"),
    ):
        for route in ("/api/v3/datasets", "/api/v4/datasets"):
            r = client.post(route, json=body, headers=team)
            assert r.status_code == 400 and r.json()["field"] == field, r.text
            assert pilot.proposal_id in r.json()["detail"]
    with db.session() as s:
        assert s.query(Dataset).filter(Dataset.source_folder == f"/data/c{n}/x").count() == 0
    r = client.post("/api/v3/datasets", json=_dataset(pilot.proposal_id, f"/data/c{n}/a"), headers=facility)
    assert r.status_code in (200, 201), r.text
    pid = r.json()["pid"]
    assert r.json()["ownerGroup"] == pilot.group and r.json()["isPublished"] is False
    with db.session() as s:
        ds = s.get(Dataset, pid)
        assert ds.confidential and ds.never_release and ds.embargo_until is None
    q = quote(pid, safe="")
    # nor may anyone share or publish it afterwards, a data steward included
    steward = bearer(db, make_user(["steward"], prefix="stw"))
    for h in (team, steward):
        for change, field in (
            ({"isPublished": True}, "isPublished"),
            ({"accessGroups": ["x"]}, "accessGroups"),
        ):
            r = client.patch(f"/api/v3/Datasets/{q}", json=change, headers=h)
            assert r.status_code == 400 and r.json()["field"] == field, r.text
    # no DOI by the automatic paths: published data naming it is refused
    doc = {"title": "t", "abstract": "a", "creator": ["c"], "pidArray": [pid]}
    r = client.post("/api/v3/publisheddata", json=doc, headers=steward)
    assert r.status_code == 422 and r.json()["field"] == "pidArray" and "confidential" in r.json()["detail"]

    # even with an embargo end and a share written into the database behind the catalog's back, the read rule
    # hides it from everyone but the group, and the nightly release leaves it alone
    outsider = make_user(["applicant"], groups=["grp-other"], prefix="out")
    with db.session() as s:
        ds = s.get(Dataset, pid)
        ds.embargo_until, ds.never_release = ds.created_at + timedelta(seconds=1), False
        later = ds.created_at + timedelta(days=1)
    with db.session() as s:
        assert pid not in service.release_embargoed(s, system_actor("test"), now=later)
        assert s.get(Dataset, pid).is_published is False
    with db.session() as s:
        s.execute(update(Dataset).where(Dataset.pid == pid).values(
            is_published=True, access_groups=["grp-other", "hub-peer"]))  # fmt: skip
        s.add_all(DatasetTerm(dataset_pid=pid, kind="group", value=g) for g in ("grp-other", "hub-peer"))
    # another hub searching this one (fan-out) or harvesting it uses an account of this hub with its own
    # group (docs/federation.md); PaNOSC clients are anonymous
    peer = make_user(["applicant"], groups=["hub-peer"], prefix="peer")
    callers = {
        "anonymous": {},
        "another group": bearer(db, outsider),
        "peer hub / harvester": bearer(db, peer),
    }
    for who, h in callers.items():
        client.cookies.clear()
        assert _traces(client, h, pid, pilot.proposal_id, pilot.group) == [], who
    assert "search" in _traces(client, team, pid, pilot.proposal_id, pilot.group)
    assert f"/api/v3/Datasets/{q}" in _traces(client, team, pid, pilot.proposal_id, pilot.group)
    with db.session() as s:
        s.execute(update(Dataset).where(Dataset.pid == pid).values(is_published=False, access_groups=[]))
        s.execute(delete(DatasetTerm).where(DatasetTerm.dataset_pid == pid, DatasetTerm.kind == "group"))

    # the application stops being confidential: the sync lifts the mark (its embargo policy back), and back
    for secret in (False, True):
        with db.session() as s:
            s.execute(update(Application).where(Application.id == n).values(confidential=secret))
            projects.sync(s, coord, n)
        with db.session() as s:
            ds = s.get(Dataset, pid)
            assert ds.confidential is secret and (ds.embargo_until is None) is secret, secret

    # the team's explicit decision publishes it: published data pending its DOI, the mark lifted
    with db.session() as s:
        out = projects.publish(s, actor(db, people["applicant"]["name"]), n, [pid], title="Catalyst data",
                               abstract="Diffraction during regeneration.")  # fmt: skip
        assert out["pidArray"] == [pid]
    with db.session() as s:
        ds = s.get(Dataset, pid)
        assert ds.confidential is False and ds.never_release is True and ds.is_published is False
