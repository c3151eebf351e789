"""The real SciCat clients, unchanged, against a real hub process (`halric serve`) on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.accounts import PASSWORD, add_user


@pytest.fixture(scope="module")
def people(hub) -> dict[str, str]:
    return {
        "alice": add_user(hub["db"], ["lab-a"], prefix="alice"),
        "bob": add_user(hub["db"], ["lab-b"], prefix="bob"),
    }


def test_scitacean_round_trip_with_files_attachments_and_sample(hub, people, tmp_path: Path):
    from scitacean import Attachment, Client, Dataset, RemotePath, ScicatCommError, Thumbnail
    from scitacean.model import Sample
    from scitacean.transfer.copy import CopyFileTransfer

    local = tmp_path / "local"
    local.mkdir()
    (local / "frame_0001.h5").write_bytes(b"\x89HDF\r\n" + bytes(range(200)))
    (local / "notes.txt").write_text("beam 12 keV, 100 K\n")
    store = tmp_path / "facility-storage"
    url = hub["base"] + "/api/v3"  # scitacean switches to /api/v4 for datasets itself
    client = Client.from_credentials(
        url=url,
        username=people["alice"],
        password=PASSWORD,
        allow_http=True,
        file_transfer=CopyFileTransfer(),
    )

    sample = client.upload_new_sample_now(
        Sample(owner_group="lab-a", sample_name="Lysozyme crystal 7", description="tetragonal",
               sample_characteristics={"mass": {"value": 2.5, "unit": "mg"}})
    )  # fmt: skip
    assert sample.sample_id and client.get_sample(sample.sample_id) == sample

    ds = Dataset(
        type="raw", name="Lysozyme at 100 K", description="Rotation series", owner=people["alice"],
        owner_group="lab-a", access_groups=["lab-a-friends"], contact_email="alice@lab-a.example",
        creation_location="MAX IV BioMAX", principal_investigators=["Alice Andersson"],
        source_folder=RemotePath((store / "run-7").as_posix()), sample_ids=[sample.sample_id],
        proposal_ids=["P-2025-007"], keywords=["lysozyme", "MX"], techniques=["PaNET01012"],
        meta={"temperature": {"value": 100, "unit": "K"}, "energy": {"value": 12.0, "unit": "keV"}},
        checksum_algorithm="sha256",
    )  # fmt: skip
    ds.add_local_files(local / "frame_0001.h5", local / "notes.txt")
    ds.attachments.append(
        Attachment(
            caption="Diffraction image",
            owner_group="lab-a",
            thumbnail=Thumbnail(mime="image/png", data=b"\x89PNGpretend"),
        )
    )
    finalized = client.upload_new_dataset_now(ds)
    assert str(finalized.pid).startswith("PID.test/")
    assert (store / "run-7" / "frame_0001.h5").read_bytes() == (local / "frame_0001.h5").read_bytes()

    back = client.get_dataset(finalized.pid, attachments=True)
    for field in Dataset.fields():
        if field.name in ("updated_at",):
            continue
        assert getattr(back, field.name) == getattr(finalized, field.name), field.name
    assert back.meta == ds.meta and back.techniques == finalized.techniques
    assert back.size == sum(p.stat().st_size for p in local.iterdir()) and back.number_of_files == 2
    assert sorted(f.remote_path.posix for f in back.files) == ["frame_0001.h5", "notes.txt"]
    assert {f.remote_path.posix: f.checksum() for f in back.files} == {
        f.remote_path.posix: f.checksum() for f in finalized.files
    }
    assert [a.caption for a in back.attachments] == ["Diffraction image"]
    assert back.attachments[0].thumbnail.decoded_data() == b"\x89PNGpretend"

    downloaded = client.download_files(back, target=tmp_path / "down")
    assert (tmp_path / "down" / "notes.txt").read_text() == "beam 12 keV, 100 K\n"
    assert all(f.local_path is not None for f in downloaded.files)

    # someone else's private dataset is refused, without revealing that it exists
    other = Client.from_credentials(url=url, username=people["bob"], password=PASSWORD, allow_http=True)
    with pytest.raises(ScicatCommError, match="404"):
        other.get_dataset(finalized.pid)
    with pytest.raises(ScicatCommError, match="404"):
        other.get_sample(sample.sample_id)
    anonymous = Client.without_login(url=url, allow_http=True)
    with pytest.raises(ScicatCommError, match="404"):
        anonymous.get_dataset(finalized.pid)
    # nor may Bob write into Alice's group
    with pytest.raises(ScicatCommError, match="403"):
        other.upload_new_dataset_now(Dataset(type="raw", owner="bob", owner_group="lab-a", contact_email="b@x.org",
                                             source_folder=RemotePath("/x"), principal_investigators=["B"]))  # fmt: skip


def test_pyscicat_creates_queries_and_updates(hub, people):
    from pyscicat.client import ScicatClient, ScicatCommError
    from pyscicat.model import CreateDatasetOrigDatablockDto, DataFile, DerivedDataset, RawDataset

    c = ScicatClient(base_url=hub["base"] + "/api/v3", username=people["alice"], password=PASSWORD)
    raw = RawDataset(
        datasetName="Tomography of zebrafish heart", ownerGroup="lab-a", accessGroups=["lab-a"],
        contactEmail="alice@lab-a.example", creationTime="2025-05-01T08:00:00", owner=people["alice"],
        sourceFolder="/data/tomo/zf-01", creationLocation="DTU 3DIM", principalInvestigator="Alice Andersson",
        proposalId="P-zf", sampleId="zf-01", keywords=["zebrafish"],
        scientificMetadata={"voxel_size": {"value": 0.65, "unit": "um"}},
    )  # fmt: skip
    pid = c.datasets_create(raw)
    block = c.datasets_origdatablock_create(
        pid,
        CreateDatasetOrigDatablockDto(
            size=3000,
            dataFileList=[DataFile(path="proj_0000.tif", size=1000, time="2025-05-01 08:01:00", chk="aa"),
                          DataFile(path="proj_0001.tif", size=2000, time="2025-05-01 08:01:05", chk="bb")],
        ),
    )  # fmt: skip
    assert block["datasetId"] == pid and len(block["dataFileList"]) == 2
    got = c.datasets_get_one(pid)
    assert got["size"] == 3000 and got["numberOfFiles"] == 2 and got["proposalId"] == "P-zf"
    assert c.datasets_origdatablocks_get_one(pid)[0]["dataFileList"][1]["path"] == "proj_0001.tif"

    found = c.datasets_get_many({"proposalId": "P-zf"})
    assert [d["pid"] for d in found] == [pid]
    assert c.datasets_get_many({"datasetName": {"like": "ZEBRAFISH"}}) == []  # like is case-sensitive
    assert [d["pid"] for d in c.datasets_get_many({"datasetName": {"like": "^Tomo.*heart$"}})] == [pid]
    assert [d["pid"] for d in c.datasets_get_many({"datasetName": {"ilike": "ZEBRAFISH"}})] == [pid]
    assert [d["pid"] for d in c.datasets_find(query_fields={"text": "zebrafish heart"})] == [pid]

    raw.datasetName = "Tomography of zebrafish heart, 3 dpf"
    raw.keywords = ["zebrafish", "heart"]
    assert c.datasets_update(raw, pid) == pid
    updated = c.datasets_get_one(pid)
    assert updated["datasetName"].endswith("3 dpf") and updated["keywords"] == ["zebrafish", "heart"]
    assert updated["size"] == 3000  # the file list still counts

    derived = DerivedDataset(
        ownerGroup="lab-a", contactEmail="alice@lab-a.example", creationTime="2025-05-02T08:00:00",
        owner=people["alice"], sourceFolder="/data/tomo/zf-01-recon", investigator="Alice Andersson",
        inputDatasets=[pid], usedSoftware=["tomopy"],
    )  # fmt: skip
    dpid = c.datasets_create(derived)
    assert c.datasets_get_one(dpid)["inputDatasets"] == [pid]

    # Bob: sees none of it and may not change it; bad input is refused with the field named
    bob = ScicatClient(base_url=hub["base"] + "/api/v3", username=people["bob"], password=PASSWORD)
    assert bob.datasets_get_many({"proposalId": "P-zf"}) == []
    with pytest.raises(ScicatCommError, match="may not see it"):
        bob.datasets_get_one(pid)
    with pytest.raises(ScicatCommError, match="No dataset"):
        bob.datasets_update(raw, pid)
    bad = raw.model_copy(update={"size": -5})
    with pytest.raises(ScicatCommError, match="size"):
        c.datasets_create(bad)
