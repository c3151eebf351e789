"""The SQL filter compiler for samples, proposals, published data, instruments and data blocks gives the
answers of the reference evaluator (``filters.apply`` over the SciCat dictionaries), on both databases,
and the access rule in SQL is ``rules.can_read``."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from halric.catalog import collections as coll
from halric.catalog import published, rules, service
from halric.catalog.filters import Filter, apply
from halric.core.actor import ANONYMOUS, Actor

STEWARD = Actor(user_id=1, username="stew", groups=frozenset({"lab-a"}), roles=frozenset({"steward"}))
ALICE = Actor(user_id=2, username="alice", groups=frozenset({"lab-a"}))
CAROL = Actor(user_id=3, username="carol", groups=frozenset({"collab"}))
NOBODY = Actor(user_id=4, username="nobody", groups=frozenset({"elsewhere"}))


@pytest.fixture(scope="module")
def world(db):
    with db.session() as s:
        chars = [
            {"temperature": {"value": 100, "unit": "K"}, "colour": "red", "ok": True},
            {"temperature": {"value": 300.5, "unit": "K"}, "colour": "blue", "ok": False},
            {"temperature": {"value": "warm"}, "colour": "", "tags": ["a", "b"]},
            {},
        ]
        for i, c in enumerate(chars):
            coll.create_sample(
                s,
                STEWARD,
                {
                    "sampleId": f"S-{i}", "sampleName": ["Lysozyme", "lysozyme B", "Insulin", None][i],
                    "ownerGroup": "lab-a" if i < 3 else "lab-b", "accessGroups": [["collab"], [], ["x", "collab"], []][i],
                    "sampleCharacteristics": c, "isPublished": i == 1, "description": ["d", None, "", "z"][i],
                },
            )  # fmt: skip
        coll.create_proposal(
            s,
            STEWARD,
            {
                "proposalId": "P-1", "ownerGroup": "lab-a", "email": "p@example.org", "title": "Proteins",
                "metadata": {"beamtime": 3, "kind": "rapid"},
                "measurementPeriodList": [{"instrument": "biomax", "start": "2024-01-01T00:00:00Z", "end": "2024-01-02T00:00:00Z"}],
            },
        )  # fmt: skip
        coll.create_proposal(
            s,
            STEWARD,
            {
                "proposalId": "P-2",
                "ownerGroup": "lab-b",
                "email": "q@example.org",
                "title": "Metals",
                "isPublished": True,
            },
        )
        ds = service.create_dataset(
            s,
            STEWARD,
            {
                "datasetName": "d", "type": "raw", "ownerGroup": "lab-a", "owner": "stew", "contactEmail": "s@example.org",
                "sourceFolder": "/data/q", "creationTime": "2024-01-01T00:00:00Z",
            },
        )  # fmt: skip
        for n, files in enumerate(
            [
                [{"path": "a/x.h5", "size": 10}, {"path": "a/y.h5", "size": 20}],
                [{"path": "b/z.txt", "size": 5}],
            ]
        ):
            service.add_origdatablock(
                s,
                STEWARD,
                {"size": 30 - n, "dataFileList": files, "chkAlg": "md5" if n else None},
                dataset_pid=ds["pid"],
            )
        published.create(
            s,
            STEWARD,
            {"title": "Pub one", "abstract": "a", "creator": ["Ann", "Bob"], "pidArray": [ds["pid"]]},
        )
        coll.create_instrument(
            s,
            STEWARD,
            {"pid": "own-1", "name": "Own beamline", "uniqueName": "own-1", "customMetadata": {"energy": 12}},
        )
    return ds["pid"]


WHERES = [
    {},
    {"sampleName": "Lysozyme"},
    {"sampleName": {"like": "ysoz"}},
    {"sampleName": {"ilike": "^LYSO"}},
    {"sampleName": {"nlike": "^Lys"}},
    {"sampleName": {"nilike": "^lys"}},
    {"sampleName": None},
    {"sampleName": {"neq": "Insulin"}},
    {"sampleName": {"inq": ["Insulin", "Lysozyme"]}},
    {"sampleName": {"nin": ["Insulin"]}},
    {"description": ""},
    {"accessGroups": "collab"},
    {"accessGroups": {"inq": ["x", "y"]}},
    {"accessGroups": {"nin": ["collab"]}},
    {"accessGroups": {"neq": "collab"}},
    {"accessGroups": None},
    {"accessGroups": {"like": "^col"}},
    {"sampleCharacteristics.temperature.value": {"gt": 150}},
    {"sampleCharacteristics.temperature.value": {"lte": 100}},
    {"sampleCharacteristics.temperature.value": {"between": [50, 400]}},
    {"sampleCharacteristics.temperature.value": "warm"},
    {"sampleCharacteristics.temperature.value": {"inq": [100, "warm"]}},
    {"sampleCharacteristics.temperature.value": {"neq": 100}},
    {"sampleCharacteristics.colour": {"inq": ["red", "blue"]}},
    {"sampleCharacteristics.colour": ""},
    {"sampleCharacteristics.colour": None},
    {"sampleCharacteristics.colour": {"nlike": "e"}},
    {"sampleCharacteristics.ok": True},
    {"sampleCharacteristics.ok": False},
    {"sampleCharacteristics.missing": None},
    {"sampleCharacteristics.missing": "x"},
    {"noSuchField": None},
    {"noSuchField": {"neq": 3}},
    {"noSuchField": "x"},
    {"isPublished": True},
    {"or": [{"sampleId": "S-0"}, {"and": [{"isPublished": True}, {"sampleName": {"like": "B$"}}]}]},
    {"createdAt": {"gt": "2000-01-01T00:00:00Z"}},
    {"ownerGroup": {"inq": ["lab-b"]}},
]


@pytest.mark.parametrize("where", WHERES)
def test_samples_answer_as_the_reference(db, world, where):
    with db.session() as s:
        everything = [coll.sample_dict(x) for x in s.scalars(select(coll.Sample))]
        got = coll.find_samples(s, STEWARD, Filter(where=where))
    want = apply(everything, Filter(where=where))
    assert sorted(d["sampleId"] for d in got) == sorted(d["sampleId"] for d in want)


PROPOSAL_WHERES = [
    {"metadata.beamtime": {"gte": 3}},
    {"metadata.kind": {"like": "^rap"}},
    {"measurementPeriodList.instrument": "biomax"},
    {"MeasurementPeriodList.instrument": {"nin": ["biomax"]}},
    {"title": {"inq": ["Metals"]}},
    {"embargoYears": None},
]


@pytest.mark.parametrize("where", PROPOSAL_WHERES)
def test_proposals_answer_as_the_reference(db, world, where):
    with db.session() as s:
        everything = coll.find_proposals(s, STEWARD, Filter())
        got = coll.find_proposals(s, STEWARD, Filter(where=where))
    want = apply(everything, Filter(where=where))
    assert [d["proposalId"] for d in got] == [d["proposalId"] for d in want]


BLOCK_WHERES = [
    {"dataFileList.path": {"like": "^a/"}},
    {"dataFileList.path": "b/z.txt"},
    {"dataFileList.size": {"gt": 15}},
    {"dataFileList.size": {"lt": 5}},
    {"dataFileList.path": {"nlike": "txt$"}},
    {"chkAlg": None},
    {"size": {"gte": 30}},
]


@pytest.mark.parametrize("where", BLOCK_WHERES)
def test_blocks_answer_as_the_reference(db, world, where):
    with db.session() as s:
        everything = service.find_origdatablocks(s, STEWARD, Filter())
        got = service.find_origdatablocks(s, STEWARD, Filter(where=where))
    assert len(everything) == 2
    assert [d["id"] for d in got] == [d["id"] for d in apply(everything, Filter(where=where))]


def test_published_data_and_instruments_filter_in_sql(db, world):
    with db.session() as s:
        assert [p["title"] for p in published.find(s, STEWARD, Filter(where={"creator": "Bob"}))] == [
            "Pub one"
        ]
        assert published.find(s, STEWARD, Filter(where={"creator": {"nin": ["Ann"]}})) == []
        assert (
            published.find(s, ANONYMOUS, Filter()) == []
        )  # pending registration: its creator and stewards only
        assert [
            i["uniqueName"] for i in coll.find_instruments(s, Filter(where={"customMetadata.energy": 12}))
        ] == ["own-1"]
        assert coll.find_instruments(s, Filter(where={"customMetadata.source": "halric-registry"})) == []


def test_order_skip_limit_and_fields(db, world):
    with db.session() as s:
        flt = Filter(order=[("sampleName", False)], skip=1, limit=2, fields=["sampleId"])
        got = coll.find_samples(s, STEWARD, flt)
        everything = coll.find_samples(s, STEWARD, Filter())
        assert got == apply(everything, flt)
        flt = Filter(order=[("sampleName", True)])
        assert [d["sampleId"] for d in coll.find_samples(s, STEWARD, flt)] == [
            d["sampleId"] for d in apply(everything, flt)
        ]


@pytest.mark.parametrize("actor", [ANONYMOUS, ALICE, CAROL, NOBODY, STEWARD])
def test_the_access_rule_in_sql_is_can_read(db, world, actor):
    from sqlalchemy import select

    with db.session() as s:
        rows = list(s.scalars(select(coll.Sample)))
        want = sorted(
            r.sample_id for r in rows if rules.can_read(actor, r.owner_group, r.access_groups, r.is_published)
        )
        assert sorted(d["sampleId"] for d in coll.find_samples(s, actor, Filter())) == want


def test_includes_are_loaded_in_batches_not_per_dataset(db, world):
    """find_datasets with every relation included runs the same number of statements for 1 and for 11
    datasets (one per relation), and gives what get_dataset gives for each."""
    from sqlalchemy import event

    from halric.catalog.filters import Filter as F

    with db.session() as s:
        for n in range(11):
            ds = service.create_dataset(
                s,
                STEWARD,
                {
                    "datasetName": f"batch {n}", "type": "raw", "ownerGroup": "lab-a", "owner": "stew", "accessGroups": ["collab"],
                    "contactEmail": "s@example.org", "sourceFolder": f"/data/b{n}", "creationTime": "2024-01-01T00:00:00Z",
                    "sampleIds": ["S-0", "S-3"], "proposalIds": ["P-1"], "instrumentIds": ["own-1"],
                },
            )  # fmt: skip
            service.add_origdatablock(
                s, STEWARD, {"size": 1, "dataFileList": [{"path": "f", "size": 1}]}, dataset_pid=ds["pid"]
            )
    include = ["origdatablocks", "attachments", "samples", "proposals", "instruments"]
    counts = []
    for limit in (1, 11):
        with db.session() as s:
            statements: list[str] = []
            engine = s.get_bind()

            def listener(*a: object, sink: list = statements) -> None:
                sink.append(str(a[2]))

            event.listen(engine, "before_cursor_execute", listener)
            try:
                rows = service.find_datasets(s, CAROL, F(include=include, limit=limit))
            finally:
                event.remove(engine, "before_cursor_execute", listener)
            counts.append(len(statements))
            assert len(rows) == limit
            for d in rows:
                one = service.get_dataset(s, CAROL, d["pid"], include=include)
                assert d == one
                if d["datasetName"].startswith("batch"):
                    assert [x["sampleId"] for x in d["samples"]] == ["S-0"]  # S-3 is lab-b's, unpublished
                    assert len(d["origdatablocks"]) == 1 and d["instruments"][0]["uniqueName"] == "own-1"
    assert counts[0] == counts[1], counts
