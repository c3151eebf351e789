"""Reading ahead (issue #20): a file read rather than mapped is copied chunk k+1 by a reader thread while its
hashing thread hashes chunk k — the same checksums as reading in turn, the reads really overlap the hashing,
a hash that fails leaves no read in flight, and a file cut short while it is hashed is hashed to its new end."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np
import pytest
import xxhash
from blake3 import blake3

from halric.ingest import hashing
from halric.ingest.hashing import hash_file

CHUNK = 64 * 1024


def _file(path: Path, nbytes: int, seed: int = 0) -> bytes:
    data = np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    path.write_bytes(data)
    return data


class _Reads:
    """Records each ``preadv`` the hashing module makes: offset, thread, and whether one is running."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.real = os.preadv
        self.offsets: list[int] = []
        self.threads: set[str] = set()
        self.running = 0
        self.started = threading.Condition()
        monkeypatch.setattr(hashing.os, "preadv", self)

    def __call__(self, fd: int, buffers: list, offset: int) -> int:
        with self.started:
            self.offsets.append(offset)
            self.threads.add(threading.current_thread().name)
            self.running += 1
            self.started.notify_all()
        try:
            return self.real(fd, buffers, offset)
        finally:
            with self.started:
                self.running -= 1

    def wait_for(self, offset: int, timeout: float = 5.0) -> bool:
        with self.started:
            return self.started.wait_for(lambda: offset in self.offsets, timeout)


@pytest.mark.parametrize("nbytes", [3 * CHUNK + 123, 4 * CHUNK, CHUNK + 1])
def test_read_ahead_gives_the_checksums_of_reading_in_turn(tmp_path: Path, nbytes: int):
    p = tmp_path / "frames.raw"
    data = _file(p, nbytes)
    algs = ["blake3", "xxh3-128", "sha256"]
    ahead, n = hash_file(p, algs, chunk=CHUNK)
    in_turn, m = hash_file(p, algs, chunk=CHUNK, read_ahead=False)
    assert n == m == nbytes
    assert (
        ahead
        == in_turn
        == {
            "blake3": blake3(data).hexdigest(),
            "xxh3-128": xxhash.xxh3_128(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    )


def test_the_next_chunk_is_read_while_this_one_is_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Each update waits until the read of the following chunk has started: with reading and hashing in
    turn on one thread that never happens and the waits time out."""
    p = tmp_path / "frames.raw"
    data = _file(p, 4 * CHUNK)
    reads = _Reads(monkeypatch)
    overlapped: list[bool] = []

    class Waiting:
        def __init__(self) -> None:
            self.inner, self.done = hashlib.sha256(), 0

        def update(self, part: object) -> None:
            self.done += len(part)  # type: ignore[arg-type]
            overlapped.append(reads.wait_for(self.done))  # the read at the end of this chunk
            self.inner.update(part)

        def hexdigest(self) -> str:
            return self.inner.hexdigest()

    monkeypatch.setattr(hashing, "new_hasher", lambda name: Waiting())
    digests, n = hash_file(p, ["sha256"], chunk=CHUNK)
    assert n == len(data) and digests["sha256"] == hashlib.sha256(data).hexdigest()
    assert overlapped == [True] * 4
    assert reads.offsets == [0, CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK]
    assert all(t.startswith("halric-read-ahead") for t in reads.threads)
    assert threading.current_thread().name not in reads.threads


def test_a_small_file_or_read_ahead_off_is_read_on_the_hashing_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    reads = _Reads(monkeypatch)
    small, big = tmp_path / "small", tmp_path / "big"
    _file(small, CHUNK)
    _file(big, 3 * CHUNK)
    hash_file(small, ["sha256"], chunk=CHUNK)
    hash_file(big, ["sha256"], chunk=CHUNK, read_ahead=False)
    assert reads.offsets == []


def test_a_hash_that_fails_leaves_no_read_in_flight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    p = tmp_path / "frames.raw"
    _file(p, 5 * CHUNK)
    reads = _Reads(monkeypatch)

    class Failing:
        def update(self, part: object) -> None:
            assert reads.wait_for(CHUNK)  # the next read has started
            raise RuntimeError("disk went away")

    monkeypatch.setattr(hashing, "new_hasher", lambda name: Failing())
    with pytest.raises(RuntimeError, match="disk went away"):
        hash_file(p, ["sha256"], chunk=CHUNK)
    assert reads.running == 0, "a read was still copying into the thread's buffer"
    # the thread's buffers are whole again: the next file hashes right
    data = _file(p, 3 * CHUNK + 7, seed=3)
    monkeypatch.undo()
    assert hash_file(p, ["sha256"], chunk=CHUNK)[0]["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_file_cut_short_while_it_is_hashed_is_hashed_to_its_new_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    p = tmp_path / "shrinking.raw"
    _file(p, 6 * CHUNK)

    class Cutting:
        def __init__(self) -> None:
            self.inner, self.seen = hashlib.sha256(), 0

        def update(self, part: object) -> None:
            self.inner.update(part)
            self.seen += 1
            if self.seen == 1:
                os.truncate(p, 2 * CHUNK + 100)

        def hexdigest(self) -> str:
            return self.inner.hexdigest()

    monkeypatch.setattr(hashing, "new_hasher", lambda name: Cutting())
    digests, n = hash_file(p, ["sha256"], chunk=CHUNK)
    # the second chunk's read was under way during the cut (it lies before the new end either way); the
    # third is asked for after it and gets the 100 bytes left
    assert n == 2 * CHUNK + 100
    assert digests["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
