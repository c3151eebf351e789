"""The fast paths of ingest give what the slow ones gave: plain TIFF headers read without tifffile (and
tifffile for everything else), `--threads` on the command line, and kill -9 safety with threads."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tifffile

from halric.ingest.formats import read_tiff_header, tiff_metadata
from halric.ingest.journal import read_snapshot
from halric.ingest.tasks import process_file
from halric.privacy.scan import scan_tiff, scan_tiff_tags

from .helpers import run_cli
from .test_crash_resume import _journal, _wait_for_done

PNR = "19811218-9876"  # valid Luhn digit, belongs to nobody known (as tests/privacy/test_files.py)


def _header(path: Path):
    with open(path, "rb") as fh:
        return read_tiff_header(fh)


def _tifffile_view(path: Path) -> tuple[dict, list[dict]]:
    with tifffile.TiffFile(path) as tif:
        return tiff_metadata(tif), [f.as_dict() for f in scan_tiff(tif, "x")]


def _plain_tiffs(d: Path) -> list[Path]:
    a = np.arange(60_000, dtype=np.uint16).reshape(200, 300)
    tifffile.imwrite(d / "u16.tif", a)
    tifffile.imwrite(d / "f32.tif", a.astype(np.float32), description="flat field")
    tifffile.imwrite(d / "i8_big_endian.tif", (a % 100).astype(np.int8), byteorder=">")
    tifffile.imwrite(d / "imagej.tif", a, imagej=True)
    tifffile.imwrite(
        d / "tags.tif", a, description=f"donor {PNR}", software="acq 2.1", datetime="2026:12:03 09:00:00",
        metadata=None, extratags=[(315, "s", 0, f"operator, patient {PNR}", True), (271, "s", 0, "Hama", True)],
    )  # fmt: skip
    return sorted(d.iterdir())


def test_the_plain_tiff_reader_agrees_with_tifffile(demo_root: Path, tmp_path: Path):
    files = sorted((demo_root / "tomo").glob("*.tif")) + _plain_tiffs(tmp_path)
    assert len(files) > 5
    for f in files:
        h = _header(f)
        assert h is not None, f"{f.name}: a plain TIFF went to tifffile"
        meta, findings = _tifffile_view(f)
        assert h.metadata == meta, f.name
        assert [x.as_dict() for x in scan_tiff_tags(h.text_tags, "x")] == findings, f.name
    # the identifiers in the text tags are found, with tifffile's tag names
    places = {x.place for x in scan_tiff_tags(_header(tmp_path / "tags.tif").text_tags, "x")}
    assert places == {"TIFF tag ImageDescription", "TIFF tag Artist"}


@pytest.mark.parametrize(
    "name, write",
    [
        ("bigtiff", lambda p, a: tifffile.imwrite(p, a, bigtiff=True)),
        ("deflate", lambda p, a: tifffile.imwrite(p, a, compression="zlib")),
        ("two_pages", lambda p, a: tifffile.imwrite(p, np.stack([a, a + 1]))),
        ("rgb", lambda p, a: tifffile.imwrite(p, np.stack([a, a, a], axis=-1).astype(np.uint8), photometric="rgb")),
        ("tiled", lambda p, a: tifffile.imwrite(p, a, tile=(16, 16))),
    ],
)  # fmt: skip
def test_unusual_tiffs_go_to_tifffile_and_ingest_describes_them_as_before(tmp_path: Path, name, write):
    a = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)
    path = tmp_path / f"{name}.tif"
    write(path, a)
    assert _header(path) is None
    r = process_file(str(tmp_path), path.name, ["blake3"], 1 << 16)
    meta, findings = _tifffile_view(path)
    assert r["kind"] == "tiff" and r["metadata"] == meta and not r.get("error")
    assert r["findings"] == [{**f, "file": path.name} for f in findings]


def test_a_truncated_or_odd_tiff_header_is_refused_not_guessed(tmp_path: Path):
    good = tmp_path / "good.tif"
    tifffile.imwrite(good, np.zeros((8, 8), np.uint16), description=f"patient {PNR}")
    raw = good.read_bytes()
    cases = {
        "ifd_past_the_end.tif": raw[:4] + (len(raw) + 100).to_bytes(4, "little") + raw[8:],
        "cut_in_the_ifd.tif": raw[:12],
        "latin1_text.tif": raw.replace(b"patient", "pätient".encode("latin-1")[:7]),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert _header(tmp_path / name) is None, name
    # through ingest the guard still sees the identifier in the latin-1 description (tifffile reads it)
    r = process_file(str(tmp_path), "latin1_text.tif", ["blake3"], 1 << 16)
    assert [f["place"] for f in r["findings"]] == ["TIFF tag ImageDescription"]
    r = process_file(str(tmp_path), "ifd_past_the_end.tif", ["blake3"], 1 << 16)
    assert "header not readable" in r["metadata"]["problem"] and r["checksums"]["blake3"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--threads", "0"], "--threads"),
        (["--threads", "-2"], "--threads"),
        (["--threads", "two"], "--threads"),
        (["--threads", "1.5"], "--threads"),
        (["--threads", "2", "--workers", "2"], "--threads: works in this process"),
        (["--threads", "2", "--scheduler", "tcp://127.0.0.1:1"], "--threads: works in this process"),
    ],
)
def test_threads_must_be_a_whole_number_from_one_without_dask(ingest_env, tmp_path: Path, extra, message):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.bin").write_bytes(b"x" * 100)
    r = run_cli(["ingest", str(tmp_path / "data"), "--contact-email", "pi@example.org", *extra], ingest_env)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr
    assert not list(Path(ingest_env["HALRIC_DATA_DIR"]).glob("ingest-journals/*.sqlite"))  # nothing started


def test_threads_ingest_equals_one_worker_and_survives_kill_9(demo_root: Path, scicat, ingest_env, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(demo_root, folder)
    rng = np.random.default_rng(3)
    for i in range(10):
        (folder / f"extra_{i:02d}.bin").write_bytes(rng.integers(0, 255, 200_000, dtype=np.uint8).tobytes())
    total = sum(1 for p in folder.rglob("*") if p.is_file())
    args = ["ingest", str(folder), "--catalog", scicat.url, "--token", scicat.token, "--contact-email",
            "pi@example.org", "--threads", "2", "--json"]  # fmt: skip
    env = {**os.environ, **ingest_env, "HALRIC_INGEST_PAUSE_PER_FILE_S": "0.4"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "halric.cli.main", *args], env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        done = _wait_for_done(proc, ingest_env, 4)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    proc.stdout.close()  # type: ignore[union-attr]
    proc.stderr.close()  # type: ignore[union-attr]
    assert done >= 4, "the first run never got going"
    time.sleep(0.2)
    journal = _journal(ingest_env)
    assert journal is not None
    finished = {p: f for p, f in read_snapshot(journal).items() if f["state"] == "done"}
    assert 4 <= len(finished) < total, "kill did not land halfway"
    assert not scicat.datasets and not scicat.blocks  # nothing half-written in the catalog

    r = run_cli(args, ingest_env, timeout=120)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["skipped_unchanged"] == len(finished) and s["hashed_files"] == total - len(finished)
    assert s["files"] == total and s["bytes"] == sum(
        p.stat().st_size for p in folder.rglob("*") if p.is_file()
    )
    after = read_snapshot(journal)
    for path, f in finished.items():  # not hashed again
        assert (after[path]["run"], after[path]["checksums"]) == (f["run"], f["checksums"])
    (pid,) = scicat.datasets
    assert scicat.datasets[pid]["numberOfFiles"] == total

    # the same folder on one worker (no threads) gives the same checksums
    one_env = {**ingest_env, "HALRIC_DATA_DIR": str(tmp_path / "one-data")}
    r = run_cli(["ingest", str(folder), "--contact-email", "pi@example.org", "--catalog", scicat.url,
                 "--token", scicat.token, "--workers", "0", "--json"], one_env, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    single = read_snapshot(Path(json.loads(r.stdout)["journal"]))
    assert {p: f["checksums"] for p, f in single.items()} == {p: f["checksums"] for p, f in after.items()}
