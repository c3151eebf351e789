"""Input no database can hold is refused at the edge with a 4xx and a `detail` (SQLite and PostgreSQL), and
what is already stored always comes back out (issue 13: the reproducers that answered 500)."""

from __future__ import annotations

import math
from urllib.parse import quote

import pytest
from sqlalchemy import update
from tests.support.accounts import bearer

HUGE = "397425804300448235520"


@pytest.fixture(scope="module")
def people(db):
    from tests.support.accounts import add_user

    admin = add_user(db, [], roles=["admin"], prefix="adm")
    owner = add_user(db, ["grp-bad"], prefix="own")
    return {"admin": bearer(db, admin), "owner": bearer(db, owner)}


def _dataset(**extra) -> dict:
    return {"type": "raw", "ownerGroup": "grp-bad", "owner": "o", "contactEmail": "o@example.org",
            "sourceFolder": "/nowhere/run", "creationTime": "2025-03-04T05:06:07Z", **extra}  # fmt: skip


def _refused(r, *words: str) -> str:
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail
    for w in words:
        assert w in detail, detail
    return detail


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", f"/api/calls/{HUGE}"), ("GET", "/api/calls/2147483648/ranking"),
     ("POST", "/api/match/2147483648/feedback"), ("GET", f"/api/calls/{HUGE}/ranking"),
     ("GET", f"/api/applications/{HUGE}"), ("POST", f"/api/applications/{HUGE}/invitations"),
     ("PUT", f"/api/admin/users/{HUGE}/password"), ("GET", f"/api/admin/users/-{HUGE}"),
     ("DELETE", f"/api/tokens/{HUGE}"), ("GET", "/api/admin/audit?offset=1e30"),
     ("GET", f"/api/admin/audit?offset={HUGE}"), ("GET", f"/api/catalog/search?offset={HUGE}")],
)  # fmt: skip
def test_numbers_beyond_64_bits_are_refused(client, people, method, path):
    r = client.request(method, path, headers=people["admin"], json={"email": "x@example.org",
                                                                    "password": "long-enough-password-1"})  # fmt: skip
    _refused(r)


@pytest.mark.parametrize(
    "path",
    [
        "/api/catalog/search?q=a%00b",
        "/api/v3/datasets/abc%00def",
        "/api/catalog/datasets/x%00/jsonld",
        "/api/calls?x=%00",
        "/catalog?q=%00",
    ],
)
def test_nul_in_the_address_is_refused(client, path):
    _refused(client.get(path), "NUL")


def test_nul_in_bodies_is_refused(client, people):
    h = people["owner"]
    _refused(client.post("/api/v3/datasets", json=_dataset(datasetName="a\x00b"), headers=h), "NUL")
    _refused(client.post("/api/v3/datasets", json=_dataset(pid="p\x00q"), headers=h), "NUL")
    r = client.post("/api/auth/token", json={"username": "x\x00", "password": "y"})
    _refused(r, "NUL")
    lone = b'{"username": "x\\ud800", "password": "y"}'  # JSON allows it; no database stores it
    r = client.post("/api/auth/token", content=lone, headers={"content-type": "application/json"})
    _refused(r, "surrogate")
    paired = b'{"username": "x\\ud83d\\ude00", "password": "y"}'  # an emoji: text like any other
    r = client.post("/api/auth/token", content=paired, headers={"content-type": "application/json"})
    assert r.status_code == 401, r.text
    r = client.post("/signin", content=b"username=a%00b&password=x",
                    headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 400


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(client, people, constant):
    body = '{"type": "raw", "ownerGroup": "grp-bad", "owner": "o", "contactEmail": "o@example.org", '
    body += '"sourceFolder": "/x", "creationTime": "2025-03-04T05:06:07Z", '
    body += f'"scientificMetadata": {{"t": {{"value": {constant}, "unit": "K"}}}}}}'
    r = client.post("/api/v3/datasets", content=body,
                    headers={**people["owner"], "content-type": "application/json"})  # fmt: skip
    _refused(r, constant.lstrip("-"), "finite")


def test_dates_and_sizes_beyond_storage_are_refused(client, people):
    h = people["owner"]
    _refused(client.post("/api/v3/datasets", json=_dataset(creationTime="9999-12-31T00:00:00Z"), headers=h),
             "creationTime", "2999")  # fmt: skip
    _refused(client.post("/api/v3/datasets", json=_dataset(creationTime="0001-01-01T00:00:00+05:00"), headers=h),
             "creationTime")  # fmt: skip
    pid = client.post("/api/v3/datasets", json=_dataset(), headers=h).json()["pid"]
    block = {"datasetId": pid, "size": 1e30, "dataFileList": [{"path": "a", "size": 1}]}
    _refused(client.post("/api/v3/origdatablocks", json=block, headers=h), "size")
    block = {"datasetId": pid, "size": 1, "dataFileList": [{"path": "a", "size": 2**64}]}
    _refused(client.post("/api/v3/origdatablocks", json=block, headers=h), "size")
    _refused(client.post("/api/v3/datasets", json=_dataset(dataQualityMetrics=2**40), headers=h))


@pytest.mark.parametrize(
    "pid",
    [
        "facility/run1/origdatablocks",
        "x/attachments",
        "x/datablocks",
        "x/jsonld",
        "x/files",
        "x/download",
        "x/download.zip",
        "public/x",
        "fullquery",
        "count",
        "x/../y",
        "/x",
        "x/",
        " x",
        "a\tb",
    ],
)
def test_pids_that_could_not_be_addressed_are_refused(client, people, pid):
    r = client.post("/api/v3/datasets", json=_dataset(pid=pid), headers=people["owner"])
    _refused(r, "pid")


def test_an_addressable_pid_round_trips(client, people):
    pid = "10.5555/facility/run-1.h5"
    assert client.post("/api/v3/datasets", json=_dataset(pid=pid), headers=people["owner"]).status_code == 201
    r = client.get("/api/v3/datasets/" + quote(pid, safe=""), headers=people["owner"])
    assert r.status_code == 200 and r.json()["pid"] == pid
    assert client.get(f"/api/v3/datasets/{pid}/origdatablocks", headers=people["owner"]).json() == []


def test_non_finite_numbers_already_stored_do_not_break_export_or_json_ld(client, db, people):
    """A record stored before the edge check (SQLite keeps NaN): every reader still gets valid JSON."""
    from halric.catalog.models import Dataset

    r = client.post("/api/v3/datasets", json=_dataset(isPublished=True, datasetName="nan-record",
                    scientificMetadata={"t": {"value": 1.0, "unit": "K"}}), headers=people["owner"])  # fmt: skip
    pid = r.json()["pid"]
    stored = {"t": {"value": math.nan, "unit": "K"}, "inf": math.inf, "ok": 2.5}
    if db.engine.dialect.name == "postgresql":  # JSONB refuses NaN: nothing of the kind is stored there
        with pytest.raises(Exception, match=r"(?i)json"), db.session() as s:
            s.execute(update(Dataset).where(Dataset.pid == pid).values(scientific_metadata=stored))
        return
    with db.session() as s:
        s.execute(update(Dataset).where(Dataset.pid == pid).values(scientific_metadata=stored))
    got = client.get("/api/v3/datasets/" + quote(pid, safe="")).json()
    assert got["scientificMetadata"] == {"t": {"value": None, "unit": "K"}, "inf": None, "ok": 2.5}
    assert client.get(f"/api/catalog/datasets/{quote(pid, safe='')}/jsonld").status_code == 200
    export = client.get("/api/catalog/export?q=nan-record")
    assert export.status_code == 200 and any(d["pid"] == pid for d in export.json())
    assert client.get("/api/catalog/export?format=csv").status_code == 200
