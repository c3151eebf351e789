"""One group per folder, compared as this machine resolves it (SQLite and PostgreSQL): another group cannot
register or download a folder through a symbolic link, a `//` or `..` spelling, a trailing slash, a folder
inside or around it, or a serving root; records made before the rule are still not served."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.support.accounts import add_user, bearer
from tests.support.settings import changed

from halric.catalog import folders
from halric.catalog.models import Dataset

SECRET = b"alice's private measurement\n" * 40


def _body(group: str, folder: str, **extra) -> dict:
    return {"type": "raw", "ownerGroup": group, "owner": "o", "contactEmail": "o@example.org",
            "sourceFolder": folder, "creationTime": "2025-03-04T05:06:07Z", **extra}  # fmt: skip


def _create(c: TestClient, h: dict, group: str, folder: str, files: list[str], **extra):
    r = c.post("/api/v4/datasets", json=_body(group, folder, **extra), headers=h)
    if r.status_code != 201:
        return r
    pid = r.json()["pid"]
    block = {"datasetId": pid, "size": len(SECRET) * len(files),
             "dataFileList": [{"path": p, "size": len(SECRET)} for p in files]}  # fmt: skip
    assert c.post("/api/v4/origdatablocks", json=block, headers=h).status_code == 201
    return pid


def url(pid: str, path: str) -> str:
    return f"/api/catalog/datasets/{quote(pid, safe='')}/download?path={quote(path, safe='')}"


@pytest.fixture(scope="module")
def site(app, db, tmp_path_factory):
    serve = tmp_path_factory.mktemp("claims-serve")
    with changed(db, download_roots=str(serve)):
        alice = add_user(db, ["grp-alice"], prefix="alice")
        bob = add_user(db, ["grp-bob"], prefix="bob")
        steward = add_user(db, [], roles=["steward"], prefix="stw")
        yield {"serve": serve, "h_a": bearer(db, alice), "h_b": bearer(db, bob), "h_s": bearer(db, steward)}


def _run(site) -> Path:
    """A fresh run folder with alice's file, and `current` linking to it."""
    root = site["serve"] / f"dataroot-{uuid.uuid4().hex[:6]}"
    run = root / "run7"
    run.mkdir(parents=True)
    (run / "secret.bin").write_bytes(SECRET)
    (root / "current").symlink_to(run, target_is_directory=True)
    return run


def _spell(run: Path, how: str) -> str:
    return {
        "real": str(run),
        "link": str(run.parent / "current"),
        "double-slash": str(run).replace("/run7", "//run7").replace("/", "//", 1),
        "dotdot": str(run.parent / "current" / ".." / "run7"),
        "trailing": str(run) + "/",
        "dot": str(run.parent / "." / "run7"),
    }[how]


@pytest.mark.parametrize(
    ("alice_spells", "bob_spells"),
    [("link", "real"), ("real", "link"), ("double-slash", "real"), ("real", "double-slash"),
     ("dotdot", "real"), ("real", "dotdot"), ("trailing", "real"), ("dot", "link")],
)  # fmt: skip
def test_another_group_cannot_register_the_same_folder_under_another_spelling(
    client, site, alice_spells, bob_spells
):
    run = _run(site)
    private = _create(client, site["h_a"], "grp-alice", _spell(run, alice_spells), ["secret.bin"])
    assert isinstance(private, str)
    r = _create(client, site["h_b"], "grp-bob", _spell(run, bob_spells), ["secret.bin"], isPublished=True)
    assert not isinstance(r, str), "bob catalogued alice's folder"
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert detail.startswith(
        f"sourceFolder: {run.resolve()} is already catalogued by a dataset of another group"
    )
    assert private not in detail  # bob may not read it: its pid is not revealed
    # alice's dataset records what she sent and is served to her from the real folder
    got = client.get(f"/api/v4/datasets/{quote(private, safe='')}", headers=site["h_a"]).json()
    assert got["sourceFolder"] == _spell(run, alice_spells)
    assert client.get(url(private, "secret.bin"), headers=site["h_a"]).content == SECRET
    client.cookies.clear()
    assert client.get(url(private, "secret.bin")).status_code == 404


def test_nested_folders_belong_to_one_group(client, site):
    run = _run(site)
    (run / "sub").mkdir()
    (run / "sub" / "secret.bin").write_bytes(SECRET)
    assert isinstance(_create(client, site["h_a"], "grp-alice", str(run), ["secret.bin"]), str)
    inner = _create(client, site["h_b"], "grp-bob", str(run.parent / "current" / "sub"), ["secret.bin"])
    assert inner.status_code == 409 and "(a folder around it:" in inner.json()["detail"]
    outer = _create(client, site["h_b"], "grp-bob", str(run.parent), ["run7/secret.bin"], isPublished=True)
    assert outer.status_code == 409 and "(a folder inside it:" in outer.json()["detail"]
    # the same group may catalogue a part of its own folder again, and a steward sees the pid named
    assert isinstance(_create(client, site["h_a"], "grp-alice", str(run / "sub"), ["secret.bin"]), str)
    r = client.post("/api/v4/datasets", json=_body("grp-bob", str(run)), headers=site["h_s"])
    assert r.status_code == 409 and "of group 'grp-alice'" in r.json()["detail"]
    # a folder beside it is free
    free = run.parent / "run8"
    free.mkdir()
    assert isinstance(_create(client, site["h_b"], "grp-bob", str(free), []), str)


def test_a_change_of_folder_or_group_is_checked_like_a_new_dataset(client, site):
    run = _run(site)
    assert isinstance(_create(client, site["h_a"], "grp-alice", str(run), ["secret.bin"]), str)
    own = run.parent / "bobs"
    own.mkdir()
    bobs = _create(client, site["h_b"], "grp-bob", str(own), ["secret.bin"], isPublished=True)
    assert isinstance(bobs, str)
    r = client.patch(f"/api/v4/datasets/{quote(bobs, safe='')}", headers=site["h_b"],
                     json={"sourceFolder": str(run.parent / "current")})  # fmt: skip
    assert r.status_code == 409, r.text
    client.cookies.clear()
    assert client.get(url(bobs, "secret.bin")).status_code == 404  # not on disk in bob's own folder


def test_serving_roots_and_folders_above_them_are_for_stewards_only(client, site):
    _run(site)
    serve = str(site["serve"])
    for folder in (
        serve,
        serve + "/",
        serve.replace("/", "//"),
        f"{serve}/x/..",
        "/",
        os.path.dirname(serve),
    ):
        r = client.post(
            "/api/v4/datasets", json=_body("grp-bob", folder, isPublished=True), headers=site["h_b"]
        )
        assert r.status_code == 403, (folder, r.text)
        assert "is a folder this hub serves downloads from" in r.json()["detail"]


def test_uncatalogued_files_are_reached_only_through_a_dataset_that_claims_them(client, site):
    """Bob cannot reach files that lie outside the folder his dataset claims, by any spelling or link."""
    run = _run(site)
    mine = run.parent / "bob-run"
    mine.mkdir()
    (mine / "into-run").symlink_to(run, target_is_directory=True)
    listed = ["../run7/secret.bin", "into-run/secret.bin", "/" + str(run / "secret.bin"), "into-run/../run7"]
    pid = _create(client, site["h_b"], "grp-bob", str(mine), listed, isPublished=True)
    assert isinstance(pid, str)
    client.cookies.clear()
    for path in listed:
        r = client.get(url(pid, path))
        assert r.status_code == 403 and b"private measurement" not in r.content, (path, r.text)


def test_records_made_before_the_rule_are_not_served(client, db, site):
    """Defence in depth: bob's published record names alice's folder (written before claims were checked)."""
    run = _run(site)
    alice = _create(client, site["h_a"], "grp-alice", str(run.parent / "current"), ["secret.bin", "x/y"])
    assert isinstance(alice, str)
    decoy = run.parent / "decoy"
    decoy.mkdir()
    same = _create(client, site["h_b"], "grp-bob", str(decoy), ["secret.bin"], isPublished=True)
    above = _create(client, site["h_b"], "grp-bob", str(decoy / "d2"), ["run7/secret.bin"], isPublished=True)
    legacy = _create(client, site["h_b"], "grp-bob", str(decoy / "d3"), ["secret.bin"], isPublished=True)
    with db.session() as s:  # what an older hub stored: strings as sent, and no canonical folder
        s.execute(update(Dataset).where(Dataset.pid == same).values(
            source_folder=str(run).replace("/", "//"), canonical_folder=str(run)))  # fmt: skip
        s.execute(update(Dataset).where(Dataset.pid == above).values(
            source_folder=str(run.parent), canonical_folder=str(run.parent)))  # fmt: skip
        s.execute(update(Dataset).where(Dataset.pid == legacy).values(
            source_folder=str(run.parent / "current") + "/", canonical_folder=None))  # fmt: skip
    client.cookies.clear()
    for pid, path in ((same, "secret.bin"), (above, "run7/secret.bin"), (legacy, "secret.bin")):
        for headers in ({}, site["h_b"]):
            r = client.get(url(pid, path), headers=headers)
            assert r.status_code == 403, (pid, r.text)
            assert "another dataset that you may not read" in r.json()["detail"]
            assert b"private measurement" not in r.content
        assert client.get(url(pid, path), headers=site["h_s"]).status_code == 200  # stewards read both
    assert client.get(url(alice, "secret.bin"), headers=site["h_a"]).content == SECRET


def test_a_folder_that_resolves_elsewhere_since_registration_is_not_served(client, site):
    run = _run(site)
    pid = _create(client, site["h_a"], "grp-alice", str(run.parent / "current"), ["secret.bin"])
    assert isinstance(pid, str)
    other = run.parent / "run8"
    other.mkdir()
    (other / "secret.bin").write_bytes(b"x" * len(SECRET))
    (run.parent / "current").unlink()
    (run.parent / "current").symlink_to(other)  # `current` moves on: the dataset still means run7
    r = client.get(url(pid, "secret.bin"), headers=site["h_a"])
    assert r.status_code == 200 and r.content == SECRET
    run.rename(run.parent / "run7-moved")
    run.symlink_to(other)  # run7 itself is now a link elsewhere
    r = client.get(url(pid, "secret.bin"), headers=site["h_a"])
    assert r.status_code == 409 and "resolves elsewhere since it was catalogued" in r.json()["detail"]


def test_canonical_folders(tmp_path):
    real = tmp_path / "a" / "b"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    want = str(real.resolve())
    for spelled in (
        f"{tmp_path}/link",
        f"{tmp_path}//a///b/",
        f"{tmp_path}/a/./b/../b",
        f"{tmp_path}/link/.",
    ):
        assert folders.canonical(spelled) == want, spelled
    assert folders.canonical(f"{tmp_path}/link/not-yet/c/") == want + "/not-yet/c"
    assert folders.canonical("relative/path") is None and folders.canonical("C:\\data") is None
    assert folders.canonical(str(real).upper()) != want  # this file system tells case apart
    assert folders.ancestors("/a/b") == ["/a/b", "/a", "/"]
    assert folders.is_within("/a/b", "/a") and not folders.is_within("/ab", "/a")
    assert folders.is_within("/a", "/") and folders.is_within("/a", "/a")


def test_the_upgrade_fills_canonical_folders_in_one_pass(client, db, site):
    """Migration 0012's fill: each distinct folder resolved once, every row set by one UPDATE."""
    import importlib

    fill = importlib.import_module("halric.migrations.versions.0012_catalog_canonical_folders").fill
    run = _run(site)
    pids = [
        _create(client, site["h_a"], "grp-alice", str(run.parent / "current"), ["secret.bin"]),
        _create(client, site["h_a"], "grp-alice", str(run.parent / "other"), ["a"]),
    ]
    assert all(isinstance(p, str) for p in pids)
    with db.session() as s:  # as an older hub left them: spelled as sent, nothing resolved
        s.execute(update(Dataset).where(Dataset.pid == pids[0]).values(
            source_folder=str(run.parent / "current").replace("/", "//") + "/", canonical_folder=None))  # fmt: skip
        s.execute(update(Dataset).where(Dataset.pid == pids[1]).values(canonical_folder=None))
    with db.engine.begin() as conn:
        fill(conn)
    with db.session() as s:
        got = dict(s.execute(
            Dataset.__table__.select().with_only_columns(Dataset.pid, Dataset.canonical_folder)
            .where(Dataset.pid.in_(pids))).all())  # fmt: skip
    assert got[pids[0]] == str(run.resolve())  # the link followed, the spelling normalised
    assert got[pids[1]] == folders.canonical(str(run.parent / "other"))
