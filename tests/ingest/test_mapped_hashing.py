"""Hashing through memory mappings (issue #20): the same checksums as reading, only for settled files of
4 MiB or more and the fast hashes, a file that shrinks between windows is not read past its end, and an
ingest of settled files writes the same checksums to the catalog as an ingest that reads."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import xxhash
from blake3 import blake3

from halric.ingest import hashing
from halric.ingest.hashing import MAP_MIN, MAP_WINDOW, hash_file, mappable

HOUR = 3600.0


def _file(path: Path, nbytes: int, seed: int = 0) -> bytes:
    data = np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    path.write_bytes(data)
    return data


def _age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_mapped_hashes_equal_read_hashes_across_windows(tmp_path: Path):
    p = tmp_path / "frames.h5"
    data = _file(p, 2 * MAP_WINDOW + 12_345)  # three windows, the last one partial
    mapped, n = hash_file(p, ["blake3", "xxh3-128"], mapped=True)
    read, m = hash_file(p, ["blake3", "xxh3-128"])
    assert n == m == len(data)
    assert mapped == read
    assert mapped["blake3"] == blake3(data).hexdigest()
    assert mapped["xxh3-128"] == xxhash.xxh3_128(data).hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert hash_file(empty, ["blake3"], mapped=True) == ({"blake3": blake3(b"").hexdigest()}, 0)


def test_sha256_is_read_even_when_mapping_is_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    p = tmp_path / "f.bin"
    data = _file(p, MAP_MIN + 1)
    calls: list[int] = []
    real = hashing._hash_mapped
    monkeypatch.setattr(hashing, "_hash_mapped", lambda fd, hs: calls.append(fd) or real(fd, hs))
    digests, n = hash_file(p, ["blake3", "sha256"], mapped=True)
    assert calls == [] and n == len(data)
    assert digests["sha256"] == hashlib.sha256(data).hexdigest()
    hash_file(p, ["blake3"], mapped=True)
    assert len(calls) == 1


def test_only_settled_files_of_four_mib_or_more_are_mapped(tmp_path: Path):
    big, small = tmp_path / "big", tmp_path / "small"
    _file(big, MAP_MIN)
    _file(small, MAP_MIN - 1)
    _age(small, HOUR)
    assert not mappable(os.stat(big), 10.0), "written just now: a writer may still be at it"
    _age(big, HOUR)
    assert mappable(os.stat(big), 10.0)
    assert not mappable(os.stat(big), None), "mapping off"
    assert not mappable(os.stat(small), 10.0), "too small to be worth a mapping"
    assert not mappable(os.stat(tmp_path), 0.0), "not a regular file"
    assert mappable(os.stat(big), 0.0)


def test_a_file_that_shrinks_between_windows_is_not_read_past_its_end(tmp_path: Path):
    """The size is looked at before each window: a file cut short after the first window is hashed up to
    its new end, and the byte count tells the caller it changed (no bus error from reading past it)."""
    p = tmp_path / "shrinking.bin"
    _file(p, 3 * MAP_WINDOW)

    class Cutting:
        def __init__(self) -> None:
            self.inner, self.seen = blake3(), 0

        def update(self, data: object) -> None:
            self.inner.update(data)
            self.seen += 1
            if self.seen == 1:
                os.truncate(p, MAP_WINDOW + 100)

    h = Cutting()
    with open(p, "rb") as fh:
        n = hashing._hash_mapped(fh.fileno(), [h])
    assert n == MAP_WINDOW + 100 and h.seen == 2
    assert h.inner.hexdigest() == blake3(p.read_bytes()).hexdigest()


def test_an_ingest_of_settled_files_maps_them_and_catalogues_the_same_checksums(
    db, demo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from halric.catalog import service as cat
    from halric.core.actor import system_actor
    from halric.ingest.dto import DatasetOptions
    from halric.ingest.service import IngestRequest, ingest
    from halric.ingest.writers import HubWriter

    actor = system_actor("ingest-test", via="system")
    payload = b""
    for name in ("read", "mapped"):  # two copies of one folder, so each ingest catalogues its own
        data = tmp_path / name
        shutil.copytree(demo_root, data)
        payload = _file(data / "mx" / "extra_frames.bin", MAP_WINDOW + MAP_MIN + 7, seed=3)
        for f in data.rglob("*"):
            if f.is_file():
                _age(f, HOUR)
    mapped_files: list[int] = []
    real = hashing._hash_mapped
    monkeypatch.setattr(hashing, "_hash_mapped", lambda fd, hs: mapped_files.append(fd) or real(fd, hs))

    def run(name: str, settled: float | None) -> dict[str, str]:
        opts = DatasetOptions(contact_email="pi@example.org", owner_group="mx-team")
        req = IngestRequest(path=tmp_path / name, dataset=opts, split="subfolders", map_settled_s=settled)
        s = ingest(req, HubWriter(db, actor), roots=[tmp_path], journal_dir=tmp_path / f"j-{name}")
        assert s["problems"] == [] and s["hashed_files"] > 0, s["problems"]
        out: dict[str, str] = {}
        with db.session() as ses:
            for d in s["datasets"]:
                for b in cat.list_origdatablocks(ses, actor, d["pid"]):
                    assert b["chkAlg"] == "blake3"
                    out.update({f"{d['key']}/{f['path']}": f["chk"] for f in b["dataFileList"]})
        return out

    by_reading = run("read", None)
    assert mapped_files == []
    by_mapping = run("mapped", 10.0)
    big_enough = [f for f in (tmp_path / "mapped").rglob("*") if f.is_file() and f.stat().st_size >= MAP_MIN]
    assert len(mapped_files) == len(big_enough) >= 1
    assert by_mapping == by_reading
    assert by_mapping["mx/extra_frames.bin"] == blake3(payload).hexdigest()
