"""Hashing on a helper thread while headers are read, and in-process lanes (``threads``): same results as
one file at a time, and the crash bookkeeping still in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from halric.ingest.dto import DatasetOptions
from halric.ingest.hashing import hash_file
from halric.ingest.journal import Journal, read_snapshot
from halric.ingest.service import IngestRequest, ingest
from halric.ingest.tasks import process_file, process_files, process_stream
from halric.ingest.writers import SciCatHttpWriter

from .scicat_standin import SciCatStandIn


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_batch_hashed_ahead_equals_each_file_alone(demo_root: Path):
    paths = _files(demo_root)
    batch = process_files(str(demo_root), paths, ["blake3", "sha256"], 1 << 16)
    alone = [process_file(str(demo_root), p, ["blake3", "sha256"], 1 << 16) for p in paths]
    assert [r["path"] for r in batch] == paths
    for b, a in zip(batch, alone, strict=True):
        assert not b.get("error"), b
        assert {k: v for k, v in b.items() if k != "seconds"} == {
            k: v for k, v in a.items() if k != "seconds"
        }
        assert b["checksums"] == hash_file(demo_root / b["path"], ["blake3", "sha256"])[0]


def test_a_damaged_or_vanished_file_in_a_batch_is_reported_and_the_rest_is_hashed(data_copy: Path):
    (data_copy / "mx" / "fake.h5").write_bytes(b"not hdf5 at all" * 100)
    paths = [*_files(data_copy), "mx/gone.h5"]
    results = {r["path"]: r for r in process_files(str(data_copy), paths, ["blake3"], 1 << 16)}
    assert "not HDF5" in results["mx/fake.h5"]["error"]
    assert results["mx/gone.h5"]["error"] == "the file disappeared before it was read"
    good = [p for p in paths if p not in ("mx/fake.h5", "mx/gone.h5")]
    assert all(results[p]["checksums"]["blake3"] == hash_file(data_copy / p)[0]["blake3"] for p in good)


@pytest.mark.parametrize("hash_threads", [1, 2])
def test_the_stream_gives_each_file_alone_in_order_with_errors_in_place(data_copy: Path, hash_threads: int):
    """In-process ingest: headers on the calling thread, checksums on helpers, a window of two files so
    the helpers are waited for often; damaged and vanished files take their place without stopping it."""
    (data_copy / "mx" / "fake.h5").write_bytes(b"not hdf5 at all" * 100)
    paths = [*_files(data_copy), "mx/gone.h5"]
    algs = ["blake3", "sha256"]
    out = list(process_stream(str(data_copy), paths, algs, 1 << 16, hash_threads=hash_threads, ahead=2))
    assert [r["path"] for r in out] == paths
    for r in out:
        if r["path"] == "mx/fake.h5":
            assert "not HDF5" in r["error"]
        elif r["path"] == "mx/gone.h5":
            assert r["error"] == "the file disappeared before it was read"
        else:
            alone = process_file(str(data_copy), r["path"], algs, 1 << 16)
            assert {k: v for k, v in r.items() if k != "seconds"} == {
                k: v for k, v in alone.items() if k != "seconds"
            }


def test_a_stream_closed_early_stops_its_helpers(data_copy: Path):
    import threading

    before = set(threading.enumerate())
    paths = _files(data_copy) * 20
    stream = process_stream(str(data_copy), paths, ["sha256"], 1 << 16, hash_threads=2, ahead=8)
    first = next(stream)
    assert first["path"] == paths[0] and first["checksums"]
    helpers = [t for t in set(threading.enumerate()) - before if t.name.startswith("halric-hash")]
    assert 1 <= len(helpers) <= 2  # the pool starts a second helper only when the first is busy
    stream.close()  # the helpers' thread pool has shut down once close() returns
    assert not [t for t in helpers if t.is_alive()]


def test_two_lanes_give_the_journal_and_catalog_of_one(data_copy: Path, tmp_path: Path):
    with SciCatStandIn() as sc:
        summaries = []
        for threads in (1, 2):
            req = IngestRequest(
                path=data_copy, split="subfolders", threads=threads,
                dataset=DatasetOptions(contact_email="pi@example.org", owner_group="g"),
            )  # fmt: skip
            s = ingest(
                req,
                SciCatHttpWriter(sc.url, sc.token),
                roots=[tmp_path],
                journal_dir=tmp_path / f"j{threads}",
            )
            summaries.append(s)
        one, two = summaries
        assert two["hashed_files"] == one["hashed_files"] == len(_files(data_copy))
        assert not one["problems"] and not two["problems"]
        snap = [
            {p: (v["state"], v["checksums"]) for p, v in read_snapshot(Path(s["journal"])).items()}
            for s in summaries
        ]
        assert snap[0] == snap[1]
        with Journal(Path(two["journal"])) as j:  # every catalog write recorded as done, with its pid
            assert all(d["state"] == "created" and d["pid"] in sc.datasets for d in j.datasets())
            assert all(b["state"] == "done" for d in j.datasets() for b in j.blocks(d["key"]))
        assert len(sc.datasets) == 2 * len(one["datasets"])


def test_catalog_writes_interrupted_after_the_creating_marks_are_looked_up(data_copy: Path, tmp_path: Path):
    """The creating marks of all datasets are written in one transaction before any dataset: a run that
    stops after writing some of them finds those in the catalog and writes only the rest."""
    with SciCatStandIn() as sc:
        writer = SciCatHttpWriter(sc.url, sc.token)
        req = IngestRequest(
            path=data_copy, split="subfolders",
            dataset=DatasetOptions(contact_email="pi@example.org", owner_group="g"),
        )  # fmt: skip
        calls = {"n": 0}
        real = writer.create_dataset

        def create_then_die(dto):
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt  # the run stops between two dataset writes
            return real(dto)

        writer.create_dataset = create_then_die  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            ingest(req, writer, roots=[tmp_path], journal_dir=tmp_path / "j")
        with Journal(next((tmp_path / "j").glob("*.sqlite"))) as j:
            states = sorted(d["state"] for d in j.datasets())
        assert states == ["created", "creating", "creating"]
        assert len(sc.datasets) == 1
        s = ingest(req, SciCatHttpWriter(sc.url, sc.token), roots=[tmp_path], journal_dir=tmp_path / "j")
        assert len(sc.datasets) == 3 == len(s["datasets"])
        assert sorted(d["created"] for d in s["datasets"]) == [False, True, True]
        assert os.path.exists(s["journal"])
