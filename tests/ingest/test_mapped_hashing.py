"""Hashing through memory mappings (issue #20): the same checksums as reading, only for settled files and
the fast hashes, each file the way its size calls for, a file that shrinks between windows is not read past
its end, and an ingest of settled files writes the same checksums to the catalog as an ingest that reads."""

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


class _Spy:
    """Records which way ``hash_file`` hashed: windows (``_hash_mapped``), one BLAKE3 call (``update_mmap``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.windows: list[int] = []
        self.whole: list[str] = []
        real_windows, real_new = hashing._hash_mapped, hashing.new_hasher
        spy = self

        class Whole:
            def __init__(self, inner: object) -> None:
                self.inner = inner

            def update_mmap(self, path: object) -> object:
                spy.whole.append(str(path))
                return self.inner.update_mmap(path)  # type: ignore[attr-defined]

            def __getattr__(self, name: str) -> object:
                return getattr(self.inner, name)

        monkeypatch.setattr(
            hashing, "_hash_mapped", lambda fd, hs: self.windows.append(fd) or real_windows(fd, hs)
        )
        monkeypatch.setattr(hashing, "new_hasher", lambda name: Whole(real_new(name)))


def test_each_file_is_hashed_the_way_its_size_and_hashes_call_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    small, middle, big = tmp_path / "small", tmp_path / "middle", tmp_path / "big"
    data = {p: _file(p, n, seed=i) for i, (p, n) in enumerate(((small, 70_000), (middle, MAP_MIN + 1),
                                                                (big, MAP_WINDOW + 1)))}  # fmt: skip
    spy = _Spy(monkeypatch)
    for p, b in data.items():  # BLAKE3 alone: one call under a window, windows above
        assert hash_file(p, ["blake3"], mapped=True) == ({"blake3": blake3(b).hexdigest()}, len(b))
    assert spy.whole == [str(small), str(middle)] and len(spy.windows) == 1
    spy.whole.clear()
    spy.windows.clear()
    for p, b in data.items():  # XXH3-128 (or both fast hashes): windows from MAP_MIN, read below
        digests, n = hash_file(p, ["xxh3-128", "blake3"], mapped=True)
        assert digests == {"xxh3-128": xxhash.xxh3_128(b).hexdigest(), "blake3": blake3(b).hexdigest()}
        assert n == len(b)
    assert spy.whole == [] and len(spy.windows) == 2
    spy.windows.clear()
    for p, b in data.items():  # SHA-256 among them, or mapping not allowed: read
        assert hash_file(p, ["blake3", "sha256"], mapped=True)[0]["sha256"] == hashlib.sha256(b).hexdigest()
        assert hash_file(p, ["blake3"])[0]["blake3"] == blake3(b).hexdigest()
    assert spy.whole == [] and spy.windows == []


def test_only_settled_regular_files_are_mapped(tmp_path: Path):
    f = tmp_path / "frames"
    _file(f, 1000)
    assert not mappable(os.stat(f), 10.0), "written just now: a writer may still be at it"
    _age(f, HOUR)
    assert mappable(os.stat(f), 10.0)
    assert not mappable(os.stat(f), None), "mapping off"
    assert not mappable(os.stat(tmp_path), 0.0), "not a regular file"
    assert mappable(os.stat(f), 0.0)


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
    spy = _Spy(monkeypatch)

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
    assert spy.windows == spy.whole == []
    by_mapping = run("mapped", 10.0)
    files = [f for f in (tmp_path / "mapped").rglob("*") if f.is_file()]
    assert len(spy.windows) == sum(f.stat().st_size >= MAP_WINDOW for f in files) == 1
    assert len(spy.whole) == sum(f.stat().st_size < MAP_WINDOW for f in files) >= 3
    assert by_mapping == by_reading
    assert by_mapping["mx/extra_frames.bin"] == blake3(payload).hexdigest()
