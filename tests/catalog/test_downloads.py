"""Downloads from the hub's own catalog (SQLite and PostgreSQL): single files streamed with Range, HEAD and
checksum headers, the whole dataset as a ZIP with manifests, the access rule, the serving checks that keep
a crafted dataset record from reading other files, and the audit rows."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import quote

import lxml.html
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.support.accounts import add_user, bearer
from tests.support.settings import changed

from halric.catalog import files as catalog_files
from halric.core.audit import AuditEvent

BLAKE3 = "blake3"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blake3_hex(data: bytes) -> str:
    from blake3 import blake3

    return blake3(data).hexdigest()


def _write_h5(path: Path) -> bytes:
    import h5py
    import numpy as np

    with h5py.File(path, "w") as f:
        f.create_dataset("entry/data", data=np.arange(5000, dtype="uint16").reshape(50, 100))
        f["entry"].attrs["NX_class"] = "NXentry"
    return path.read_bytes()


@pytest.fixture(scope="module")
def env(db, tmp_path_factory):
    """Serving roots for the module and database (HALRIC_DOWNLOAD_ROOTS), restored afterwards."""
    serve = tmp_path_factory.mktemp("serve")
    outside = tmp_path_factory.mktemp("outside")
    with changed(db, download_roots=str(serve)) as cfg:
        yield {"serve": serve, "outside": outside, "cfg": cfg}


@pytest.fixture()
def roots(env):
    """Change the serving roots for one test."""

    def _set(value: str | None) -> None:
        env["cfg"].download_roots = value  # None: unset, as HALRIC_DOWNLOAD_ROOTS not given

    yield _set
    _set(str(env["serve"]))


def _dataset(
    c: TestClient, h: dict, group: str, folder: Path | str, blocks: list[tuple[str | None, list]], **extra
):
    body = {"type": "raw", "ownerGroup": group, "owner": "o", "contactEmail": "o@example.org",
            "sourceFolder": str(folder), "creationTime": "2025-03-04T05:06:07Z", "datasetName": "dl test",
            **extra}  # fmt: skip
    r = c.post("/api/v4/datasets", json=body, headers=h)
    assert r.status_code == 201, r.text
    pid = r.json()["pid"]
    for alg, entries in blocks:
        files = [{"path": p, "size": size, "time": "2025-03-04T05:06:07Z", **({"chk": chk} if chk else {})}
                 for p, size, chk in entries]  # fmt: skip
        block = {"datasetId": pid, "size": sum(f["size"] for f in files), "dataFileList": files}
        if alg:
            block["chkAlg"] = alg
        r = c.post("/api/v4/origdatablocks", json=block, headers=h)
        assert r.status_code == 201, r.text
    return pid


@pytest.fixture(scope="module")
def world(app, db, env):
    """An owner's private dataset of real files (HDF5, text, a UTF-8 name, a folder), an outsider, a steward."""
    serve, outside = env["serve"], env["outside"]
    run = serve / "run1"
    (run / "sub").mkdir(parents=True)
    data = {
        "scan.h5": _write_h5(run / "scan.h5"),
        "sub/notes.txt": b"exposure 0.1 s\n" * 300,
        "Ünïcode name.bin": os.urandom(4096),
    }
    (run / "sub/notes.txt").write_bytes(data["sub/notes.txt"])
    (run / "Ünïcode name.bin").write_bytes(data["Ünïcode name.bin"])
    (run / "alias.h5").symlink_to(run / "scan.h5")  # a link that stays inside the source folder
    (outside / "secret.txt").write_bytes(b"not for download\n")
    (run / "escape.txt").symlink_to(outside / "secret.txt")
    owner = add_user(db, ["grp-dl-own"], prefix="own")
    outsider = add_user(db, ["grp-dl-out"], prefix="out")
    steward = add_user(db, [], roles=["steward"], prefix="stw")
    h = bearer(db, owner)
    with TestClient(app) as c:
        pid = _dataset(
            c, h, "grp-dl-own", run,
            [("sha256", [("scan.h5", len(data["scan.h5"]), sha256(data["scan.h5"])),
                         ("sub/notes.txt", len(data["sub/notes.txt"]), sha256(data["sub/notes.txt"]))]),
             (BLAKE3, [("Ünïcode name.bin", 4096, blake3_hex(data["Ünïcode name.bin"])),
                       ("alias.h5", len(data["scan.h5"]), blake3_hex(data["scan.h5"]))])],
        )  # fmt: skip
    return {"pid": pid, "data": data, "run": run, "owner": owner, "outsider": outsider, "steward": steward,
            "h": h, "h_out": bearer(db, outsider), "h_stw": bearer(db, steward)}  # fmt: skip


def url(pid: str, path: str | None = None, *, what: str = "download", encode: bool = True) -> str:
    p = quote(pid, safe="") if encode else pid
    u = f"/api/catalog/datasets/{p}/{what}"
    return u if path is None else f"{u}?path={quote(path, safe='')}"


def downloads(db, pid: str) -> list[AuditEvent]:
    with db.session() as s:
        q = select(AuditEvent).where(AuditEvent.action == "download", AuditEvent.entity_id == pid)
        rows = list(s.scalars(q.order_by(AuditEvent.id)))
        s.expunge_all()
    return rows


# --- single files ----------------------------------------------------------------------------------------


def test_the_owner_downloads_a_file_with_its_checksum(client, db, world, tmp_path):
    pid, want = world["pid"], world["data"]["scan.h5"]
    r = client.get(url(pid, "scan.h5"), headers=world["h"])
    assert r.status_code == 200, r.text
    assert r.content == want
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-length"] == str(len(want))
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["etag"] and r.headers["last-modified"]
    assert r.headers["content-disposition"] == "attachment; filename=\"scan.h5\"; filename*=UTF-8''scan.h5"
    assert r.headers["x-checksum-sha256"] == sha256(want)
    assert (
        r.headers["repr-digest"]
        == "sha-256=:" + base64.b64encode(hashlib.sha256(want).digest()).decode() + ":"
    )
    assert sha256(r.content) == r.headers["x-checksum-sha256"]
    (tmp_path / "got.h5").write_bytes(r.content)
    import h5py

    with h5py.File(tmp_path / "got.h5") as f:
        assert f["entry/data"][49, 99] == 4999
    # the pid may be sent unencoded too (it contains '/')
    assert client.get(url(pid, "scan.h5", encode=False), headers=world["h"]).content == want


def test_blake3_files_and_utf8_names(client, world):
    name, want = "Ünïcode name.bin", world["data"]["Ünïcode name.bin"]
    r = client.get(url(world["pid"], name), headers=world["h"])
    assert r.status_code == 200 and r.content == want
    assert r.headers["x-checksum-blake3"] == blake3_hex(want)
    assert "repr-digest" not in r.headers  # RFC 9530 has no name for BLAKE3
    cd = r.headers["content-disposition"]
    assert cd.startswith('attachment; filename="') and cd.endswith("filename*=UTF-8''" + quote(name, safe=""))
    sub = client.get(url(world["pid"], "sub/notes.txt"), headers=world["h"])
    assert sub.content == world["data"]["sub/notes.txt"]
    assert "filename*=UTF-8''notes.txt" in sub.headers["content-disposition"]


def test_range_requests(client, world):
    pid, want, h = world["pid"], world["data"]["scan.h5"], world["h"]
    n = len(want)
    r = client.get(url(pid, "scan.h5"), headers={**h, "Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == want[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{n}" and r.headers["content-length"] == "10"
    assert r.headers["x-checksum-sha256"] == sha256(want)  # the checksum of the whole representation
    r = client.get(url(pid, "scan.h5"), headers={**h, "Range": "bytes=-7"})
    assert r.status_code == 206 and r.content == want[-7:]
    assert r.headers["content-range"] == f"bytes {n - 7}-{n - 1}/{n}"
    r = client.get(url(pid, "scan.h5"), headers={**h, "Range": f"bytes={n - 3}-"})
    assert r.status_code == 206 and r.content == want[-3:]
    r = client.get(url(pid, "scan.h5"), headers={**h, "Range": f"bytes={n - 1}-{n + 500}"})
    assert r.status_code == 206 and r.content == want[-1:]
    r = client.get(url(pid, "scan.h5"), headers={**h, "Range": f"bytes={n}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{n}"
    etag = client.head(url(pid, "scan.h5"), headers=h).headers["etag"]
    r = client.get(url(pid, "scan.h5"), headers={**h, "Range": "bytes=0-3", "If-Range": etag})
    assert r.status_code == 206 and r.content == want[:4]
    r = client.get(url(pid, "scan.h5"), headers={**h, "Range": "bytes=0-3", "If-Range": '"other"'})
    assert r.status_code == 200 and r.content == want


def test_head_answers_headers_and_is_not_audited(client, db, world):
    pid, want = world["pid"], world["data"]["scan.h5"]
    before = len(downloads(db, pid))
    r = client.head(url(pid, "scan.h5"), headers=world["h"])
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-length"] == str(len(want))
    assert r.headers["x-checksum-sha256"] == sha256(want) and r.headers["etag"]
    z = client.head(url(pid, what="download.zip"), headers=world["h"])
    assert z.status_code == 200 and z.content == b"" and int(z.headers["content-length"]) > len(want)
    assert client.get(url(pid, what="files"), headers=world["h"]).status_code == 200
    assert len(downloads(db, pid)) == before


# --- who may download ------------------------------------------------------------------------------------


def _answers(client, pid: str, headers: dict) -> list[tuple[int, str]]:
    out = []
    for method, u in (
        ("GET", url(pid, "scan.h5")),
        ("HEAD", url(pid, "scan.h5")),
        ("GET", url(pid, what="files")),
        ("GET", url(pid, what="download.zip")),
        ("HEAD", url(pid, what="download.zip")),
    ):
        r = client.request(method, u, headers=headers)
        detail = r.json()["detail"].replace(pid, "PID") if method == "GET" else ""
        out.append((r.status_code, detail))
    return out


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
def test_a_caller_who_may_not_read_gets_the_answer_for_a_missing_dataset(client, db, world, who):
    headers = {} if who == "anonymous" else world["h_out"]
    before = len(downloads(db, world["pid"]))
    seen = _answers(client, world["pid"], headers)
    missing = _answers(client, world["pid"] + "-nope", headers)
    assert seen == missing
    assert {status for status, _ in seen} == {404}
    assert all(d.startswith("No dataset with pid 'PID'") for _, d in seen if d)
    assert len(downloads(db, world["pid"])) == before
    page = client.get("/catalog/datasets/" + quote(world["pid"], safe=""), headers=headers)
    assert page.status_code == 404 and "scan.h5" not in page.text


def test_a_published_dataset_is_downloaded_anonymously_and_audited_as_anonymous(client, db, world, env):
    run = env["serve"] / "public-run"
    run.mkdir()
    body = b"published bytes\n" * 10
    (run / "p.txt").write_bytes(body)
    pid = _dataset(client, world["h"], "grp-dl-own", run, [("sha256", [("p.txt", len(body), sha256(body))])],
                   isPublished=True)  # fmt: skip
    client.cookies.clear()
    r = client.get(url(pid, "p.txt"), headers={"Range": "bytes=0-4"})
    assert r.status_code == 206 and r.content == body[:5]
    (ev,) = downloads(db, pid)
    assert ev.actor_name == "anonymous" and ev.actor_id is None and ev.ip == "testclient"
    assert ev.details == {"file": "p.txt", "range": "bytes=0-4", "size": len(body)}


def test_a_reader_by_access_group_and_a_steward_may_download(client, db, world, env):
    reader = add_user(db, ["grp-dl-read"], prefix="rd")
    run = env["serve"] / "shared-run"
    run.mkdir()
    (run / "s.bin").write_bytes(b"s" * 100)
    pid = _dataset(client, world["h"], "grp-dl-own", run, [(None, [("s.bin", 100, None)])],
                   accessGroups=["grp-dl-read"])  # fmt: skip
    r = client.get(url(pid, "s.bin"), headers=bearer(db, reader))
    assert r.status_code == 200 and r.content == b"s" * 100
    assert not [k for k in r.headers if k.startswith("x-checksum")]  # nothing recorded, nothing claimed
    assert client.get(url(pid, "s.bin"), headers=world["h_stw"]).status_code == 200


# --- what is served --------------------------------------------------------------------------------------


def test_a_path_not_listed_is_refused(client, world):
    for path in ("other.h5", "sub", "../run1/scan.h5", str(world["run"] / "scan.h5"), "./scan.h5"):
        r = client.get(url(world["pid"], path), headers=world["h"])
        assert r.status_code == 404, path
        assert "lists no file" in r.json()["detail"]


def test_a_link_inside_the_source_folder_is_served(client, world):
    r = client.get(url(world["pid"], "alias.h5"), headers=world["h"])
    assert r.status_code == 200 and r.content == world["data"]["scan.h5"]
    assert r.headers["x-checksum-blake3"] == blake3_hex(world["data"]["scan.h5"])


def test_crafted_paths_in_a_data_block_are_refused(client, world, env):
    """A dataset record may list anything; `..`, absolute paths and links out of the folder are not served."""
    secret = env["outside"] / "secret.txt"
    n = secret.stat().st_size
    traversal = os.path.relpath(secret, world["run"])
    assert traversal.startswith("..")
    pid = _dataset(
        client, world["h"], "grp-dl-own", world["run"],
        [(None, [(traversal, n, None), (str(secret), n, None), ("escape.txt", n, None),
                 ("sub/../../run1/scan.h5", len(world["data"]["scan.h5"]), None)])],
    )  # fmt: skip
    for path in (traversal, str(secret), "escape.txt", "sub/../../run1/scan.h5"):
        r = client.get(url(pid, path), headers=world["h"])
        assert r.status_code == 403, (path, r.text)
        assert "not served" in r.json()["detail"] and b"not for download" not in r.content
    z = client.get(url(pid, what="download.zip"), headers=world["h"])
    assert z.status_code == 403 and z.headers["content-type"].startswith("application/json")


def test_files_outside_the_serving_roots_are_refused(client, world, env):
    secret = env["outside"] / "secret.txt"
    pid = _dataset(client, world["h"], "grp-dl-own", env["outside"],
                   [(None, [("secret.txt", secret.stat().st_size, None)])])  # fmt: skip
    r = client.get(url(pid, "secret.txt"), headers=world["h"])
    assert r.status_code == 403 and "outside the folders this hub serves" in r.json()["detail"]
    assert client.get(url(pid, what="download.zip"), headers=world["h"]).status_code == 403
    # a source folder that is a link into the roots from outside is judged by where it leads
    link = env["serve"] / "link-to-outside"
    link.symlink_to(env["outside"], target_is_directory=True)
    pid2 = _dataset(
        client, world["h"], "grp-dl-own", link, [(None, [("secret.txt", secret.stat().st_size, None)])]
    )
    assert client.get(url(pid2, "secret.txt"), headers=world["h"]).status_code == 403


def test_the_hubs_data_directory_is_never_served(client, world, settings, roots, tmp_path_factory):
    private = settings.data_dir / "private.txt"
    private.write_bytes(b"secret key material\n")
    pid = _dataset(client, world["h"], "grp-dl-own", settings.data_dir,
                   [(None, [("private.txt", private.stat().st_size, None)])])  # fmt: skip
    roots(str(settings.data_dir.parent))  # a root that contains the data directory
    r = client.get(url(pid, "private.txt"), headers=world["h"])
    assert r.status_code == 403, r.text
    assert "outside the folders this hub serves" in r.json()["detail"]
    roots(str(settings.data_dir))  # naming the data directory itself does not open it either
    assert client.get(url(pid, "private.txt"), headers=world["h"]).status_code == 403


def test_another_groups_folder_cannot_be_catalogued_by_a_crafted_dataset(client, db, world, env):
    """The outsider catalogues the owner's folder, or the serving root above it, under their own group (even
    published): refused at registration (records made before that rule: tests/catalog/test_folder_claims.py)."""
    for folder, status in ((world["run"], 409), (env["serve"], 403)):
        body = {"type": "raw", "ownerGroup": "grp-dl-out", "owner": "o", "contactEmail": "o@example.org",
                "sourceFolder": str(folder), "creationTime": "2025-03-04T05:06:07Z", "isPublished": True}  # fmt: skip
        r = client.post("/api/v4/datasets", json=body, headers=world["h_out"])
        assert r.status_code == status and r.json()["detail"].startswith("sourceFolder: "), r.text
    # the owner (who may read it) and a steward still download
    assert client.get(url(world["pid"], "scan.h5"), headers=world["h"]).status_code == 200
    assert client.get(url(world["pid"], "scan.h5"), headers=world["h_stw"]).status_code == 200


def test_a_changed_file_answers_409_and_a_missing_one_404(client, db, world, env):
    run = env["serve"] / "changing"
    run.mkdir()
    (run / "a.bin").write_bytes(b"a" * 50)
    (run / "gone.bin").write_bytes(b"g" * 20)
    pid = _dataset(client, world["h"], "grp-dl-own", run,
                   [("sha256", [("a.bin", 50, sha256(b"a" * 50)), ("gone.bin", 20, sha256(b"g" * 20))])])  # fmt: skip
    assert client.get(url(pid, "a.bin"), headers=world["h"]).status_code == 200
    (run / "a.bin").write_bytes(b"a" * 51)
    r = client.get(url(pid, "a.bin"), headers=world["h"])
    assert r.status_code == 409 and "'a.bin'" in r.json()["detail"] and "changed" in r.json()["detail"]
    assert client.head(url(pid, "a.bin"), headers=world["h"]).status_code == 409
    (run / "a.bin").write_bytes(b"a" * 50)
    (run / "gone.bin").unlink()
    r = client.get(url(pid, "gone.bin"), headers=world["h"])
    assert r.status_code == 404 and "'gone.bin'" in r.json()["detail"] and "not on disk" in r.json()["detail"]
    z = client.get(url(pid, what="download.zip"), headers=world["h"])
    assert z.status_code == 404 and "'gone.bin'" in z.json()["detail"]
    (ev,) = downloads(db, pid)  # only the one download that was served
    assert ev.details["file"] == "a.bin"


def test_downloads_are_off_without_serving_roots(client, world, roots, env, monkeypatch):
    empty = _dataset(client, world["h"], "grp-dl-own", env["serve"] / "empty", [])
    z = client.get(url(empty, what="download.zip"), headers=world["h"])
    assert z.status_code == 200 and zipfile.ZipFile(io.BytesIO(z.content)).namelist() == [
        f"{catalog_files.archive_name(empty)}/manifest.json"
    ]
    roots("")
    z = client.get(url(empty, what="download.zip"), headers=world["h"])
    assert z.status_code == 403 and "HALRIC_DOWNLOAD_ROOTS" in z.json()["detail"]
    r = client.get(url(world["pid"], "scan.h5"), headers=world["h"])
    assert r.status_code == 403 and "HALRIC_DOWNLOAD_ROOTS" in r.json()["detail"]
    page = lxml.html.fromstring(
        client.get("/catalog/datasets/" + quote(world["pid"], safe=""), headers=world["h"]).text
    )
    assert not page.xpath("//a[contains(@href, '/download')]")
    assert "Downloads are not enabled" in page.text_content()
    roots(None)  # unset, and HALRIC_DATA_ROOTS unset: only DATA_DIR/data is served, not this folder
    monkeypatch.setattr(env["cfg"], "data_roots", None)
    assert client.get(url(world["pid"], "scan.h5"), headers=world["h"]).status_code == 403


# --- listing, landing page, ZIP ------------------------------------------------------------------------------


def test_the_file_list_pages(client, world):
    r = client.get(url(world["pid"], what="files"), headers=world["h"])
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 4 and body["size"] == sum(len(v) for v in world["data"].values()) + len(
        world["data"]["scan.h5"]
    )
    first = body["items"][0]
    assert (
        first["path"] == "scan.h5"
        and first["chkAlg"] == "sha256"
        and first["chk"] == sha256(world["data"]["scan.h5"])
    )
    assert first["url"].endswith(url(world["pid"], "scan.h5"))
    assert body["zipUrl"].endswith(url(world["pid"], what="download.zip"))
    page = client.get(url(world["pid"], what="files") + "?limit=2&offset=2", headers=world["h"]).json()
    assert [i["path"] for i in page["items"]] == ["Ünïcode name.bin", "alias.h5"] and page["total"] == 4
    assert page["items"][0]["chkAlg"] == BLAKE3


def test_the_landing_page_links_every_file_and_the_zip(client, world):
    r = client.get("/catalog/datasets/" + quote(world["pid"], safe=""), headers=world["h"])
    assert r.status_code == 200
    page = lxml.html.fromstring(r.text)
    links = {a.text_content(): a.get("href") for a in page.xpath("//table[@id='file-list']//a")}
    assert set(links) == {"scan.h5", "sub/notes.txt", "Ünïcode name.bin", "alias.h5"}
    for path, href in links.items():
        got = client.get(href, headers=world["h"])
        assert got.status_code == 200 and got.content == world["data"].get(path, world["data"]["scan.h5"])
    (zip_link,) = page.xpath("//a[normalize-space()='Download all (zip)']")
    assert zip_link.get("href") == url(world["pid"], what="download.zip")
    assert "sha256:" in page.xpath("//table[@id='file-list']")[0].text_content()


def test_the_whole_dataset_as_a_zip(client, db, world):
    pid, data = world["pid"], world["data"]
    r = client.get(url(pid, what="download.zip"), headers=world["h"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-length"] == str(len(r.content))
    top = catalog_files.archive_name(pid)
    assert r.headers["content-disposition"].endswith(f"filename*=UTF-8''{quote(top, safe='')}.zip")
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    assert zf.testzip() is None
    members = {i.filename: i for i in zf.infolist()}
    want = {**data, "alias.h5": data["scan.h5"]}
    for path, content in want.items():
        info = members[f"{top}/data/{path}"]
        assert info.compress_type == zipfile.ZIP_STORED
        assert zf.read(info) == content
    manifest = json.loads(zf.read(f"{top}/manifest.json"))
    assert manifest["pid"] == pid
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(want)
    assert listed["scan.h5"]["chk"] == sha256(data["scan.h5"]) and listed["scan.h5"]["chkAlg"] == "sha256"
    assert listed["Ünïcode name.bin"]["chkAlg"] == BLAKE3
    sums = zf.read(f"{top}/manifest-sha256.txt").decode().splitlines()
    assert sums == [
        f"{sha256(data['scan.h5'])}  data/scan.h5",
        f"{sha256(data['sub/notes.txt'])}  data/sub/notes.txt",
    ]
    for line in zf.read(f"{top}/manifest-blake3.txt").decode().splitlines():  # b3sum -c would agree
        chk, name = line.split("  ", 1)
        assert blake3_hex(zf.read(f"{top}/{name}")) == chk
    ev = downloads(db, pid)[-1]
    assert ev.actor_name == world["owner"] and ev.via == "api" and ev.ip == "testclient"
    assert ev.details == {"file": "whole dataset", "range": None, "size": len(r.content)}


def test_every_download_is_audited_with_who_and_what(client, db, world):
    pid = world["pid"]
    before = len(downloads(db, pid))
    client.get(url(pid, "sub/notes.txt"), headers={**world["h"], "Range": "bytes=5-9"})
    client.get(url(pid, "scan.h5"), headers=world["h_stw"])
    client.get(url(pid, what="download.zip"), headers=world["h_stw"])
    client.get(url(pid, "nothing-here"), headers=world["h"])  # refused: not a download
    rows = downloads(db, pid)[before:]
    assert [(e.actor_name, e.details["file"], e.details["range"]) for e in rows] == [
        (world["owner"], "sub/notes.txt", "bytes=5-9"),
        (world["steward"], "scan.h5", None),
        (world["steward"], "whole dataset", None),
    ]
    assert all(e.entity_type == "dataset" and e.ip == "testclient" for e in rows)


def test_an_ingested_dataset_downloads_with_its_blake3_checksums(client, db, world, env, tmp_path):
    """Catalogued by the real ingest (blake3), downloaded by its owner group file by file and as a ZIP."""
    from halric.core.actor import system_actor
    from halric.ingest.dto import DatasetOptions
    from halric.ingest.service import IngestRequest, ingest
    from halric.ingest.writers import HubWriter

    folder = env["serve"] / "ingested"
    folder.mkdir()
    content = {"frames.h5": _write_h5(folder / "frames.h5"), "log.txt": b"run 7 ok\n"}
    (folder / "log.txt").write_bytes(content["log.txt"])
    req = IngestRequest(
        path=folder, dataset=DatasetOptions(owner_group="grp-dl-own", contact_email="pi@example.org")
    )
    summary = ingest(req, HubWriter(db, system_actor("ingest", via="system")), roots=[env["serve"]],
                     journal_dir=tmp_path / "journal")  # fmt: skip
    (ds,) = summary["datasets"]
    pid = ds["pid"]
    for name, want in content.items():
        r = client.get(url(pid, name), headers=world["h"])
        assert r.status_code == 200 and r.content == want
        assert r.headers["x-checksum-blake3"] == blake3_hex(want)
    zf = zipfile.ZipFile(io.BytesIO(client.get(url(pid, what="download.zip"), headers=world["h"]).content))
    top = catalog_files.archive_name(pid)
    assert zf.read(f"{top}/data/frames.h5") == content["frames.h5"]
    assert f"{blake3_hex(content['log.txt'])}  data/log.txt" in zf.read(f"{top}/manifest-blake3.txt").decode()


# --- pure parts ----------------------------------------------------------------------------------------------


def test_serving_roots_follow_the_settings(monkeypatch, settings, tmp_path):
    def cfg(**roots):
        return settings.model_copy(update=roots)

    both = cfg(download_roots=None, data_roots=f"{tmp_path}/a:{tmp_path}/b")
    assert catalog_files.Serving.from_settings(both).roots == ((tmp_path / "a"), (tmp_path / "b"))
    own = cfg(download_roots=str(tmp_path / "c"), data_roots=str(tmp_path / "a"))
    assert catalog_files.Serving.from_settings(own).roots == (tmp_path / "c",)
    off = cfg(download_roots="", data_roots=str(tmp_path))
    assert catalog_files.Serving.from_settings(off).roots == ()
    unset = cfg(download_roots=None, data_roots=None)  # `make run`: DATA_DIR/data
    default = catalog_files.Serving.from_settings(unset)
    assert default.roots == ((settings.data_dir / "data").resolve(),)
    assert default.allows((settings.data_dir / "data" / "run1" / "a.h5").resolve())
    assert not default.allows((settings.data_dir / "halric.db").resolve())
    assert not default.allows((settings.data_dir / "secret_key").resolve())
    serving = catalog_files.Serving.from_settings(own)
    assert settings.data_dir.resolve() in serving.private


def test_the_data_directory_stays_private_unless_the_root_is_chosen_inside_it(tmp_path):
    data = tmp_path / "var"
    broad = catalog_files.Serving((tmp_path,), (data,))
    assert broad.allows(tmp_path / "run" / "a.h5")
    assert not broad.allows(data / "secret_key") and not broad.allows(data / "datasets" / "a.h5")
    assert not catalog_files.Serving((data,), (data,)).allows(data / "secret_key")
    inner = catalog_files.Serving((data / "datasets",), (data,))
    assert inner.allows(data / "datasets" / "a.h5") and not inner.allows(data / "secret_key")
    assert not inner.allows(tmp_path / "elsewhere")


def test_a_zip_over_4_gib_uses_zip64_and_reads_back(tmp_path):
    """A sparse 4 GiB + 100 B file streams into a ZIP whose announced size is exact and which zipfile reads."""
    import struct

    big = tmp_path / "big.raw"
    n = 4 * 1024**3 + 100
    with big.open("wb") as f:
        f.truncate(n)
        f.seek(n - 5)
        f.write(b"tail!")
    entry = catalog_files.FileEntry("deep/big.raw", n, None, "ab" * 32, "sha256")
    chunks, size = catalog_files.zip_stream("pfx/big", [catalog_files.ServedFile(entry, big, big.stat())])
    out, zero, written = tmp_path / "out.zip", bytes(1 << 16), 0
    with out.open("wb") as f:  # written sparse: the zeros are skipped, not stored
        for c in chunks:
            if len(c) == len(zero) and c == zero:
                f.seek(len(c), 1)
            else:
                f.write(c)
            written += len(c)
        f.truncate(written)
    assert written == size > 4 * 1024**3
    zf = zipfile.ZipFile(out)
    info = zf.getinfo("pfx_big/data/deep/big.raw")
    assert info.file_size == n and info.compress_type == zipfile.ZIP_STORED
    assert b"\x01\x00" in info.extra[:2]  # the ZIP64 extra field
    with out.open("rb") as f:  # the last bytes of the member, read where the local header says it starts
        f.seek(info.header_offset)
        head = f.read(30)
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        f.seek(info.header_offset + 30 + name_len + extra_len + n - 5)
        assert f.read(5) == b"tail!"
    assert "ab" * 32 + "  data/deep/big.raw" in zf.read("pfx_big/manifest-sha256.txt").decode()


# --- the command line ----------------------------------------------------------------------------------------


def _cli(args: list[str], settings) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(settings.data_dir)}
    if settings.download_roots is not None:  # the command reads the hub's settings from its environment
        env["HALRIC_DOWNLOAD_ROOTS"] = settings.download_roots
    return subprocess.run([sys.executable, "-m", "halric.cli.main", "download", *args], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_halric_download_copies_and_verifies(db, settings, world, env, tmp_path):
    pid, data = world["pid"], world["data"]
    r = _cli([pid, "--out", str(tmp_path / "all"), "--json"], settings)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert {f["path"]: f["verified"] for f in report["files"]} == {p: True for p in [*data, "alias.h5"]}
    for path, content in data.items():
        assert (tmp_path / "all" / path).read_bytes() == content
    ev = downloads(db, pid)[-1]
    assert ev.via == "cli" and ev.details["file"] == "whole dataset"
    again = _cli([pid, "--out", str(tmp_path / "all")], settings)
    assert again.returncode == 2 and "exists" in again.stderr and "--overwrite" in again.stderr
    # a user's token applies their rights: the outsider is told what a missing dataset answers
    token = bearer(db, world["outsider"])["Authorization"].split()[1]
    r = _cli([pid, "--file", "scan.h5", "--token", token, "--out", str(tmp_path / "o")], settings)
    assert r.returncode == 2 and "No dataset with pid" in r.stderr and not (tmp_path / "o").exists()
    owner_token = bearer(db, world["owner"])["Authorization"].split()[1]
    r = _cli(
        [pid, "--file", "sub/notes.txt", "--token", owner_token, "--out", str(tmp_path / "one")], settings
    )
    assert r.returncode == 0 and "checksum ok" in r.stdout
    assert (tmp_path / "one" / "sub" / "notes.txt").read_bytes() == data["sub/notes.txt"]
    assert downloads(db, pid)[-1].actor_name == world["owner"]


def test_halric_download_refuses_a_copy_that_does_not_match(client, settings, world, env, tmp_path):
    run = env["serve"] / "tampered"
    run.mkdir()
    (run / "t.bin").write_bytes(b"x" * 64)
    pid = _dataset(client, world["h"], "grp-dl-own", run, [("sha256", [("t.bin", 64, sha256(b"x" * 64))])])
    (run / "t.bin").write_bytes(b"y" * 64)  # same size, other content
    r = _cli([pid, "--out", str(tmp_path)], settings)
    assert r.returncode == 2 and "t.bin" in r.stderr and "checksum" in r.stderr
    assert list(tmp_path.iterdir()) == []
