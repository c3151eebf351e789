"""Ingest into a SciCat-compatible catalog (a stand-in HTTP server on 127.0.0.1) and verify."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from halric.core.errors import InvalidInput, NotAuthenticated, PermissionDenied, Unprocessable
from halric.ingest.dto import DatasetOptions
from halric.ingest.journal import Journal
from halric.ingest.service import IngestRequest, ingest, open_journal, verify
from halric.ingest.writers import SciCatHttpWriter

from .helpers import run_cli
from .scicat_standin import SciCatStandIn


def _req(path: Path, **kw) -> IngestRequest:
    return IngestRequest(
        path=path, dataset=DatasetOptions(contact_email="pi@example.org", owner_group="mx-team"), **kw
    )


def _run(path: Path, sc: SciCatStandIn, tmp_path: Path, **kw):
    writer = SciCatHttpWriter(sc.url, sc.token)
    return ingest(_req(path, **kw), writer, roots=[tmp_path], journal_dir=tmp_path / "journals")


def test_ingest_registers_dataset_with_metadata_and_checksums(
    data_copy: Path, scicat: SciCatStandIn, tmp_path: Path
):
    s = _run(data_copy / "mx", scicat, tmp_path, extra_algorithms=["sha256"])
    assert s["problems"] == [] and s["files"] == 4 and s["hashed_files"] == 4
    assert s["checksum_algorithm"] == "blake3" and s["checksum_algorithms"] == ["blake3", "sha256"]
    (pid,) = scicat.datasets
    ds = scicat.datasets[pid]
    assert s["datasets"][0]["pid"] == pid
    assert ds["sourceFolder"] == str(data_copy / "mx") and ds["ownerGroup"] == "mx-team"
    assert ds["scientificMetadata"]["sample_temperature"] == {"value": 100.0, "unit": "K"}
    assert ds["scientificMetadata"]["entry_definition"]["value"] == "NXmx"
    assert ds["techniques"] == [
        {"pid": "http://purl.org/pan-science/PaNET/PaNET01164", "name": "macromolecular crystallography"}
    ]
    assert ds["creationTime"].startswith("2026-03-14T09:30")
    (block,) = scicat.blocks.values()
    assert block["chkAlg"] == "blake3" and block["ownerGroup"] == "mx-team"
    files = {f["path"]: f for f in block["dataFileList"]}
    assert sorted(files) == sorted(p.name for p in (data_copy / "mx").iterdir())
    from blake3 import blake3

    master = data_copy / "mx" / "lyso_sweep1_master.h5"
    assert files[master.name]["chk"] == blake3(master.read_bytes()).hexdigest()
    assert files[master.name]["size"] == master.stat().st_size
    assert ds["size"] == sum(f["size"] for f in files.values())


def test_second_run_changes_nothing_and_a_changed_file_is_reported(
    data_copy: Path, scicat: SciCatStandIn, tmp_path: Path
):
    _run(data_copy, scicat, tmp_path, split="subfolders")
    assert len(scicat.datasets) == 3
    posts = [x for x in scicat.log if x[0] == "POST"]
    again = _run(data_copy, scicat, tmp_path, split="subfolders")
    assert again["hashed_files"] == 0 and again["skipped_unchanged"] == again["files"]
    assert [x for x in scicat.log if x[0] == "POST"] == posts  # no duplicate records
    assert all(not d["created"] and d["files_added"] == 0 for d in again["datasets"])

    dat = next((data_copy / "saxs").glob("*_iq.dat"))
    dat.write_text(dat.read_text() + "# edited\n")
    third = _run(data_copy, scicat, tmp_path, split="subfolders")
    assert third["hashed_files"] == 1
    assert third["changed"] == [{"path": f"saxs/{dat.name}", "content_changed": True, "catalogued": True}]
    assert any("changed after it was catalogued" in p["problem"] for p in third["problems"])
    assert [x for x in scicat.log if x[0] == "POST"] == posts

    (data_copy / "saxs" / "late.txt").write_text("a file that arrived later\n")
    fourth = _run(data_copy, scicat, tmp_path, split="subfolders")
    saxs = next(d for d in fourth["datasets"] if d["key"] == "saxs")
    assert saxs["files_added"] == 1 and "late.txt" in scicat.files_of(saxs["pid"])
    assert len(scicat.datasets) == 3


def test_bad_files_are_reported_and_skipped_without_stopping(
    data_copy: Path, scicat: SciCatStandIn, tmp_path: Path
):
    folder = data_copy / "mx"
    (folder / "notes.h5").write_text("this is not HDF5")
    good = (folder / "lyso_sweep1_data_000002.h5").read_bytes()
    (folder / "cut_data.h5").write_bytes(good[:4096])  # a truncated HDF5 file
    os.symlink(folder / "lyso_sweep1_master.h5", folder / "link.h5")
    s = _run(folder, scicat, tmp_path)
    problems = {p["path"]: p["problem"] for p in s["problems"]}
    assert "not HDF5" in problems["notes.h5"]
    assert "truncated" in problems["cut_data.h5"]
    assert "symbolic link" in problems["link.h5"]
    assert s["files"] == 4 and s["failed"] == 2
    (pid,) = scicat.datasets
    assert "notes.h5" not in scicat.files_of(pid) and "lyso_sweep1_master.h5" in scicat.files_of(pid)


def test_paths_outside_the_data_roots_and_missing_inputs_are_refused(
    data_copy: Path, scicat: SciCatStandIn, tmp_path: Path
):
    writer = SciCatHttpWriter(scicat.url, scicat.token)
    with pytest.raises(PermissionDenied, match="outside the allowed data roots"):
        ingest(_req(data_copy), writer, roots=[tmp_path / "elsewhere"], journal_dir=tmp_path / "j")
    with pytest.raises(InvalidInput, match="contact_email"):
        ingest(IngestRequest(path=data_copy), writer, roots=[tmp_path], journal_dir=tmp_path / "j")
    with pytest.raises(NotAuthenticated, match="--token"):
        ingest(
            _req(data_copy),
            SciCatHttpWriter(scicat.url, "wrong"),
            roots=[tmp_path],
            journal_dir=tmp_path / "j",
        )
    assert not scicat.datasets


def test_lost_responses_and_failures_resume_without_duplicates(
    data_copy: Path, scicat: SciCatStandIn, tmp_path: Path
):
    folder = data_copy / "saxs"
    scicat.store_then_fail = True  # the catalog stores the dataset, the answer is lost
    with pytest.raises(Unprocessable, match="500"):
        _run(folder, scicat, tmp_path, block_files=1)
    assert len(scicat.datasets) == 1
    scicat.fail_block_posts_after = 1  # second datablock fails
    with pytest.raises(Unprocessable, match="500"):
        _run(folder, scicat, tmp_path, block_files=1)
    assert len(scicat.blocks) == 1
    s = _run(folder, scicat, tmp_path, block_files=1)
    assert len(scicat.datasets) == 1 and s["datasets"][0]["created"] is False
    (pid,) = scicat.datasets
    assert len(scicat.blocks) == 2
    assert scicat.files_of(pid) == sorted(p.name for p in folder.iterdir())  # each file exactly once
    assert s["hashed_files"] == 0


def test_verify_reports_changed_and_missing_files(data_copy: Path, scicat: SciCatStandIn, tmp_path: Path):
    s = _run(data_copy / "tomo", scicat, tmp_path)
    pid = s["datasets"][0]["pid"]
    writer = SciCatHttpWriter(scicat.url, scicat.token)
    ok = verify(pid, writer, roots=[tmp_path], journal_dir=tmp_path / "journals")
    assert ok["verified"] and ok["ok"] == ok["files"] == s["files"]
    tifs = sorted((data_copy / "tomo").glob("*.tif"))
    raw = bytearray(tifs[0].read_bytes())
    raw[-1] ^= 0xFF  # same size, different content
    tifs[0].write_bytes(bytes(raw))
    tifs[1].unlink()
    (data_copy / "tomo" / "extra.txt").write_text("x")
    bad = verify(str(data_copy / "tomo"), writer, roots=[tmp_path], journal_dir=tmp_path / "journals")
    assert not bad["verified"] and bad["pid"] == pid
    assert [c["path"] for c in bad["changed"]] == [tifs[0].name]
    assert bad["missing"] == [tifs[1].name] and bad["not_in_catalog"] == ["extra.txt"]


def test_ingest_on_a_real_dask_cluster_matches_in_process(
    data_copy: Path, scicat: SciCatStandIn, tmp_path: Path
):
    from halric.ingest.runner import dask_client

    writer = SciCatHttpWriter(scicat.url, scicat.token)
    with dask_client(2, None) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        s = ingest(_req(data_copy, split="subfolders"), writer, roots=[tmp_path], journal_dir=tmp_path / "j1",
                   client=client)  # fmt: skip
    assert s["problems"] == [] and s["hashed_files"] == s["files"] > 10
    with Journal(next((tmp_path / "j1").glob("*.sqlite"))) as j:
        dask_sums = {f.path: f.checksums for f in j.files()}
    other = SciCatStandIn()
    with other:
        serial = ingest(_req(data_copy, split="subfolders"), SciCatHttpWriter(other.url, other.token),
                        roots=[tmp_path], journal_dir=tmp_path / "j2")  # fmt: skip
    with Journal(next((tmp_path / "j2").glob("*.sqlite"))) as j:
        assert {f.path: f.checksums for f in j.files()} == dask_sums
    assert serial["files"] == s["files"]


def test_cli_ingest_json_contract_and_verify_exit_codes(
    data_copy: Path, scicat: SciCatStandIn, ingest_env, tmp_path
):
    args = ["ingest", str(data_copy / "mx"), "--catalog", scicat.url, "--token", scicat.token,
            "--contact-email", "pi@example.org", "--owner-group", "mx-team", "--workers", "0", "--json",
            "--sha256", "--manifest", str(tmp_path / "sums")]  # fmt: skip
    r = run_cli(args, ingest_env)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert len(s["datasets"]) == 1 and s["datasets"][0]["pid"] in scicat.datasets
    assert s["files"] == 4 and s["bytes"] == sum(p.stat().st_size for p in (data_copy / "mx").iterdir())
    assert s["checksum_algorithm"] == "blake3"
    sums = (tmp_path / "sums" / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 4 and all(len(line.split("  ")[0]) == 64 for line in sums)
    v = run_cli(["verify", s["datasets"][0]["pid"], "--catalog", scicat.url, "--token", scicat.token,
                 "--workers", "0", "--json"], ingest_env)  # fmt: skip
    assert v.returncode == 0 and json.loads(v.stdout)["verified"] is True
    target = data_copy / "mx" / "lyso_sweep1_data_000001.h5"
    target.write_bytes(target.read_bytes()[:-1] + b"\x01")
    v = run_cli(["verify", str(data_copy / "mx"), "--catalog", scicat.url, "--token", scicat.token,
                 "--workers", "0"], ingest_env)  # fmt: skip
    assert v.returncode == 1 and "changed" in v.stdout and target.name in v.stdout
    r = run_cli(["ingest", "/etc", "--catalog", scicat.url, "--token", scicat.token, "--contact-email", "a@b.org"],
                ingest_env)  # fmt: skip
    assert r.returncode == 2 and r.stderr.startswith(
        "halric: error: path: /etc is outside the allowed data roots"
    )
    assert r.stderr.count("\n") == 1


def test_journal_survives_in_a_consistent_state(data_copy: Path, scicat: SciCatStandIn, tmp_path: Path):
    """Reading the journal while a batch is committed never shows half a batch (SQLite transaction)."""
    writer = SciCatHttpWriter(scicat.url, scicat.token)
    with open_journal(data_copy.resolve(), writer, tmp_path / "jj") as j:
        j.start_run()
        j.sync([("a", ".", 1, 1), ("b", ".", 2, 2)], ["blake3"])
        try:
            with j.tx():
                j.db.execute("UPDATE files SET state = 'done' WHERE path = 'a'")
                raise RuntimeError("crash inside the transaction")
        except RuntimeError:
            pass
        assert j.counts() == {"pending": 2}
        t = time.time()
        j.record_results([{"path": "a", "size": 1, "mtime_ns": 1, "checksums": {"blake3": "00"}}])
        assert j.counts() == {"done": 1, "pending": 1} and time.time() - t < 5
