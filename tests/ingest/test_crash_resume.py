"""A real `halric ingest` process (with a Dask LocalCluster) is killed with SIGKILL halfway, then run again.

The test knob HALRIC_INGEST_PAUSE_PER_FILE_S slows the first run down so the kill lands in the middle.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil

from halric.ingest.journal import read_snapshot

from .helpers import run_cli


def _journal(env: dict[str, str]) -> Path | None:
    found = list((Path(env["HALRIC_DATA_DIR"]) / "ingest-journals").glob("*.sqlite"))
    return found[0] if found else None


def test_kill_9_halfway_then_resume(demo_root: Path, scicat, ingest_env, tmp_path: Path):
    folder = tmp_path / "run"
    shutil.copytree(demo_root / "mx", folder)
    rng = np.random.default_rng(7)
    for i in range(12):
        (folder / f"extra_{i:02d}.bin").write_bytes(rng.integers(0, 255, 300_000, dtype=np.uint8).tobytes())
    total = len(list(folder.iterdir()))
    args = ["ingest", str(folder), "--catalog", scicat.url, "--token", scicat.token, "--contact-email",
            "pi@example.org", "--workers", "1", "--json"]  # fmt: skip
    env = {**os.environ, **ingest_env, "HALRIC_INGEST_PAUSE_PER_FILE_S": "0.5"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "halric.cli.main", *args], env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        done = _wait_for_done(proc, ingest_env, 4)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the ingest and its Dask workers, all at once
        proc.wait(10)
    assert done >= 4, "the first run never got going"
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    time.sleep(0.5)
    left = [p for p in psutil.process_iter() if _pgid(p.pid) == proc.pid and _alive(p)]
    assert not left, f"processes survived the kill: {left}"

    journal = _journal(ingest_env)
    assert journal is not None
    before = read_snapshot(journal)
    finished = {p: f for p, f in before.items() if f["state"] == "done"}
    assert 4 <= len(finished) < total, "kill did not land halfway"
    assert not scicat.datasets and not scicat.blocks  # nothing half-written in the catalog

    r = run_cli(args, ingest_env, timeout=120)  # no pause knob now
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["skipped_unchanged"] == len(finished)
    assert summary["hashed_files"] == total - len(finished)
    after = read_snapshot(journal)
    for path, f in finished.items():  # not hashed again: same run, same time, same checksum
        assert (after[path]["run"], after[path]["hashed_at"]) == (f["run"], f["hashed_at"])
        assert after[path]["checksums"] == f["checksums"]
    assert all(f["state"] == "done" and f["block"] is not None for f in after.values())
    (pid,) = scicat.datasets
    assert scicat.files_of(pid) == sorted(p.name for p in folder.iterdir())  # every file once
    assert scicat.datasets[pid]["numberOfFiles"] == total
    posts = [x for x in scicat.log if x[0] == "POST"]
    assert len(posts) == 2  # one dataset, one datablock

    r = run_cli(args, ingest_env, timeout=120)  # a third run: nothing left to do
    assert r.returncode == 0 and json.loads(r.stdout)["hashed_files"] == 0
    assert [x for x in scicat.log if x[0] == "POST"] == posts


def _wait_for_done(proc: subprocess.Popen, env: dict[str, str], n: int) -> int:
    deadline = time.monotonic() + 90
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        j = _journal(env)
        if j is not None:
            try:
                done = sum(1 for f in read_snapshot(j).values() if f["state"] == "done")
            except sqlite3.OperationalError:  # the journal is being created
                done = 0
            if done >= n:
                break
        time.sleep(0.1)
    return done


def _alive(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None
