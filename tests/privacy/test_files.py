"""The guard in real files (h5py HDF5, pydicom DICOM, tifffile TIFF, CSV) and `halric pseudonymise`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pydicom
import pytest

from halric.privacy.pseudonym import pseudonym, read_key
from halric.privacy.scan import scan_file

PNR = "19811218-9876"  # generated with a valid Luhn digit; belongs to nobody known
FNR = "15108695088"
KVNR = "A123456780"
CT = Path(pydicom.__file__).parent / "data" / "test_files" / "CT_small.dcm"


def _halric(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "halric.cli.main", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


@pytest.fixture()
def clinical(tmp_path: Path) -> Path:
    """A folder as a hospital might export it: identifiers in every kind of place the guard reads."""
    d = tmp_path / "clinical"
    (d / "scans").mkdir(parents=True)
    with h5py.File(d / "scans" / "tumour.nxs", "w") as f:
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        sample = entry.create_group("sample")
        sample.attrs["donor"] = f"patient {PNR}"
        sample.create_dataset("name", data=f"biopsy of {FNR}")
        sample.create_dataset("temperature", data=np.float32(293.0))
        entry.create_dataset("data", data=np.arange(100, dtype=np.uint16).reshape(10, 10))
    (d / "samples.csv").write_text("sample,insurance,volume\nB1," + KVNR + ",2.5\nB2,none,1.0\n")
    shutil.copy(CT, d / "scans" / "ct.dcm")
    (d / f"{PNR}_notes.txt").write_text("no identifiers inside\n")
    return d


def test_every_place_is_reported_without_the_identifier(clinical: Path):
    findings = [
        f
        for p in sorted(clinical.rglob("*"))
        if p.is_file()
        for f in scan_file(p, p.relative_to(clinical).as_posix())
    ]
    described = [f.describe() for f in findings]
    text = "\n".join(described)
    assert "scans/tumour.nxs: HDF5 attribute /entry/sample@donor: Swedish personnummer" in text
    assert "scans/tumour.nxs: HDF5 dataset /entry/sample/name: Norwegian fødselsnummer" in text
    assert "samples.csv: line 2, column insurance: German health-insurance number (KVNR)" in text
    assert "scans/ct.dcm: DICOM (0010,0010) PatientName: DICOM patient attribute" in text
    assert "[se-personnummer]_notes.txt: file name: Swedish personnummer" in text
    for secret in (PNR, PNR.replace("-", "")[2:], FNR, KVNR, "CompressedSamples"):
        assert secret not in text


def test_the_temperature_and_the_image_are_not_findings(tmp_path: Path):
    with h5py.File(tmp_path / "clean.h5", "w") as f:
        f.attrs["start_time"] = "20261202-1530"
        f.create_dataset("frame_numbers", data=np.arange(1_000_000_000, 1_000_000_010))
        f.create_dataset("title", data="SAXS of lysozyme, run 0000123456")
    assert scan_file(tmp_path / "clean.h5", "clean.h5") == []


def test_pseudonymised_copy_passes_the_guard_and_keeps_the_science(clinical: Path, tmp_path: Path):
    key_file = tmp_path / "hospital.key"
    r = _halric(
        "pseudonymise",
        str(clinical),
        str(tmp_path / "out"),
        "--key-file",
        str(key_file),
        "--new-key",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["remaining"] == []
    assert report["replaced"]["se-personnummer"] >= 2 and report["replaced"]["dicom-patient"] == 1
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"

    out = tmp_path / "out"
    key = read_key(key_file)
    p = pseudonym(key, "se-personnummer", PNR)
    assert (out / f"{p}_notes.txt").exists()  # the file name too
    with h5py.File(out / "scans" / "tumour.nxs") as f:
        assert f["entry/sample"].attrs["donor"] == f"patient {p}"
        assert f["entry/sample/name"][()].decode() == "biopsy of " + pseudonym(key, "no-fodselsnummer", FNR)
        assert f["entry/data"][()].sum() == sum(range(100))  # the measurement is untouched
        assert f["entry"].attrs["NX_class"] == "NXentry"
    ds = pydicom.dcmread(out / "scans" / "ct.dcm")
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
    assert str(ds.PatientID).startswith("PSN") and "CompressedSamples" not in str(ds.PatientName)
    assert ds.pixel_array.shape == pydicom.dcmread(CT).pixel_array.shape
    checked = _halric("guard", str(out))
    assert checked.returncode == 0, checked.stdout

    # the same key gives the same pseudonyms (the hospital re-derives the mapping); another key does not
    again = _halric("pseudonymise", str(clinical), str(tmp_path / "again"), "--key-file", str(key_file))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again" / "samples.csv").read_text() == (out / "samples.csv").read_text()
    other = tmp_path / "other.key"
    assert (
        _halric(
            "pseudonymise", str(clinical), str(tmp_path / "o"), "--key-file", str(other), "--new-key"
        ).returncode
        == 0
    )
    assert (tmp_path / "o" / "samples.csv").read_text() != (out / "samples.csv").read_text()


def test_guard_command_reports_places_and_exit_code(clinical: Path):
    r = _halric("guard", str(clinical), "--json")
    assert r.returncode == 1
    found = json.loads(r.stdout)["findings"]
    assert {f["kind"] for f in found} >= {"se-personnummer", "no-fodselsnummer", "de-kvnr", "dicom-patient"}
    assert PNR not in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--key-file", "{tmp}/missing.key"], "does not exist; create one with --new-key"),
        (["--key-file", "{tmp}/short.key"], "at least 32 bytes"),
    ],
)
def test_bad_keys_are_refused_with_one_line(clinical: Path, tmp_path: Path, args, message):
    (tmp_path / "short.key").write_text("too short")
    r = _halric("pseudonymise", str(clinical), str(tmp_path / "out"), *[a.format(tmp=tmp_path) for a in args])
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_out_must_be_new(clinical: Path, tmp_path: Path):
    key_file = tmp_path / "k"
    r = _halric("pseudonymise", str(clinical), str(clinical), "--key-file", str(key_file), "--new-key")
    assert r.returncode == 2 and "not empty" in r.stderr
