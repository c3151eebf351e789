"""The catalog service: SciCat DTOs, access rules, data blocks, embargo, filters and search (both databases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from halric.catalog import collections as coll
from halric.catalog import embargo, service
from halric.catalog.filters import parse_filter
from halric.catalog.search import SearchQuery, search
from halric.core.actor import ANONYMOUS, Actor, system_actor
from halric.core.audit import AuditEvent
from halric.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from halric.web import scicat_v3

ALICE = Actor(user_id=1, username="alice", groups=frozenset({"lab-a"}))
BOB = Actor(user_id=2, username="bob", groups=frozenset({"lab-b"}))
CAROL = Actor(user_id=3, username="carol", groups=frozenset({"collab"}))
STEWARD = Actor(user_id=4, username="stew", roles=frozenset({"steward"}))


def dto(**over) -> dict:
    base = {
        "datasetName": "Lysozyme crystal at 100 K",
        "type": "raw",
        "ownerGroup": "lab-a",
        "accessGroups": ["collab"],
        "owner": "alice",
        "contactEmail": "alice@lab-a.example",
        "sourceFolder": "/data/lab-a/run-1",
        "creationTime": "2024-03-01T10:00:00Z",
        "scientificMetadata": {"temperature": {"value": 100, "unit": "K"}, "beamline": "BioMAX"},
        "keywords": ["protein", "crystallography"],
        "techniques": [{"pid": "PaNET01012", "name": "x-ray diffraction"}],
        "principalInvestigator": "Alice A.",
        "proposalId": "P-100",
        "instrumentIds": ["maxiv-biomax"],
    }
    base.update(over)
    return base


def test_create_answers_scicat_shape_and_audits(db):
    with db.session() as s:
        out = service.create_dataset(s, ALICE, dto())
        pid = out["pid"]
        assert pid.startswith("20.500.12345/") and len(pid) > 20
        assert out["proposalIds"] == ["P-100"] and out["principalInvestigators"] == ["Alice A."]
        assert out["size"] == 0 and out["numberOfFiles"] == 0 and out["isPublished"] is False
        assert out["createdBy"] == "alice" and out["version"] == "4"
        # the interface another helper calls answers the same shape through get_dataset
        assert service.get_dataset(s, ALICE, pid) == out
        v3 = scicat_v3.dataset(service.get_dataset(s, ALICE, pid))  # what /api/v3 answers
        assert v3["proposalId"] == "P-100" and v3["principalInvestigator"] == "Alice A."
        assert v3 == {**out, "proposalId": "P-100", "instrumentId": "maxiv-biomax",
                      "principalInvestigator": "Alice A."}  # fmt: skip
        ev = s.scalars(select(AuditEvent).where(AuditEvent.entity_id == pid)).all()
        assert [e.action for e in ev] == ["create"] and ev[0].actor_name == "alice"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"datasetTitle": "x"}, "datasetTitle"),
        ({"type": "cooked"}, "type"),
        ({"size": -1}, "size"),
        ({"contactEmail": "not-an-address"}, "contactEmail"),
        ({"accessGroups": "lab-a"}, "accessGroups"),
        ({"techniques": [{"pid": "PaNET01012"}]}, "techniques"),
        ({"scientificMetadata": {"t": {"value": 1, "unit": 5}}}, "scientificMetadata"),
        ({"sourceFolder": None}, "sourceFolder"),
    ],
)
def test_unknown_fields_and_bad_values_name_the_field(db, change, field):
    with db.session() as s, pytest.raises(InvalidInput) as err:
        service.create_dataset(s, ALICE, dto(**change))
    assert err.value.field == field
    assert err.value.detail.startswith(field)


def test_only_members_create_for_a_group_and_pids_are_unique(db):
    with db.session() as s:
        with pytest.raises(PermissionDenied) as err:
            service.create_dataset(s, BOB, dto())
        assert err.value.field == "ownerGroup"
        with pytest.raises(NotAuthenticated):
            service.create_dataset(s, ANONYMOUS, dto())
        first = service.create_dataset(s, STEWARD, dto(pid="20.500.12345/fixed-one"))
        # repeating the same create (a retried upload) answers the stored record; a different one is refused
        assert service.create_dataset(s, ALICE, dto(pid="20.500.12345/fixed-one")) == first
        with pytest.raises(Conflict) as err:
            service.create_dataset(s, ALICE, dto(pid="20.500.12345/fixed-one", datasetName="other"))
        assert err.value.field == "pid"


def test_origdatablocks_update_size_and_file_count(db):
    with db.session() as s:
        pid = service.create_dataset(s, ALICE, dto())["pid"]
        files = [
            {"path": "a.h5", "size": 100, "time": "2024-03-01T10:01:00Z", "chk": "abc", "uid": "1000", "gid": "1000", "perm": "644"},
            {"path": "b.h5", "size": 50, "time": "2024-03-01T10:02:00Z"},
        ]  # fmt: skip
        block = service.add_origdatablock(
            s, ALICE, {"datasetId": pid, "size": 150, "chkAlg": "md5", "dataFileList": files}
        )
        assert block["datasetId"] == pid and block["dataFileList"][0]["chk"] == "abc"
        service.add_origdatablock(
            s, ALICE, {"datasetId": pid, "size": 7, "dataFileList": [{"path": "c", "size": 7}]}
        )
        got = service.get_dataset(s, ALICE, pid, include=["origdatablocks"])
        assert got["size"] == 157 and got["numberOfFiles"] == 3
        assert len(got["origdatablocks"]) == 2
        with pytest.raises(InvalidInput) as err:
            service.add_origdatablock(
                s, ALICE, {"datasetId": pid, "size": 1, "dataFileList": [{"path": "x"}]}
            )
        assert err.value.field == "dataFileList"
        # a member of an access group reads but may not add files
        with pytest.raises(PermissionDenied):
            service.add_origdatablock(s, CAROL, {"datasetId": pid, "size": 1, "dataFileList": []})


def test_read_and_write_rules(db):
    with db.session() as s:
        pid = service.create_dataset(s, ALICE, dto())["pid"]
        assert service.get_dataset(s, CAROL, pid)["pid"] == pid  # access group
        for outsider in (BOB, ANONYMOUS):
            with pytest.raises(NotFound) as err:
                service.get_dataset(s, outsider, pid)
            assert "or you may not see it" in err.value.detail
        with pytest.raises(PermissionDenied):
            service.update_dataset(s, CAROL, pid, {"datasetName": "mine now"})
        with pytest.raises(NotFound):
            service.update_dataset(s, BOB, pid, {"datasetName": "mine now"})
        out = service.update_dataset(s, STEWARD, pid, {"datasetName": "curated", "isPublished": True})
        assert out["datasetName"] == "curated" and out["isPublished"] is True
        assert service.get_dataset(s, ANONYMOUS, pid)["datasetName"] == "curated"
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == pid)).all()
        assert actions == ["create", "publish"]


def test_includes_obey_the_rule_of_the_related_record(db):
    with db.session() as s:
        coll.create_sample(
            s,
            ALICE,
            {"sampleId": "S-public", "ownerGroup": "lab-a", "isPublished": True, "sampleName": "open"},
        )
        coll.create_sample(s, ALICE, {"sampleId": "S-secret", "ownerGroup": "lab-a", "sampleName": "closed"})
        pid = service.create_dataset(s, ALICE, dto(sampleIds=["S-public", "S-secret"], isPublished=True))[
            "pid"
        ]
        seen = service.get_dataset(s, BOB, pid, include=["samples"])["samples"]
        assert [x["sampleId"] for x in seen] == ["S-public"]
        assert len(service.get_dataset(s, ALICE, pid, include=["samples"])["samples"]) == 2
        with pytest.raises(InvalidInput):
            service.get_dataset(s, ALICE, pid, include=["everything"])


def test_embargo_defaults_policies_and_release(db):
    with db.session() as s:
        coll.create_proposal(
            s,
            STEWARD,
            {
                "proposalId": "P-short",
                "ownerGroup": "lab-a",
                "email": "p@x.se",
                "title": "t",
                "embargoYears": 1,
            },
        )
        coll.create_proposal(
            s,
            STEWARD,
            {
                "proposalId": "P-industry",
                "ownerGroup": "lab-a",
                "email": "p@x.se",
                "title": "t",
                "neverRelease": True,
            },
        )
        with pytest.raises(PermissionDenied):  # the embargo policy is not the group's to set
            coll.update_proposal(s, ALICE, "P-short", {"embargoYears": 0})
        old = "2019-02-28T12:00:00Z"
        default = service.create_dataset(s, ALICE, dto(proposalId=None, creationTime=old))
        short = service.create_dataset(
            s, ALICE, dto(proposalId="P-short", creationTime="2025-06-01T00:00:00Z")
        )
        never = service.create_dataset(s, ALICE, dto(proposalId="P-industry", creationTime=old))
        recent = service.create_dataset(
            s, ALICE, dto(proposalId=None, creationTime=datetime.now(UTC).isoformat())
        )
        # back-dated datasets: the embargo counts from registration at the hub, never already over
        registered = datetime.fromisoformat(default["createdAt"].replace("Z", "+00:00"))
        assert default["embargoUntil"] == dto_iso(embargo.add_years(registered, 3))
        assert short["embargoUntil"] == dto_iso(embargo.add_years(
            datetime.fromisoformat(short["createdAt"].replace("Z", "+00:00")), 1))  # fmt: skip
        assert "embargoUntil" not in never and never["neverRelease"] is True
        with pytest.raises(PermissionDenied):
            service.release_embargoed(s, ALICE)
        assert service.release_embargoed(s, system_actor("cron")) == []  # nothing is due today
        in_13_months = registered + timedelta(days=400)
        released = service.release_embargoed(s, system_actor("cron"), now=in_13_months)
        assert short["pid"] in released and default["pid"] not in released
        in_4_years = registered + timedelta(days=4 * 366)
        released = service.release_embargoed(s, system_actor("cron"), now=in_4_years)
        assert default["pid"] in released and recent["pid"] in released and never["pid"] not in released
        assert service.release_embargoed(s, system_actor("cron"), now=in_4_years) == []
        assert service.get_dataset(s, ANONYMOUS, default["pid"])["isPublished"] is True
        with pytest.raises(NotFound):
            service.get_dataset(s, ANONYMOUS, never["pid"])
        ev = s.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == default["pid"], AuditEvent.action == "publish")
        ).all()
        assert len(ev) == 1 and ev[0].actor_name == "cron" and "embargo ended" in ev[0].details["reason"]
        # changing the policy recomputes the embargo of the proposal's unpublished datasets, from registration
        n = coll.set_proposal_policy(s, STEWARD, "P-industry", years=2, never_release=False)
        assert n >= 1
        again = service.get_dataset(s, ALICE, never["pid"])
        assert again["embargoUntil"] == dto_iso(
            embargo.add_years(datetime.fromisoformat(again["createdAt"].replace("Z", "+00:00")), 2)
        )


def dto_iso(when: datetime) -> str:
    from halric.catalog import dto as catalog_dto

    return catalog_dto.iso(when)


def test_backdated_dataset_is_not_released_without_a_decision(db):
    """A dataset measured in 2018 and catalogued today stays private: the nightly release does not
    publish it, whether its embargo was computed or set by hand to a date before registration."""
    with db.session() as s:
        computed = service.create_dataset(s, ALICE, dto(proposalId=None, creationTime="2018-03-01T10:00:00Z"))
        explicit = service.create_dataset(
            s,
            ALICE,
            dto(proposalId=None, creationTime="2018-03-01T10:00:00Z", embargoUntil="2020-01-01T00:00:00Z"),
        )
        now = datetime.now(UTC)
        assert datetime.fromisoformat(computed["embargoUntil"].replace("Z", "+00:00")) > now + timedelta(
            days=3 * 365 - 2
        )
        assert explicit["embargoUntil"].startswith("2020-01-01")  # kept as given ...
        assert computed["pid"] not in embargo.due(s) and explicit["pid"] not in embargo.due(s)
        assert service.release_embargoed(s, system_actor("cron"), now=now + timedelta(days=30)) == []
        # ... but the job never publishes it; a steward decides
        far = now + timedelta(days=20 * 365)
        assert explicit["pid"] not in service.release_embargoed(s, system_actor("cron"), now=far)
        with pytest.raises(NotFound):
            service.get_dataset(s, ANONYMOUS, explicit["pid"])


def test_loopback_where_operators(db):
    with db.session() as s:
        a = service.create_dataset(
            s,
            ALICE,
            dto(datasetName="Alpha scan", size=10, proposalId="P-ops", creationTime="2020-01-01T00:00:00Z"),
        )
        b = service.create_dataset(s, ALICE, dto(datasetName="beta SCAN", size=20, proposalId="P-ops", creationTime="2021-01-01T00:00:00Z",
                                                 scientificMetadata={"temperature": {"value": 300, "unit": "K"}}))  # fmt: skip
        service.create_dataset(
            s, BOB, dto(ownerGroup="lab-b", accessGroups=[], datasetName="Alpha hidden", proposalId="P-ops")
        )

        def pids(where: str, actor: Actor = ALICE) -> set[str]:
            return {
                d["pid"] for d in service.find_datasets(s, actor, parse_filter({"where": json.loads(where)}))
            }

        both = {a["pid"], b["pid"]}
        assert pids('{"proposalId": "P-ops"}') == both  # BOB's dataset is not visible to ALICE
        assert pids('{"proposalIds": {"inq": ["P-ops", "nope"]}}') == both
        assert pids('{"and": [{"proposalId": "P-ops"}, {"datasetName": {"like": "Alpha"}}]}') == {a["pid"]}
        assert pids('{"and": [{"proposalId": "P-ops"}, {"datasetName": {"ilike": "^beta scan$"}}]}') == {
            b["pid"]
        }
        assert (
            pids(
                '{"and": [{"proposalId": "P-ops"}, {"or": [{"size": {"gt": 15}}, {"datasetName": "Alpha scan"}]}]}'
            )
            == both
        )
        assert pids('{"and": [{"proposalId": "P-ops"}, {"creationTime": {"lt": "2020-06-01"}}]}') == {
            a["pid"]
        }
        assert pids('{"and": [{"proposalId": "P-ops"}, {"datasetName": {"nin": ["Alpha scan"]}}]}') == {
            b["pid"]
        }
        assert pids(
            '{"and": [{"proposalId": "P-ops"}, {"scientificMetadata.temperature.value": {"gte": 200}}]}'
        ) == {b["pid"]}
        assert (
            pids('{"proposalId": "P-ops"}', BOB)
            == {d for d in pids('{"proposalId": "P-ops"}', STEWARD)} - both
        )
        with pytest.raises(InvalidInput) as err:
            pids('{"secretField": 1}')
        assert err.value.field == "where.secretField"
        found = coll.find_samples(s, ALICE, parse_filter('{"where": {"sampleName": {"like": "^ope"}}}'))
        assert all(x["sampleName"].startswith("ope") for x in found)


def test_search_counts_and_facets_respect_access(db):
    with db.session() as s:
        mine = service.create_dataset(s, ALICE, dto(datasetName="Zebrafish heart tomography", keywords=["zebrafish"], proposalId="P-zf",
                                                    techniques=[{"pid": "PaNET01101", "name": "tomography"}], sampleIds=["S-zf"]))  # fmt: skip
        hidden = service.create_dataset(s, BOB, dto(ownerGroup="lab-b", accessGroups=[], datasetName="Zebrafish secret",
                                                    keywords=["zebrafish"], proposalId="P-zf-secret", sampleIds=["S-zf-secret"],
                                                    techniques=[{"pid": "PaNET00000", "name": "secret technique"}]))  # fmt: skip
        for actor, expect in (
            (ALICE, {mine["pid"]}),
            (BOB, {hidden["pid"]}),
            (ANONYMOUS, set()),
            (STEWARD, {mine["pid"], hidden["pid"]}),
        ):
            r = search(s, actor, SearchQuery(text="zebrafish"))
            assert {d["pid"] for d in r["items"]} == expect and r["total"] == len(expect)
            values = {
                f: {i["value"] for i in r["facets"][f]}
                for f in ("proposal", "sample", "technique", "ownerGroup")
            }
            if hidden["pid"] not in expect:
                assert "P-zf-secret" not in values["proposal"] and "S-zf-secret" not in values["sample"]
                assert "PaNET00000" not in values["technique"] and "lab-b" not in values["ownerGroup"]
        r = search(s, ALICE, SearchQuery(text="zebrafish", technique=["PaNET01101"], proposal=["P-zf"]))
        assert r["total"] == 1 and r["facets"]["proposal"] == [{"value": "P-zf", "count": 1}]
        r = search(s, ALICE, SearchQuery(created_from=datetime(2030, 1, 1, tzinfo=UTC)))
        assert r["total"] == 0
        r = search(
            s,
            ALICE,
            SearchQuery(text="zebrafish", created_to=datetime.now(UTC) + timedelta(days=1), published=False),
        )
        assert r["total"] == 1
