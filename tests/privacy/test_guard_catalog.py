"""The guard where data is registered: the catalog API, the SciCat routes and `halric ingest` (both databases)."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import pytest
from sqlalchemy import func, select
from tests.support.accounts import bearer

from halric.core.actor import system_actor
from halric.ingest.dto import DatasetOptions
from halric.ingest.service import IngestRequest, ingest
from halric.ingest.writers import HubWriter
from halric.privacy.guard import PersonalDataFound

PNR = "19811218-9876"
ACTOR = system_actor("guard-test", via="system")


def _dataset(**extra):
    return {
        "type": "raw",
        "ownerGroup": "clinic",
        "owner": "Dr. Who",
        "contactEmail": "who@example.org",
        "sourceFolder": "/data/clinic/run1",
        "creationTime": "2026-11-30T10:00:00Z",
        **extra,
    }


def _count(db) -> int:
    from halric.catalog.models import Dataset

    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Dataset))


@pytest.fixture()
def token(db, make_user):
    return bearer(db, make_user(roles=["facility_staff"], groups=["clinic"]))


@pytest.mark.parametrize(
    "extra",
    [
        {"scientificMetadata": {"patient": {"value": PNR, "unit": ""}}},
        {"description": f"CT of {PNR}"},
        {"keywords": ["oncology", "CPR 211062-5629"]},
        {"scientificMetadata": {"subject_id": "15108695088"}},
    ],
)
def test_the_api_refuses_a_dataset_with_a_personal_number(client, db, token, extra):
    before = _count(db)
    for path in ("/api/v3/datasets", "/api/v4/datasets"):
        r = client.post(path, json=_dataset(**extra), headers=token)
        assert r.status_code == 422, r.text
        body = r.json()
        assert "personal identifiers found" in body["detail"] and "Nothing was registered" in body["detail"]
        assert body["findings"] and all(set(f) == {"file", "place", "kind"} for f in body["findings"])
        assert PNR not in r.text and "211062" not in r.text and "15108695088" not in r.text
    assert _count(db) == before


def test_a_clean_dataset_is_registered_and_a_later_change_is_checked(client, db, token):
    r = client.post(
        "/api/v3/datasets",
        json=_dataset(scientificMetadata={"start_time": {"value": "20261202-1530"}, "frame": 1234567890}),
        headers=token,
    )
    assert r.status_code in (200, 201), r.text
    pid = r.json()["pid"]
    from urllib.parse import quote

    r = client.patch(
        f"/api/v3/datasets/{quote(pid, safe='')}", json={"description": f"donor {PNR}"}, headers=token
    )
    assert r.status_code == 422 and PNR not in r.text
    got = client.get(f"/api/v3/datasets/{quote(pid, safe='')}", headers=token).json()
    assert "donor" not in (got.get("description") or "")

    block = {
        "size": 1,
        "dataFileList": [{"path": f"scans/{PNR}.dcm", "size": 1, "time": "2026-11-30T10:00:00Z"}],
    }
    r = client.post(f"/api/v3/datasets/{quote(pid, safe='')}/origdatablocks", json=block, headers=token)
    assert r.status_code == 422 and "file name" in r.json()["detail"] and PNR not in r.text


def test_samples_are_checked_too(client, token):
    r = client.post(
        "/api/v3/samples",
        json={"ownerGroup": "clinic", "sampleCharacteristics": {"donor_pnr": PNR}},
        headers=token,
    )
    assert r.status_code == 422 and PNR not in r.text


def test_ingest_refuses_the_folder_and_writes_nothing_then_accepts_it_pseudonymised(db, tmp_path: Path):
    from halric.privacy.pseudonym import new_key_file, pseudonymise, read_key

    data = tmp_path / "clinic"
    data.mkdir()
    with h5py.File(data / "ct.nxs", "w") as f:
        f.create_group("entry").attrs["patient"] = PNR
        f["entry"].create_dataset("data", data=[1, 2, 3])
    (data / "readme.txt").write_text("CT series\n")
    writer = HubWriter(db, ACTOR)
    req = IngestRequest(
        path=data, dataset=DatasetOptions(contact_email="pi@example.org", owner_group="clinic")
    )
    before = _count(db)
    with pytest.raises(PersonalDataFound) as exc:
        ingest(req, writer, roots=[tmp_path], journal_dir=tmp_path / "j")
    assert "ct.nxs: HDF5 attribute /entry@patient: Swedish personnummer" in exc.value.detail
    assert PNR not in exc.value.detail
    assert _count(db) == before  # nothing half-written

    new_key_file(tmp_path / "key")
    clean = tmp_path / "clinic-pseudonymised"
    report = pseudonymise(data, clean, read_key(tmp_path / "key"))
    assert report.remaining == []
    shutil.rmtree(data)
    clean.rename(data)  # the hospital replaces its export with the pseudonymised one
    summary = ingest(req, writer, roots=[tmp_path], journal_dir=tmp_path / "j")
    assert len(summary["datasets"]) == 1 and _count(db) == before + 1
