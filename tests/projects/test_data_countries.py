"""Where data may live: a project restricts the countries of its data (by default its team's); datasets on a
storage location elsewhere are refused at registration, and a download by a caller from another country is
refused and audited."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
from sqlalchemy import select
from tests.support.accounts import bearer
from tests.support.settings import changed

from .helpers import running_project


@pytest.fixture()
def storage(db, tmp_path):
    """Two storage locations, one in Sweden and one in Denmark, both served for download."""
    (tmp_path / "se").mkdir()
    (tmp_path / "dk").mkdir()
    countries = f"{tmp_path}/se=SE;{tmp_path / 'dk'}/=dk"
    with changed(db, download_roots=str(tmp_path), storage_countries=countries):
        yield tmp_path


def _dataset(proposal_id: str, folder, **extra) -> dict:
    return {"type": "raw", "owner": "Clinic", "contactEmail": "c@example.org", "sourceFolder": str(folder),
            "creationTime": "2027-02-01T10:00:00Z", "proposalId": proposal_id, **extra}  # fmt: skip


def test_a_clinical_projects_data_live_only_where_it_allows(
    client, db, people, open_call, make_user, storage
):
    from halric.catalog import jurisdiction
    from halric.catalog.models import Dataset
    from halric.core.audit import AuditEvent

    pilot = running_project(db, people["applicant"]["name"], people["coordinator"]["name"],
                            people["maxiv_staff"]["name"])  # fmt: skip
    n, team = pilot.app_id, people["applicant"]["h"]
    assert jurisdiction.country_of(f"{storage}/dk/run", db.settings) == "DK"
    assert jurisdiction.country_of(f"{storage}/se/../dk/run", db.settings) == "DK"
    assert jurisdiction.country_of(f"{storage}/sea/run", db.settings) is None
    url = f"/api/projects/{n}/data-countries"
    # no rule yet: any folder is accepted
    r = client.post(
        "/api/v3/datasets", json=_dataset(pilot.proposal_id, storage / "se" / "free"), headers=team
    )
    assert r.status_code in (200, 201), r.text
    # someone outside the team may not set the rule; bad codes are refused by their field
    r = client.put(url, json={"restrict": True}, headers=people["desy_staff"]["h"])
    assert r.status_code in (403, 404), r.text
    r = client.put(url, json={"restrict": True, "countries": ["Denmark"]}, headers=team)
    assert r.status_code == 400 and r.json()["field"] == "countries"
    # the default: the countries of the team's organisations (Lund University, Rigshospitalet)
    r = client.put(url, json={"restrict": True}, headers=team)
    assert r.status_code == 200 and r.json() == {"allowedCountries": ["DK", "SE"]}, r.text
    # the coordinator narrows it to Denmark
    r = client.put(url, json={"restrict": True, "countries": ["dk"]}, headers=people["coordinator"]["h"])
    assert r.status_code == 200 and r.json() == {"allowedCountries": ["DK"]}, r.text

    # registering in Sweden, or on a location of no known country: refused, one line naming the field
    with db.session() as s:
        before = s.query(Dataset).count()
    for folder in (storage / "se" / "scan1", storage / "elsewhere"):
        for route in ("/api/v3/datasets", "/api/v4/datasets"):
            r = client.post(route, json=_dataset(pilot.proposal_id, folder), headers=team)
            assert r.status_code == 400 and r.json()["field"] == "sourceFolder", r.text
            assert "may only live in DK" in r.json()["detail"] and "\n" not in r.json()["detail"]
    with db.session() as s:
        assert s.query(Dataset).count() == before
    # in Denmark: accepted; moving it to Sweden afterwards is refused
    data = storage / "dk" / "scan1"
    data.mkdir()
    (data / "image.dcm").write_bytes(b"pseudonymised pixels")
    r = client.post("/api/v3/datasets", json=_dataset(pilot.proposal_id, data), headers=team)
    assert r.status_code in (200, 201), r.text
    pid = r.json()["pid"]
    q = quote(pid, safe="")
    r = client.patch(f"/api/v3/Datasets/{q}", json={"sourceFolder": str(storage / "se" / "x")}, headers=team)
    assert r.status_code == 400 and r.json()["field"] == "sourceFolder"
    block = {"datasetId": pid, "size": 20, "dataFileList": [
        {"path": "image.dcm", "size": 20, "time": "2027-02-01T10:00:00Z",
         "chk": hashlib.sha256(b"pseudonymised pixels").hexdigest()}]}  # fmt: skip
    r = client.post("/api/v4/origdatablocks", json=block, headers=team)
    assert r.status_code == 201, r.text

    # a team member at a Danish hospital downloads; a Swedish one is refused, and the refusal is audited
    dane = make_user(["applicant"], groups=[pilot.group], organisation="rigshospitalet", prefix="dk")
    swede = make_user(["applicant"], groups=[pilot.group], organisation="lu", prefix="se")
    path = f"/api/catalog/datasets/{q}/download?path=image.dcm"
    r = client.get(path, headers=bearer(db, dane))
    assert r.status_code == 200 and r.content == b"pseudonymised pixels", r.text
    r = client.get(path, headers=bearer(db, swede))
    assert r.status_code == 403 and "only be downloaded from organisations in DK" in r.json()["detail"]
    r = client.get(f"/api/catalog/datasets/{q}/download.zip", headers=bearer(db, swede))
    assert r.status_code == 403
    with db.session() as s:
        refused = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "download-refused", AuditEvent.entity_id == pid)
        ).all()
        assert {e.actor_name for e in refused} == {swede}
        assert refused[0].details["country"] == "SE" and refused[0].details["allowed"] == ["DK"]

    # lifting the rule: Sweden is fine again
    r = client.put(url, json={"restrict": False}, headers=team)
    assert r.status_code == 200 and r.json() == {"allowedCountries": None}
    assert client.get(path, headers=bearer(db, swede)).status_code == 200


def test_storage_countries_setting_is_checked():
    from halric.catalog import jurisdiction

    with pytest.raises(ValueError, match="not PREFIX=CC"):
        jurisdiction.parse("/data/x=Sweden")
    locs = jurisdiction.parse("/data=SE; /data/dk=DK ;https://dk.example/=DK")
    assert [loc.country for loc in locs] == ["DK", "DK", "SE"]
