"""A guard's report names where it found an identifier without repeating the identifier: file names were
masked already; HDF5 object paths and attribute names are now too (found on 3 December 2026: a group
named after a patient's personnummer appeared in full in the finding's place)."""

from __future__ import annotations

import h5py

from halric.privacy.scan import scan_file

PNR = "19811218-9876"  # a valid-looking Swedish personnummer that belongs to nobody known


def test_object_paths_and_attribute_names_are_masked_in_findings(tmp_path):
    path = tmp_path / "scan.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group(f"entry/patient_{PNR}")
        g.attrs[f"id_{PNR}"] = "calibration run"
        g.create_dataset("data", data=[1, 2, 3])
    findings = scan_file(path, "scan.h5")
    places = [x.place for x in findings]
    assert any("object name /entry/patient_[se-personnummer]" in p for p in places), places
    assert any("attribute name /entry/patient_[se-personnummer]@id_[se-personnummer]" in p for p in places), (
        places
    )
    assert all(PNR not in str(x) for x in findings), findings
