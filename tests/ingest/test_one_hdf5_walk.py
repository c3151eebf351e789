"""Ingest reads an HDF5/NeXus file's headers in one walk for the metadata and the patient-data guard
(issue #20), and gets exactly what the two separate walks got.

What each walk reads (and what it gives):

* The metadata walk (``halric.ingest.nexus._metadata``/``_Walker``): the root's attributes (the first 40
  kept, as JSON values); then, depth first and in ``group.keys()`` order, every link of every group: the
  link itself (``get(getlink=True)``; external links resolved and described, soft links counted, neither
  followed), each hard-linked object opened once (a second hard link to it is skipped), a group's
  ``NX_class`` attribute, a dataset's shape, dtype, chunks, filter pipeline, virtual sources and ``units``
  attribute; stops after ``MAX_OBJECTS`` (20,000) links (``truncated``); per-object problems are noted
  (first 50). Afterwards, of NXentry and summary-class groups (NXinstrument, NXsample, NXdetector…), the
  first 200 members: datasets of at most ``SMALL`` (64) elements are read with their ``units``; an
  NXentry's ``definition`` attribute; an NXdetector's ``data``. Gives the metadata dict (format, entries,
  groups, large datasets (200), external links (500), virtual datasets (100), stacks (1000), counts).
* The guard walk (``halric.privacy.scan.scan_hdf5``): every attribute of the root, then every object
  ``visititems`` meets (hard links only, each object once, no limit on their number): the object's last
  name component, every attribute's name and its strings (scalars, arrays of up to
  ``MAX_STRING_ELEMENTS`` (10,000) strings, an integer scalar of ten digits or more as digits), the value
  of a string dataset of at most 10,000 elements (object dtype only one-dimensional) and of an integer
  scalar dataset. The first OSError/RuntimeError/KeyError ends the walk with what was found so far.
  Gives findings (kind, place, file) in that order, not deduplicated.

The single walk feeds the guard (``Hdf5Scan``) every object the metadata walk opens with the attributes
it reads for it; when the metadata walk did not meet exactly the objects ``visititems`` meets (truncated,
damaged, an error in the guard's reads), the guard walks the file itself as before.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from halric.ingest.nexus import MAX_OBJECTS, hdf5_metadata
from halric.ingest.tasks import _head
from halric.privacy.identifiers import mask
from halric.privacy.scan import MAX_STRING_ELEMENTS, Hdf5Scan, scan_hdf5, scan_name

from .helpers import SMALL_MX

PNR = "19811218-9876"  # Swedish personnummer, valid Luhn digit; belongs to nobody known
FNR = "15108695088"  # Norwegian fødselsnummer
KVNR = "A123456780"  # German KVNR
CPR = "1812811234"  # Danish CPR-like number (ten digits)


def two_walks(path: Path, rel: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Today's behaviour before issue #20: the metadata walk, then the guard's own walk."""
    with h5py.File(path, "r") as f:
        metadata = hdf5_metadata(f)
        findings = [x.as_dict() for x in scan_name(rel) + scan_hdf5(f, mask(rel))]
    return metadata, findings


def one_walk(root: Path, rel: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What ingest does now (the very function it calls for each file)."""
    h = _head(str(root), rel)
    assert not h.done, h.out
    return h.metadata, h.findings


def _patients(f: h5py.File) -> None:
    """Patient-looking attributes and strings in nested groups, long strings, many attributes."""
    f.attrs["operator"] = f"Anna Berg {PNR}"
    for i in range(60):  # more than the 40 root attributes the metadata keeps
        f.attrs[f"note_{i:02d}"] = f"birth date 1981-12-18, cpr {CPR}" if i % 7 == 0 else f"value {i}"
    f.attrs["ids"] = np.array([PNR.encode(), FNR.encode(), b"clean"])
    f.attrs["big_number"] = np.int64(int(FNR))
    e = f.create_group("entry")
    e.attrs["NX_class"] = "NXentry"
    e.attrs["definition"] = "NXsas"
    e.create_dataset("title", data=f"scan of patient {PNR}")
    e.create_dataset("start_time", data="2026-03-14T10:00:00")
    s = e.create_group("sample")
    s.attrs["NX_class"] = "NXsample"
    s.attrs["patient_name"] = "Sven Svensson"
    s.attrs["date_of_birth"] = "1981-12-18"
    s.attrs["personnummer"] = PNR
    s.create_dataset("name", data=f"biopsy of {FNR}")
    s.create_dataset("insurance", data=KVNR)
    s.create_dataset("cpr", data=np.int64(int(CPR)))
    s.create_dataset("temperature", data=np.float32(293.0)).attrs["units"] = "K"
    deep = s.create_group("a/b/c/d/e")
    deep.attrs["donor"] = f"donor {PNR}"
    deep.attrs["long"] = "lorem " * 40_000 + PNR  # a long string attribute
    deep.create_dataset("many", data=np.array([b"row"] * (MAX_STRING_ELEMENTS - 1) + [PNR.encode()]))
    deep.create_dataset("too_many", data=np.array([b"row"] * MAX_STRING_ELEMENTS + [PNR.encode()]))
    deep.create_dataset("objects", data=np.array([PNR, "x"], dtype=h5py.string_dtype()))
    deep.create_dataset("objects_2d", data=np.array([[PNR, "x"]], dtype=h5py.string_dtype()))
    deep.create_dataset("empty", data=np.array([], dtype="S4"))
    many = e.create_group("many_attributes")
    for i in range(300):
        many.attrs[f"a{i:03d}"] = f"{PNR}" if i == 299 else i
    many.attrs["list"] = np.array([f"{FNR}", "y"], dtype=h5py.string_dtype())
    d = e.create_group("instrument/detector")
    d.attrs["NX_class"] = "NXdetector"
    d.create_dataset(
        "data", data=np.zeros((3, 32, 32), dtype=np.uint16), chunks=(1, 32, 32), compression="gzip"
    )
    d["data"].attrs["units"] = "counts"
    d.create_dataset("description", data=f"owner {PNR}")
    e["sample_again"] = s  # a second hard link: each walk meets the group once
    e["soft"] = h5py.SoftLink("/entry/sample")
    e["dangling"] = h5py.SoftLink("/not/there")
    e.create_group(f"run_{PNR}")  # an identifier in an object name


def _files(tmp: Path) -> list[Path]:
    """Every kind of HDF5 file the tests and the demo generator write, and some with patient data."""
    from halric.ingest.demo import write_demo

    write_demo(tmp / "mx", "mx", 2_400_000, frame_pixels=SMALL_MX, frames_per_file=3, seed=3)
    write_demo(tmp / "saxs", "saxs", 1_600_000, frame_pixels=(487, 195), seed=4)
    write_demo(tmp / "tomo", "tomo", 1_000_000, frame_pixels=(128, 128), seed=5)
    with h5py.File(tmp / "patients.nxs", "w") as f:
        _patients(f)
    with h5py.File(tmp / "ordered.nxs", "w", track_order=True) as f:  # creation order ≠ name order
        f.create_group("zz").attrs["who"] = f"patient {PNR}"
        f.create_group("aa").attrs["who"] = f"patient {FNR}"
        f.create_dataset("mm", data="clean")
    with h5py.File(tmp / f"patient_{PNR}.h5", "w") as f:  # identifier in the file name
        f["x"] = 1
    with h5py.File(tmp / "ub.h5", "w", userblock_size=512) as f:
        f["x"] = 1
    src = tmp / "src.h5"
    with h5py.File(src, "w") as f:
        f.create_dataset("frames", data=np.arange(2 * 64 * 64, dtype=np.uint16).reshape(2, 64, 64))
    with h5py.File(tmp / "odd.h5", "w") as f:
        e = f.create_group("entry")
        e.attrs["NX_class"] = "NXentry"
        e["missing"] = h5py.ExternalLink("nowhere.h5", "/data")
        e["frames"] = h5py.ExternalLink("src.h5", "/frames")
        e["dangling"] = h5py.SoftLink("/not/there")
        layout = h5py.VirtualLayout(shape=(2, 64, 64), dtype=np.uint16)
        layout[:] = h5py.VirtualSource(str(src), "frames", shape=(2, 64, 64))
        e.create_virtual_dataset("virtual", layout)
        big = e.create_dataset("big", data=np.zeros((300, 1024), dtype=np.float32), compression="gzip")
        big.attrs["units"] = "counts"
    with h5py.File(tmp / "clinical.nxs", "w") as f:  # as tests/privacy/test_files.py writes it
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        sample = entry.create_group("sample")
        sample.attrs["donor"] = f"patient {PNR}"
        sample.create_dataset("name", data=f"biopsy of {FNR}")
        sample.create_dataset("temperature", data=np.float32(293.0))
        entry.create_dataset("data", data=np.arange(100, dtype=np.uint16).reshape(10, 10))
    with h5py.File(tmp / "clean.h5", "w") as f:
        f.attrs["temperature"] = 293.0
        f.create_dataset("image", data=np.ones((8, 8)))
    return sorted(p for p in tmp.rglob("*") if p.is_file() and p.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    root = tmp_path_factory.mktemp("h5")
    return root, _files(root)


def test_one_walk_gives_the_metadata_and_findings_of_the_two(files: tuple[Path, list[Path]]):
    root, paths = files
    assert len(paths) >= 12
    found_any = 0
    for p in paths:
        rel = p.relative_to(root).as_posix()
        old = two_walks(p, rel)
        new = one_walk(root, rel)
        assert new[0] == old[0], rel
        assert new[1] == old[1], rel
        found_any += bool(old[1])
    assert found_any >= 4  # the comparison is not between empty lists


def test_patient_data_is_found_in_every_place_and_within_the_limits(files: tuple[Path, list[Path]]):
    root, _ = files
    _, findings = one_walk(root, "patients.nxs")
    places = [f["place"] for f in findings]
    for place in (
        "HDF5 attribute /@operator",
        "HDF5 attribute /@ids",
        "HDF5 attribute /@big_number",
        "HDF5 attribute /entry/sample@personnummer",
        "HDF5 dataset /entry/sample/name",
        "HDF5 dataset /entry/sample/insurance",
        "HDF5 attribute /entry/sample/a/b/c/d/e@donor",
        "HDF5 attribute /entry/sample/a/b/c/d/e@long",
        "HDF5 dataset /entry/sample/a/b/c/d/e/many",
        "HDF5 dataset /entry/sample/a/b/c/d/e/objects",
        "HDF5 attribute /entry/many_attributes@a299",
        "HDF5 attribute /entry/many_attributes@list",
        "HDF5 dataset /entry/instrument/detector/description",
        "HDF5 object name /entry/run_[se-personnummer]",
    ):
        assert place in places, place
    assert "HDF5 dataset /entry/sample/a/b/c/d/e/too_many" not in places  # over MAX_STRING_ELEMENTS
    assert "HDF5 dataset /entry/sample/a/b/c/d/e/objects_2d" not in places
    assert not any("sample_again" in p for p in places)  # a second hard link is not a second object
    # values never appear in a finding, nor an identifier an object's name or path holds (masked as file
    # names are)
    assert all(PNR not in str(f) and FNR not in str(f) for f in findings)


def test_ordinary_files_are_walked_once(files: tuple[Path, list[Path]]):
    """The guard is fed by the metadata walk for the demo data and the patient file: no second walk."""
    root, paths = files
    for p in paths:
        rel = p.relative_to(root).as_posix()
        if rel in ("odd.h5",):
            continue
        with h5py.File(p, "r") as f:
            guard = Hdf5Scan(mask(rel))
            hdf5_metadata(f, guard)
            guard.findings(f)
        assert not guard.walked_again, rel


def test_truncated_tree_and_unreadable_parts_give_todays_findings(tmp_path: Path):
    """Past MAX_OBJECTS the metadata walk stops but the guard looks further, as before."""
    with h5py.File(tmp_path / "wide.h5", "w") as f:
        g = f.create_group("g")
        for i in range(MAX_OBJECTS + 5):
            g.create_group(f"n{i:05d}")
        g["n20004"].attrs["who"] = f"patient {PNR}"
    rel = "wide.h5"
    old = two_walks(tmp_path / rel, rel)
    new = one_walk(tmp_path, rel)
    assert "truncated" in new[0]
    assert new == old
    assert any(f["place"] == "HDF5 attribute /g/n20004@who" for f in new[1])

    shutil.copy(tmp_path / rel, tmp_path / "copy.h5")
    with h5py.File(tmp_path / "copy.h5", "r") as f:
        guard = Hdf5Scan(mask("copy.h5"))
        hdf5_metadata(f, guard)
        assert guard.findings(f) == scan_hdf5(f, mask("copy.h5"))
        assert guard.walked_again
