"""A user who must not see a record, tried from every path: SciCat v3/v4 API, search, counts, facets,
includes, landing pages, exports. Plus the SciCat login (JWT) and the adapter's path rules."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import quote

import jwt
import lxml.html
import pytest
from tests.support.accounts import PASSWORD, bearer

WORD = "quokka" + uuid.uuid4().hex[:6]


def login(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v3/auth/login", json={"username": username, "password": password})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def world(app, db):
    """An owner's private dataset with a file block, an attachment and a sample; an outsider; a collaborator."""
    from fastapi.testclient import TestClient
    from tests.support.accounts import add_user

    owner = add_user(db, ["grp-own"], prefix="own")
    outsider = add_user(db, ["grp-out"], prefix="out")
    collaborator = add_user(db, ["grp-collab"], prefix="col")
    with TestClient(app) as c:
        h = login(c, owner)
        smp = c.post(
            "/api/v3/Samples",
            json={"ownerGroup": "grp-own", "accessGroups": ["grp-collab"], "sampleName": f"{WORD} sample"},
            headers=h,
        ).json()
        body = {
            "datasetName": f"{WORD} private dataset", "type": "raw", "ownerGroup": "grp-own",
            "accessGroups": ["grp-collab"], "owner": owner, "contactEmail": "o@example.org",
            "sourceFolder": "/data/private", "creationTime": "2025-01-02T03:04:05Z", "keywords": [WORD],
            "proposalIds": [f"P-{WORD}"], "sampleIds": [smp["sampleId"]],
            "techniques": [{"pid": "PaNET01188", "name": "secret-technique"}],
        }  # fmt: skip
        r = c.post("/api/v4/datasets", json=body, headers=h)
        assert r.status_code == 201, r.text
        ds = r.json()
        pid = ds["pid"]
        block = c.post(
            "/api/v4/origdatablocks",
            json={"datasetId": pid, "size": 11, "dataFileList": [{"path": "x.h5", "size": 11, "time": "2025-01-02T03:04:05Z"}]},
            headers=h,
        ).json()  # fmt: skip
        att = c.post(
            "/api/v4/attachments",
            json={"caption": "pic", "ownerGroup": "grp-own", "thumbnail": "data:image/png;base64,AAAA",
                  "relationships": [{"targetId": pid, "targetType": "dataset"}]},
            headers=h,
        ).json()  # fmt: skip
        yield {
            "owner": owner, "outsider": outsider, "collaborator": collaborator, "pid": pid,
            "block": block["id"], "aid": att["aid"], "sample": smp["sampleId"],
        }  # fmt: skip


def _paths(w: dict) -> list[tuple[str, str]]:
    """(path, what a reader finds there) for every way to reach the record."""
    word = w.get("word", WORD)
    pid, q = w["pid"], quote(w["pid"], safe="")
    where = quote(json.dumps({"where": {"pid": pid}}))
    fields = quote(json.dumps({"text": word}))
    return [
        (f"/api/v3/Datasets/{q}", "status"),
        (f"/api/v4/datasets/{q}?include=origdatablocks&include=attachments", "status"),
        (f"/api/v3/Datasets/{q}/origdatablocks", "status"),
        (f"/api/v3/Datasets/{q}/attachments", "status"),
        (f"/api/v3/origdatablocks/{w['block']}", "status"),
        (f"/api/v3/attachments/{w['aid']}", "status"),
        (f"/api/v3/Samples/{w['sample']}", "status"),
        (f"/catalog/datasets/{q}", "status"),
        (f"/api/catalog/datasets/{q}/jsonld", "status"),
        (f"/api/v3/Datasets?filter={where}", "list"),
        (f"/api/v3/Datasets/findOne?filter={where}", "status"),
        (f"/api/v3/datasets/fullquery?fields={fields}", "list"),
        (f"/api/v3/Datasets/count?where={quote(json.dumps({'pid': pid}))}", "count"),
        (
            f"/api/v3/datasets/fullfacet?fields={fields}&facets=%5B%22proposalIds%22%2C%22ownerGroup%22%5D",
            "facet",
        ),
        (f"/api/v3/origdatablocks?filter={quote(json.dumps({'where': {'datasetId': pid}}))}", "list"),
        (f"/api/v3/Samples?filter={quote(json.dumps({'where': {'sampleId': w['sample']}}))}", "list"),
        (f"/api/catalog/search?q={word}", "search"),
        (f"/api/catalog/export?q={word}", "list"),
        (f"/api/catalog/export?q={word}&format=csv", "text"),
        (f"/catalog?q={word}", "text"),
    ]


def _sees(r, kind: str, w: dict) -> bool:
    if kind == "status":
        assert r.status_code in (200, 404), (r.request.url, r.status_code, r.text)
        return r.status_code == 200
    assert r.status_code == 200, (r.request.url, r.text)
    if kind == "list":
        return len(r.json()) > 0
    if kind == "count":
        return r.json()["count"] > 0
    proposal, group = w.get("proposal", f"P-{WORD}"), w.get("group", "grp-own")
    if kind == "facet":
        out = r.json()[0]
        counted = out["all"][0]["totalSets"] > 0
        assert counted == any(proposal == x["_id"] for x in out["proposalIds"])
        return counted
    if kind == "search":
        out = r.json()
        facet_values = {str(i["value"]) for items in out["facets"].values() for i in items}
        leaked = {proposal, "PaNET01188", group, w["sample"]} & facet_values
        assert (out["total"] > 0) == bool(leaked) == bool(out["items"]), out
        return out["total"] > 0
    return w["pid"] in r.text


def test_the_owner_and_the_collaborator_see_the_record_everywhere(client, world):
    for who in (world["owner"], world["collaborator"]):
        h = login(client, who)
        for path, kind in _paths(world):
            assert _sees(client.get(path, headers=h), kind, world), (who, path)


@pytest.mark.parametrize("caller", ["anonymous", "outsider-jwt", "outsider-hub-token"])
def test_someone_outside_the_groups_sees_it_nowhere(client, db, world, caller):
    headers = {}
    if caller == "outsider-jwt":
        headers = login(client, world["outsider"])
    elif caller == "outsider-hub-token":
        headers = bearer(db, world["outsider"])
    elif caller == "anonymous":
        client.cookies.clear()
    for path, kind in _paths(world):
        assert not _sees(client.get(path, headers=headers), kind, world), (caller, path)
    q = quote(world["pid"], safe="")
    r = client.patch(f"/api/v3/Datasets/{q}", json={"datasetName": "taken"}, headers=headers)
    assert r.status_code == (401 if caller == "anonymous" else 404)


def test_a_reader_by_access_group_may_not_change_it(client, world):
    h = login(client, world["collaborator"])
    q = quote(world["pid"], safe="")
    assert client.patch(f"/api/v3/Datasets/{q}", json={"datasetName": "x"}, headers=h).status_code == 403
    r = client.post(f"/api/v3/Datasets/{q}/origdatablocks", json={"size": 1, "dataFileList": []}, headers=h)
    assert r.status_code == 403


def test_landing_page_has_schema_org_jsonld(client, world):
    h = login(client, world["owner"])
    r = client.get(f"/catalog/datasets/{quote(world['pid'], safe='')}", headers=h)
    assert r.status_code == 200
    doc = lxml.html.fromstring(r.text)
    (script,) = doc.xpath('//script[@type="application/ld+json"]')
    ld = json.loads(script.text)
    assert ld["@type"] == "Dataset" and ld["@context"] == "https://schema.org/"
    assert world["pid"] in ld["identifier"] and ld["name"].startswith(WORD)
    assert ld["measurementTechnique"][0]["@id"].endswith("PaNET01188")
    assert ld["isAccessibleForFree"] is False
    assert "x.h5" in r.text and "pic" in r.text and "11 bytes" in r.text


def test_search_page_shows_facets_and_filters(client, world):
    h = login(client, world["owner"])
    r = client.get(f"/catalog?q={WORD}", headers=h)
    doc = lxml.html.fromstring(r.text)
    assert doc.xpath('//*[@id="result-count"]//strong')[0].text == "1"
    facet_links = doc.xpath('//aside[@id="facets"]//a')
    proposal = [a for a in facet_links if a.text_content().strip() == f"P-{WORD}"]
    assert proposal, [a.text_content() for a in facet_links]
    r2 = client.get(proposal[0].get("href"), headers=h)
    assert "proposal=P-" in proposal[0].get("href") and world["pid"] in r2.text
    r3 = client.get(f"/catalog?q={WORD}&proposal=other", headers=h)
    assert world["pid"] not in r3.text
    assert "not yet published" in [a.text_content().strip() for a in facet_links]
    assert client.get("/catalog?from=yesterday").status_code == 400


def test_login_answers_a_jwt_like_scicat(client, app, make_user):
    name = make_user(groups=["g-login"])
    r = client.post("/api/v3/auth/login", json={"username": name, "password": PASSWORD})
    assert r.status_code == 201
    out = r.json()
    assert out["access_token"] == out["id"] and out["access_token"].count(".") == 2
    assert out["expires_in"] == out["ttl"] == 12 * 3600
    assert out["user"]["username"] == name and out["userId"] == out["user"]["id"]
    claims = jwt.decode(out["id"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == out["ttl"] and claims["username"] == name
    h = {"Authorization": f"Bearer {out['id']}"}
    assert client.get("/api/v3/users/my/self", headers=h).json()["username"] == name
    # tampered, expired and foreign-key tokens are refused
    key = app.state.settings.signing_key
    now = int(time.time())
    bad = [
        out["id"][:-3] + ("AAA" if not out["id"].endswith("AAA") else "BBB"),
        jwt.encode({**claims, "exp": now - 10, "iat": now - 100}, key, algorithm="HS256"),
        jwt.encode({**claims, "exp": now + 100}, "another-key-" + "x" * 40, algorithm="HS256"),
    ]
    for token in bad:
        r = client.get("/api/v3/users/my/self", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
    assert client.post("/api/v3/auth/login", json={"username": name, "password": "wrong"}).status_code == 401
    # the hub's API tokens keep working on the SciCat routes
    assert client.get("/api/v3/users/my/self", headers=bearer(app.state.db, name)).status_code == 200


def test_login_is_throttled(client, make_user):
    name = make_user(groups=["g-throttle"])
    for _ in range(5):
        assert (
            client.post("/api/v3/auth/login", json={"username": name, "password": "nope-nope"}).status_code
            == 401
        )
    r = client.post("/api/v3/auth/login", json={"username": name, "password": PASSWORD})
    # a progressive wait, not a lock: 429 with Retry-After (tests/test_signin_throttle.py)
    assert r.status_code == 429 and "Too many" in r.json()["detail"] and int(r.headers["retry-after"]) > 0


def test_paths_are_case_insensitive_and_pids_url_encoded(client, make_user):
    name = make_user(groups=["g-case"])
    h = login(client, name)
    body = {"pid": "20.500.99/a/b c", "type": "derived", "ownerGroup": "g-case", "owner": name, "contactEmail": "c@x.org",
            "sourceFolder": "/d", "creationTime": "2025-01-01T00:00:00Z", "investigator": "Inv", "inputDatasets": [], "usedSoftware": ["x"]}  # fmt: skip
    assert client.post("/api/v3/DerivedDatasets", json=body, headers=h).status_code == 201
    q = quote(body["pid"], safe="")
    for path in (
        f"/api/v3/Datasets/{q}",
        f"/api/v3/datasets/{q}",
        f"/api/v4/DATASETS/{q}",
        f"/api/v4/datasets/{quote(body['pid'], safe='/')}",
    ):
        r = client.get(path, headers=h)
        assert r.status_code == 200 and r.json()["pid"] == body["pid"], path
    assert client.get(f"/api/v3/Datasets/{q}", headers=h).json()["investigator"] == "Inv"
    assert client.get(f"/api/v3/Datasets/{q}/OrigDatablocks", headers=h).json() == []
    assert client.get("/api/v3/Instruments").status_code == 200


def test_unknown_fields_and_validity_answers(client, make_user):
    name = make_user(groups=["g-valid"])
    h = login(client, name)
    body = {"type": "raw", "ownerGroup": "g-valid", "owner": name, "contactEmail": "c@x.org", "sourceFolder": "/d",
            "creationTime": "2025-01-01T00:00:00Z"}  # fmt: skip
    r = client.post("/api/v4/datasets", json={**body, "colour": "blue"}, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "colour" and r.json()["detail"].startswith("colour")
    r = client.post("/api/v4/datasets", json={**body, "numberOfFiles": "many"}, headers=h)
    assert r.status_code == 400 and r.json()["field"] == "numberOfFiles"
    r = client.post("/api/v4/datasets/isValid", json=body, headers=h)
    assert r.status_code == 200 and r.json() == {"valid": True}
    r = client.post("/api/v4/datasets/isValid", json={**body, "contactEmail": "NotAnEmail"}, headers=h)
    assert r.status_code == 200 and r.json()["valid"] is False
    assert client.post("/api/v4/datasets", json=body).status_code == 401
    r = client.get(
        "/api/v3/datasets/fullquery", params={"fields": "{}", "limits": '{"limit": "lots"}'}, headers=h
    )
    assert r.status_code == 400 and r.json()["field"] == "limits.limit"
    r = client.get("/api/v3/Datasets", params={"filter": '{"where": {"size": {"near": 3}}}'}, headers=h)
    assert r.status_code == 400 and "near" in r.json()["detail"]


# --- a confidential pilot's proprietary data (catalog/confidential.py): no trace for anyone but its team ---

SECRET = "kestrel" + uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def secret(app, db):
    """A confidential pilot's dataset (a file block, an attachment, a sample) marked published and shared
    behind the catalog's back, so only the confidential rule hides it; a clinical pilot's unpublished dataset
    found by the same word; the team; another group's user; a peer hub's harvester account (a hub token)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import update
    from tests.support.accounts import add_user

    from halric.catalog import collections
    from halric.catalog.models import Dataset
    from halric.core.actor import system_actor

    group, proposal, clinic = f"pilot-{SECRET}", f"HALRIC-{SECRET}", f"HALRIC-c{SECRET}"
    team = add_user(db, [group, f"{group}-c"], prefix="team")
    outsider = add_user(db, ["grp-rival"], prefix="riv")
    harvester = add_user(db, ["peer-hub"], prefix="hrv")
    with db.session() as s:
        for pid_, grp, secret_ in ((proposal, group, True), (clinic, f"{group}-c", False)):
            collections.put_pilot_proposal(s, system_actor("test"), pid_, pilot_project_id=pid_, owner_group=grp,
                                           fields={"title": "Pilot project", "email": "team@example.org",
                                                   "confidential": secret_})  # fmt: skip
    with TestClient(app) as c:
        h = login(c, team)
        smp = c.post(
            "/api/v3/Samples", json={"ownerGroup": group, "sampleName": f"{SECRET} sample"}, headers=h
        )
        assert smp.status_code in (200, 201), smp.text
        made = {}
        for name, prop, grp in (("pid", proposal, group), ("clinical", clinic, f"{group}-c")):
            body = {
                "datasetName": f"{SECRET} {name} scan", "type": "raw", "ownerGroup": grp, "owner": team,
                "contactEmail": "t@example.org", "sourceFolder": f"/data/{SECRET}/{name}",
                "creationTime": "2025-01-02T03:04:05Z", "keywords": [SECRET], "proposalIds": [prop],
                "sampleIds": [smp.json()["sampleId"]] if name == "pid" else [],
                "techniques": [{"pid": "PaNET01188", "name": "secret-technique"}],
            }  # fmt: skip
            r = c.post("/api/v4/datasets", json=body, headers=h)
            assert r.status_code == 201, r.text
            made[name] = r.json()["pid"]
        pid = made["pid"]
        block = c.post("/api/v4/origdatablocks", headers=h, json={"datasetId": pid, "size": 11,
                       "dataFileList": [{"path": "x.h5", "size": 11, "time": "2025-01-02T03:04:05Z"}]}).json()  # fmt: skip
        att = c.post("/api/v4/attachments", headers=h, json={"caption": "pic", "ownerGroup": group,
                     "relationships": [{"targetId": pid, "targetType": "dataset"}]}).json()  # fmt: skip
    with db.session() as s:  # behind the catalog's back: published and shared with everyone's groups
        s.execute(update(Dataset).where(Dataset.pid == pid).values(is_published=True))
    with db.session() as s:
        assert s.get(Dataset, pid).confidential is True
    yield {
        "team": team, "outsider": outsider, "harvester": harvester, "pid": pid, "clinical": made["clinical"],
        "block": block["id"], "aid": att["aid"], "sample": smp.json()["sampleId"], "word": SECRET,
        "proposal": proposal, "group": group,
    }  # fmt: skip


def _secret_paths(w: dict) -> list[tuple[str, str, bool]]:
    """Paths beyond ``_paths``: (path, kind, whether the team finds it there)."""
    q, qc, word = quote(w["pid"], safe=""), quote(w["clinical"], safe=""), w["word"]
    by_pid = quote(json.dumps({"pid": w["pid"]}))
    facets = quote(json.dumps(["proposalIds", "ownerGroup", "keywords"]))
    return [
        (f"/api/v4/datasets/{qc}", "status", True),
        (f"/api/catalog/datasets/{qc}/jsonld", "status", True),
        (f"/catalog/datasets/{qc}", "status", True),
        (f"/api/v3/Datasets/count?where={quote(json.dumps({'ownerGroup': w['group']}))}", "count", True),
        (f"/api/v3/Datasets/count?where={quote(json.dumps({'keywords': word}))}", "count", True),
        (f"/api/v3/datasets/fullfacet?fields={quote(json.dumps({}))}&facets={facets}", "any-facet", True),
        ("/api/catalog/search", "any-search", True),
        ("/api/catalog/export", "text", True),
        (f"/api/catalog/datasets/{q}/files", "status", True),
        (f"/api/catalog/datasets/{q}/download?path=x.h5", "download", True),
        (f"/api/catalog/datasets/{q}/download.zip", "download", True),
        # PaNOSC and the federation's answers are public catalogs: nobody finds a confidential dataset there
        (f"/panosc-api/Datasets/{q}", "status", False),
        (f"/panosc-api/Datasets?filter={quote(json.dumps({'where': {'pid': w['pid']}}))}", "list", False),
        (f"/panosc-api/Datasets/count?where={by_pid}", "count", False),
        ("/panosc-api/Datasets/count", "panosc-total", False),
        (f"/api/federation/search?q={word}&local=true", "text", None),
    ]


def _finds(r, kind: str, w: dict) -> bool:
    if kind == "download":  # the answer for a dataset that does not exist, or another one
        assert r.status_code in (200, 403, 404, 409, 503), (r.request.url, r.status_code, r.text)
        return not (r.status_code == 404 and "No dataset" in r.json()["detail"])
    if kind == "any-facet":
        assert r.status_code == 200, r.text
        values = {
            str(x["_id"]) for k in ("proposalIds", "ownerGroup", "keywords") for x in r.json()[0].get(k, [])
        }
        return bool({w["proposal"], w["group"], w["word"]} & values)
    if kind == "any-search":
        assert r.status_code == 200, r.text
        values = {str(i["value"]) for items in r.json()["facets"].values() for i in items}
        return bool({w["proposal"], w["group"], w["word"]} & values) or w["pid"] in r.text
    if kind == "panosc-total":
        assert r.status_code == 200, r.text
        return r.json()["count"] != w["panosc_total"]
    if kind == "text":
        assert r.status_code == 200, (r.request.url, r.text)
        return w["pid"] in r.text or w["clinical"] in r.text
    return _sees(r, kind, w)


def test_the_team_finds_its_confidential_data_everywhere_it_should(client, secret):
    h = login(client, secret["team"])
    for path, kind in _paths(secret):
        assert _sees(client.get(path, headers=h), kind, secret), path
    for path, kind, team_sees in _secret_paths(secret):
        if team_sees is not None and kind != "panosc-total":
            assert _finds(client.get(path, headers=h), kind, secret) is team_sees, path


@pytest.mark.parametrize("caller", ["anonymous", "another group", "peer hub harvester"])
def test_nobody_else_finds_a_trace_of_a_confidential_or_clinical_dataset(client, db, secret, caller):
    headers: dict[str, str] = {}
    if caller == "another group":
        headers = login(client, secret["outsider"])
    elif caller == "peer hub harvester":
        headers = bearer(db, secret["harvester"])  # how another hub harvests and fans out searches
    client.cookies.clear()
    # PaNOSC's total as it would be without the secret dataset: the public datasets, counted by the catalog
    with db.session() as s:
        from sqlalchemy import func, select

        from halric.catalog.models import Dataset

        secret["panosc_total"] = s.scalar(
            select(func.count()).where(Dataset.is_published.is_(True), Dataset.confidential.is_(False))
        )
    for path, kind in _paths(secret):
        assert not _sees(client.get(path, headers=headers), kind, secret), (caller, path)
    for path, kind, _team in _secret_paths(secret):
        assert not _finds(client.get(path, headers=headers), kind, secret), (caller, path)
    r = client.patch(
        f"/api/v3/Datasets/{quote(secret['pid'], safe='')}", json={"datasetName": "x"}, headers=headers
    )
    assert r.status_code == (401 if caller == "anonymous" else 404)
