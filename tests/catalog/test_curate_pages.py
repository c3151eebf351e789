"""The dataset page's buttons for data stewards and owner groups: publish, withdraw, share, embargo —
the same checked and audited service call as the API; errors come back by the field with the input."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import select
from tests.support.accounts import add_user, bearer, csrf_from, signin


@pytest.fixture(scope="module")
def world(app, db):
    owner = add_user(db, ["grp-cur-own"], prefix="own")
    steward = add_user(db, [], roles=["steward"], prefix="stw")
    outsider = add_user(db, ["grp-cur-out"], prefix="out")
    with TestClient(app) as c:
        body = {"type": "raw", "ownerGroup": "grp-cur-own", "owner": "o", "contactEmail": "o@example.org",
                "sourceFolder": "/data/x", "creationTime": "2025-03-04T05:06:07Z", "datasetName": "curate me"}  # fmt: skip
        r = c.post("/api/v4/datasets", json=body, headers=bearer(db, owner))
        assert r.status_code == 201, r.text
    return {"owner": owner, "steward": steward, "outsider": outsider, "pid": r.json()["pid"]}


def _page(client, pid: str):
    r = client.get("/catalog/datasets/" + quote(pid, safe=""))
    assert r.status_code == 200, r.text
    return r, html.fromstring(r.text)


def _post(client, pid: str, **data):
    r, _ = _page(client, pid)
    return client.post("/catalog/datasets/" + quote(pid, safe=""), data={"csrf_token": csrf_from(r.text), **data},
                       follow_redirects=False)  # fmt: skip


def _events(db, pid: str) -> list[tuple[str, str]]:
    from halric.core.audit import AuditEvent

    with db.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.entity_id == pid).order_by(AuditEvent.id))
        return [(e.action, e.actor_name) for e in rows]


def test_steward_shares_embargoes_publishes_and_withdraws(client, world, db):
    pid = world["pid"]
    signin(client, world["steward"])
    _, doc = _page(client, pid)
    assert doc.cssselect("#curate button[value=publish]")
    r = _post(client, pid, change="share", groups="grp-partner, grp-extra grp-partner")
    assert r.status_code == 303 and r.headers["location"].endswith("?done=share")
    assert client.get(f"/api/v4/datasets/{pid}").json()["accessGroups"] == ["grp-extra", "grp-partner"]
    r = _post(client, pid, change="embargo", embargo_until="2031-05-06")
    assert r.status_code == 303
    assert client.get(f"/api/v4/datasets/{pid}").json()["embargoUntil"].startswith("2031-05-06")
    page = client.get(r.headers["location"])
    assert "Embargo saved." in page.text and 'value="2031-05-06"' in page.text
    r = _post(client, pid, change="publish")
    assert r.status_code == 303
    client.cookies.clear()
    assert client.get("/catalog/datasets/" + quote(pid, safe="")).status_code == 200  # anyone reads it now
    signin(client, world["steward"])
    _, doc = _page(client, pid)
    assert doc.cssselect("#curate button[value=withdraw]") and not doc.cssselect("#embargo-until")
    assert _post(client, pid, change="withdraw").status_code == 303
    client.cookies.clear()
    assert client.get("/catalog/datasets/" + quote(pid, safe="")).status_code == 404
    actions = [a for a, who in _events(db, pid) if who == world["steward"]]
    assert actions == ["update", "update", "publish", "update"]


def test_a_bad_date_comes_back_by_the_field_with_the_input(client, world):
    signin(client, world["owner"])
    r = _post(client, world["pid"], change="embargo", embargo_until="next spring")
    assert r.status_code == 400
    doc = html.fromstring(r.text)
    field = doc.cssselect("#embargo-until")[0]
    assert field.get("value") == "next spring" and field.get("aria-invalid") == "true"
    assert "for example 2027-06-30" in doc.cssselect("#embargo-error")[0].text_content()


def test_others_get_no_buttons_and_cannot_post(client, world):
    pid = world["pid"]
    signin(client, world["owner"])
    assert _post(client, pid, change="share", groups="grp-cur-out").status_code == 303
    signin(client, world["outsider"])  # reads it through the share, may not change it
    r, doc = _page(client, pid)
    assert not doc.cssselect("#curate")
    r = client.post("/catalog/datasets/" + quote(pid, safe=""), data={"csrf_token": csrf_from(r.text),
                    "change": "publish"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 403
    client.cookies.clear()
    anon = client.get("/signin")
    r = client.post("/catalog/datasets/" + quote(pid, safe=""),
                    data={"csrf_token": csrf_from(anon.text), "change": "publish"}, follow_redirects=False)  # fmt: skip
    assert r.status_code in (401, 303)
