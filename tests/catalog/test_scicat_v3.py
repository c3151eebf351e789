"""SciCat v3 and v4 answer the same records; v3 adds its singular fields at the edge (web/scicat_v3.py),
the catalog's domain knows one shape (issue #16)."""

from __future__ import annotations

import json
from urllib.parse import quote

from tests.support.accounts import bearer

from halric.web import scicat_v3


def test_a_dataset_gains_the_first_of_each_list_and_nothing_else():
    v4 = {"pid": "p/1", "type": "derived", "proposalIds": ["P-1", "P-2"], "sampleIds": [],
          "instrumentIds": ["i-1"], "principalInvestigators": ["Ann", "Bo"], "keywords": ["k"]}  # fmt: skip
    assert scicat_v3.dataset(v4) == {**v4, "proposalId": "P-1", "instrumentId": "i-1",
                                     "principalInvestigator": "Ann", "investigator": "Ann"}  # fmt: skip
    raw = {"pid": "p/2", "type": "raw", "proposalIds": [], "principalInvestigators": []}
    assert scicat_v3.dataset(raw) == raw  # nothing unset is added, no investigator for raw data
    assert v4["proposalIds"] == ["P-1", "P-2"] and "proposalId" not in v4  # the v4 answer is not changed


def test_an_attachment_names_its_targets_and_included_ones_do_too():
    a = {"id": "a1", "caption": "c", "relationships": [
        {"targetId": "p/1", "targetType": "dataset", "relationType": "is attached to"},
        {"targetId": "S-1", "targetType": "sample", "relationType": "is attached to"}]}  # fmt: skip
    assert scicat_v3.attachment(a) == {**a, "datasetId": "p/1", "sampleId": "S-1"}
    d = scicat_v3.dataset({"pid": "p/1", "type": "raw", "attachments": [a]})
    assert d["attachments"] == [scicat_v3.attachment(a)]


def test_the_two_versions_answer_the_same_record(client, db, make_user):
    h = bearer(db, make_user(groups=["grp-v3"]))
    body = {"type": "derived", "ownerGroup": "grp-v3", "owner": "Vera", "contactEmail": "v@example.org",
            "sourceFolder": "/data/v3/run", "creationTime": "2025-01-02T03:04:05Z", "datasetName": "v3 test",
            "investigator": "Vera V.", "inputDatasets": ["x/1"], "usedSoftware": ["s"],
            "proposalIds": ["P-V3"]}  # fmt: skip
    created = client.post("/api/v3/datasets", json=body, headers=h)
    assert created.status_code == 201, created.text
    pid = created.json()["pid"]
    assert created.json()["proposalId"] == "P-V3" and created.json()["investigator"] == "Vera V."
    att = client.post(f"/api/v4/datasets/{quote(pid, safe='')}/attachments",
                      json={"caption": "plot", "thumbnail": "data:image/png;base64,AAAA"}, headers=h)  # fmt: skip
    assert att.status_code == 201, att.text
    assert "datasetId" not in att.json()
    flt = '{"include":["attachments"]}'
    v4 = client.get(f"/api/v4/datasets/{quote(pid, safe='')}", params={"filter": flt}, headers=h).json()
    v3 = client.get(f"/api/v3/datasets/{quote(pid, safe='')}", params={"filter": flt}, headers=h).json()
    assert "proposalId" not in v4 and "datasetId" not in v4["attachments"][0]
    assert v3 == scicat_v3.dataset(v4) and v3["attachments"][0]["datasetId"] == pid
    # a list, with the filter's fields picking among v3's own names
    flt = json.dumps({"where": {"pid": pid}, "fields": ["pid", "proposalId"]})
    rows = client.get("/api/v3/datasets", headers=h, params={"filter": flt}).json()
    assert rows == [{"pid": pid, "proposalId": "P-V3"}]
