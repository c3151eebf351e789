"""Sizes, checksums, format recognition and NeXus metadata, on real files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from halric.core.errors import InvalidInput
from halric.ingest.formats import sniff, tiff_metadata
from halric.ingest.hashing import check_algorithm, hash_file
from halric.ingest.nexus import hdf5_metadata, scientific_metadata
from halric.ingest.units import parse_frame, parse_rate, parse_size


def test_sizes_rates_and_frames_parse_and_refuse():
    assert parse_size("200MB") == 200_000_000
    assert parse_size("1GiB") == 1024**3
    assert parse_size("1.5 GB") == 1_500_000_000
    assert parse_rate("4.8GB/s") == 4.8e9
    assert parse_frame("4150x4371") == (4150, 4371)
    for bad in ("lots", "-3MB", "0", "12 parsecs"):
        with pytest.raises(InvalidInput, match="size"):
            parse_size(bad)
    with pytest.raises(InvalidInput, match="WIDTHxHEIGHT"):
        parse_frame("4150")


def test_streaming_hashes_equal_whole_file_hashes(tmp_path: Path):
    from blake3 import blake3

    data = np.random.default_rng(0).integers(0, 256, 3 * 1024 * 1024 + 17, dtype=np.uint8).tobytes()
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    digests, n = hash_file(p, ["blake3", "xxh3-128", "sha256"], chunk=64 * 1024)  # many small chunks
    assert n == len(data)
    assert digests["sha256"] == hashlib.sha256(data).hexdigest()
    assert digests["blake3"] == blake3(data).hexdigest()
    import xxhash

    assert digests["xxh3-128"] == xxhash.xxh3_128(data).hexdigest()
    assert check_algorithm("XXH3") == "xxh3-128"
    with pytest.raises(InvalidInput, match="hash"):
        check_algorithm("md5")


def test_formats_are_recognised_by_content_not_name(demo_root: Path, tmp_path: Path):
    assert sniff(demo_root / "mx" / "lyso_sweep1_master.h5") == "hdf5"
    tif = next((demo_root / "tomo").glob("*_proj_*.tif"))
    assert sniff(tif) == "tiff"
    meta = tiff_metadata(tif)
    assert meta["frame_shape"] == [128, 128] and meta["dtype"] == "uint16" and meta["pages"] == 1
    assert "proj image" in meta["imageDescription"]
    (tmp_path / "x.cbf").write_bytes(
        b"###CBF: VERSION 1.5\n# Detector: PILATUS 1M\n" + b"\x0c\x1a\x04\xd5" + b"\0" * 10
    )
    assert sniff(tmp_path / "x.cbf") == "cbf"
    (tmp_path / "x.edf").write_bytes(
        b"{\nHeaderID = EH:000001:000000:000000 ;\nDim_1 = 10 ;\n}" + b"\0" * 100
    )
    assert sniff(tmp_path / "x.edf") == "edf"
    (tmp_path / "fake.h5").write_bytes(b"not really hdf5")
    assert sniff(tmp_path / "fake.h5") == "plain"
    with h5py.File(tmp_path / "ub.h5", "w", userblock_size=512) as f:
        f["x"] = 1
    assert sniff(tmp_path / "ub.h5") == "hdf5"  # HDF5 after a user block


def test_nexus_metadata_follows_external_links_and_keeps_units(demo_root: Path):
    meta = hdf5_metadata(demo_root / "mx" / "lyso_sweep1_master.h5")
    assert meta["format"] == "nexus"
    entry = meta["entries"][0]
    assert entry["definition"] == "NXmx" and entry["start_time"].startswith("2026-03-14")
    ext = meta["external_links"]
    assert len(ext) == 3 and all(e["resolved"] for e in ext)
    assert (
        ext[0]["shape"] == [3, 256, 256] and ext[0]["dtype"] == "uint32" and ext[0]["chunks"] == [1, 256, 256]
    )
    sci = scientific_metadata(meta)
    assert sci["sample_temperature"] == {"value": 100.0, "unit": "K"}
    assert sci["sample_name"]["value"] == "lysozyme (demo)"
    assert sci["source_type"]["value"] == "Synchrotron X-ray Source"
    assert sci["beam_incident_wavelength"]["unit"] == "angstrom"
    assert sci["detector_x_pixel_size"] == {"value": 7.5e-05, "unit": "m"}
    assert sci["frames_total"]["value"] == 9


def test_broken_links_virtual_datasets_and_damaged_files_never_crash(tmp_path: Path):
    src = tmp_path / "src.h5"
    with h5py.File(src, "w") as f:
        f.create_dataset("frames", data=np.arange(2 * 64 * 64, dtype=np.uint16).reshape(2, 64, 64))
    p = tmp_path / "odd.h5"
    with h5py.File(p, "w") as f:
        e = f.create_group("entry")
        e.attrs["NX_class"] = "NXentry"
        e["missing"] = h5py.ExternalLink("nowhere.h5", "/data")
        e["dangling"] = h5py.SoftLink("/not/there")
        layout = h5py.VirtualLayout(shape=(2, 64, 64), dtype=np.uint16)
        layout[:] = h5py.VirtualSource(str(src), "frames", shape=(2, 64, 64))
        e.create_virtual_dataset("virtual", layout)
        big = e.create_dataset("big", data=np.zeros((300, 1024), dtype=np.float32), compression="gzip")
        big.attrs["units"] = "counts"
    meta = hdf5_metadata(p)
    missing = next(x for x in meta["external_links"] if x["path"] == "/entry/missing")
    assert missing["resolved"] is False and missing["file"] == "nowhere.h5"
    vds = meta["virtual_datasets"][0]
    assert vds["path"] == "/entry/virtual" and vds["virtual_sources"][0]["dataset"] == "frames"
    big_meta = next(x for x in meta["large_datasets"] if x["path"] == "/entry/big")
    assert big_meta["filters"][0]["name"] == "gzip" and big_meta["units"] == "counts"
    assert meta["soft_links"] == 1
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(src.read_bytes()[:1500])
    with pytest.raises(OSError):
        hdf5_metadata(truncated)
