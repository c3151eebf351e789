"""Demo data, codec advice and verified lossless compression, on real HDF5 files."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (registers the filters for plain h5py reads)
import numpy as np
import pytest

from halric.core.errors import Conflict, InvalidInput, Unprocessable
from halric.ingest.codecs import advise, entropy_bits, measure, recommend
from halric.ingest.compress import compress_file, verify_copy
from halric.ingest.demo import EIGER_GAP, EIGER_MODULE, _gap_mask, mx_background, mx_frame

from .helpers import run_cli


def test_demo_mx_frames_have_poisson_background_peaks_and_gaps():
    rng = np.random.default_rng(1)
    w, h = 1100, 600  # two modules across, two down: gaps in both directions
    bg = mx_background(w, h)
    gaps = _gap_mask(w, h, EIGER_MODULE, EIGER_GAP)
    frame = mx_frame(bg, gaps, rng, 32)
    assert frame.dtype == np.uint32 and frame.shape == (h, w)
    assert (frame[gaps] == 2**32 - 1).all() and gaps[:, 1028:1040].all() and gaps[512:550, :].all()
    pix = frame[~gaps].astype(np.float64)
    lam = bg[~gaps]
    flat = (lam > 0.3) & (lam < 0.4) & (pix < 10)  # flat background away from peaks: variance ≈ mean
    assert abs(pix[flat].var() / pix[flat].mean() - 1) < 0.1
    assert abs((pix[flat] == 0).mean() - np.exp(-lam[flat]).mean()) < 0.02  # P(0) of a Poisson law
    assert pix.max() > 50  # Bragg peaks stand out of a background of about one count
    assert 0.5 < entropy_bits([frame[~gaps]]) < 4


def test_demo_data_cli_writes_each_kind_at_about_the_size(tmp_path: Path):
    for kind, extra in (("mx", ["--frame-pixels", "300x200", "--bit-depth", "16"]),
                        ("saxs", ["--frame-pixels", "200x150"]), ("tomo", ["--frame-pixels", "96x64", "--format", "tiff"])):  # fmt: skip
        r = run_cli(["demo-data", str(tmp_path / kind), "--kind", kind, "--size", "3MB", "--json", *extra])
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert 2_000_000 < out["bytes"] < 4_000_000, out["bytes"]
    with h5py.File(tmp_path / "mx" / "lyso_sweep1_master.h5") as f:
        assert f["entry/definition"][()] == b"NXmx"
        assert f["entry/data/data_000001"].dtype == np.uint16
    assert len(list((tmp_path / "tomo").glob("*.tif"))) > 20
    r = run_cli(["demo-data", str(tmp_path / "mx"), "--kind", "mx", "--size", "3MB"])
    assert r.returncode == 2 and "--overwrite" in r.stderr
    r = run_cli(["demo-data", str(tmp_path / "x"), "--kind", "cryo", "--size", "3MB"])
    assert r.returncode == 2 and "kind: use one of mx, saxs, tomo" in r.stderr


def test_codecs_measure_and_recommend(demo_root: Path):
    with h5py.File(demo_root / "mx" / "lyso_sweep1_data_000001.h5") as f:
        frames = [f["entry/data/data"][i] for i in range(3)]
    lz4, gz, none = (measure(frames, c) for c in ("bslz4", "gzip", "none"))
    assert none.ratio == pytest.approx(1.0, abs=0.01)
    assert lz4.ratio > 4 and gz.ratio > 4  # Poisson counts of ~1 on 32-bit pixels compress well
    assert lz4.compress_bps > 3 * gz.compress_bps
    assert lz4.bits_per_value > entropy_bits(frames) * 0.9  # no codec beats the entropy by much
    rows = [
        {"codec": "bslz4", "ratio": 10.0, "compress_mb_s": 800.0},
        {"codec": "blosc2", "ratio": 14.0, "compress_mb_s": 150.0},
        {"codec": "none", "ratio": 1.0, "compress_mb_s": 5000.0},
    ]
    assert recommend(rows, rate=100e6)["codec"] == "blosc2"
    assert recommend(rows, rate=4.8e9, cores=8)["codec"] == "bslz4"
    assert recommend(rows, rate=4.8e9, cores=1) == {
        "codec": "bslz4", "why": "no codec meets the goal on this machine; this is the fastest", "met": False,
    }  # fmt: skip
    assert recommend(rows, goal="smallest", budget_s=1.0, nbytes=400e6, cores=1)["codec"] == "bslz4"
    assert recommend(rows, goal="smallest", budget_s=10.0, nbytes=400e6, cores=1)["codec"] == "blosc2"
    with pytest.raises(InvalidInput, match="budget"):
        recommend(rows, goal="smallest")


def test_codecs_advise_cli_json_and_chart(demo_root: Path, ingest_env, tmp_path: Path):
    env = {**ingest_env, "HALRIC_DATA_ROOTS": f"{demo_root}:{tmp_path}"}
    master = demo_root / "mx" / "lyso_sweep1_master.h5"
    r = run_cli(
        ["codecs", "advise", str(master), "--json", "--samples", "2", "--chart", str(tmp_path / "c.svg")], env
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert {c["codec"] for c in out["overall"]} == {"bslz4", "bszstd", "blosc2", "blosc2-lz4", "gzip", "none"}
    data = next(
        d for d in out["datasets"] if d["path"] == "/entry/data/data_000001"
    )  # through the external link
    assert data["shape"] == [3, 256, 256] and 0 < data["entropy_bits"] < 8
    assert out["recommendation"]["codec"] in {c["codec"] for c in out["overall"]}
    assert (tmp_path / "c.svg").read_text().startswith("<svg")
    r = run_cli(["codecs", "advise", str(master)], env)
    assert r.returncode == 0 and "Recommended:" in r.stdout


def test_compress_keeps_everything_and_verifies(demo_root: Path, tmp_path: Path):
    src = demo_root / "saxs" / "saxs_series_sample001.h5"
    dst = tmp_path / "out.h5"
    report = compress_file(src, dst, "bslz4")
    assert report["verified"] and report["codec"] == "bslz4" and report["ratio"] > 2
    with h5py.File(src) as a, h5py.File(dst) as b:  # plain h5py + hdf5plugin opens it
        da, db = a["entry/instrument/detector/data"], b["entry/instrument/detector/data"]
        assert np.array_equal(da[()], db[()])
        assert da.chunks == (1, 195, 487) and db.chunks == (4, 195, 487)  # small chunks merged into ~4 MiB
        assert (
            b["entry/instrument/detector/data"].id == b["entry/data/data"].id
        )  # the hard link stays one object
        assert dict(b["entry"].attrs) == dict(a["entry"].attrs)
        assert b["entry/sample/temperature"].attrs["units"] == "K"
        assert 32008 in [b["entry/data/data"].id.get_create_plist().get_filter(i)[0] for i in range(1)]
    with pytest.raises(Conflict, match="--force"):
        compress_file(src, dst, "gzip")
    assert compress_file(src, dst, "gzip", force=True)["codec"] == "gzip"
    with pytest.raises(InvalidInput, match="never overwrites its input"):
        compress_file(src, src, "gzip", force=True)
    assert not list(tmp_path.glob(".*partial*"))


def test_compress_master_keeps_external_links_and_auto_picks_a_codec(demo_root: Path, tmp_path: Path):
    master = tmp_path / "master.h5"
    master.write_bytes((demo_root / "mx" / "lyso_sweep1_master.h5").read_bytes())
    out = compress_file(master, tmp_path / "master_c.h5", "auto")
    assert out["codec"] != "none" and out["advice"]["codec"] == out["codec"]
    with h5py.File(tmp_path / "master_c.h5") as f:
        link = f["entry/data"].get("data_000001", getlink=True)
        assert isinstance(link, h5py.ExternalLink) and link.filename == "lyso_sweep1_data_000001.h5"


def test_verification_catches_a_difference(tmp_path: Path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    data = np.arange(4 * 128 * 128, dtype=np.uint16).reshape(4, 128, 128)
    for p in (a, b):
        with h5py.File(p, "w") as f:
            f.create_dataset("d", data=data, chunks=(1, 128, 128))
            f["d"].attrs["units"] = "counts"
    with h5py.File(b, "a") as f:
        f["d"][2, 5, 5] += 1
    with pytest.raises(Unprocessable, match="decoded data differ"):
        verify_copy(a, b)
    with h5py.File(b, "a") as f:
        f["d"][2, 5, 5] -= 1
        f["d"].attrs["units"] = "photons"
    with pytest.raises(Unprocessable, match="attribute units differs"):
        verify_copy(a, b)


def test_compress_cli_refuses_outside_roots_and_existing_output(demo_root: Path, ingest_env, tmp_path: Path):
    src = tmp_path / "in.h5"
    src.write_bytes((demo_root / "saxs" / "saxs_series_sample001.h5").read_bytes())
    r = run_cli(["compress", str(src), str(tmp_path / "o.h5"), "--codec", "bszstd", "--json"], ingest_env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["verified"] is True
    r = run_cli(["compress", str(src), str(tmp_path / "o.h5"), "--codec", "bszstd"], ingest_env)
    assert r.returncode == 2 and "exists" in r.stderr
    r = run_cli(
        ["compress", str(src), "/root/elsewhere.h5"], {**ingest_env, "HALRIC_DATA_ROOTS": str(tmp_path)}
    )
    assert r.returncode == 2 and "outside the allowed data roots" in r.stderr
    r = run_cli(["compress", str(src), str(tmp_path / "p.h5"), "--codec", "zip"], ingest_env)
    assert r.returncode == 2 and "codec" in r.stderr
    assert advise(src)["datasets"][0]["path"] == "/entry/data/data"
