"""The filter language under attack and bad input (issue #13): no pattern becomes a backtracking regular
expression, and every malformed filter answers 400 with a detail a person can act on (both databases)."""

from __future__ import annotations

import json
import re
import time

import pytest

from halric.catalog.filters import LikePattern

LONG = "abcdefghij" * 4  # 40 characters without a "!": the worst case for ^(.|.){1,n}!


@pytest.fixture(scope="module")
def world(db):
    """A public dataset with a block and a long metadata name, a sample, a proposal and an instrument,
    all with 40-character names."""
    from halric.catalog import collections as coll
    from halric.catalog import published, service
    from halric.catalog.models import PublishedData
    from halric.core.actor import Actor

    steward = Actor(user_id=1, username="stew", groups=frozenset({"lab-a"}), roles=frozenset({"steward"}))
    with db.session() as s:
        ds = service.create_dataset(
            s,
            steward,
            {
                "datasetName": LONG, "type": "raw", "ownerGroup": "lab-a", "owner": "stew",
                "contactEmail": "s@example.org", "sourceFolder": "/data/a", "isPublished": True,
                "creationTime": "2024-01-01T00:00:00Z", "size": 10,
                "scientificMetadata": {LONG: {"value": 5, "unit": "K"}, "beamline": "BioMAX"},
            },
        )  # fmt: skip
        service.add_origdatablock(
            s, steward, {"size": 1, "dataFileList": [{"path": LONG, "size": 1}]}, dataset_pid=ds["pid"]
        )
        coll.create_sample(s, steward, {"ownerGroup": "lab-a", "sampleName": LONG, "isPublished": True})
        coll.create_proposal(
            s,
            steward,
            {
                "proposalId": "P-redos",
                "ownerGroup": "lab-a",
                "title": LONG,
                "email": "p@example.org",
                "isPublished": True,
            },
        )
        doi = published.create(
            s, steward, {"title": LONG, "abstract": "a", "creator": ["c"], "pidArray": [ds["pid"]]}
        )["doi"]
        s.get(PublishedData, doi).status = "registered"
        coll.create_instrument(s, steward, {"name": LONG, "uniqueName": "redos-" + LONG})
    return ds["pid"]


def redos(n: int) -> str:
    return "^(.|.){1," + str(n) + "}!"


LIKE_PATHS = [
    ("/api/v3/instruments", "name"),
    ("/api/v3/samples", "sampleName"),
    ("/api/v3/proposals", "title"),
    ("/api/v3/publisheddata", "title"),
    ("/api/v4/origdatablocks", "dataFileList.path"),
    ("/api/v3/datasets", "datasetName"),
]


@pytest.mark.parametrize(("path", "field"), LIKE_PATHS)
@pytest.mark.parametrize("op", ["like", "ilike"])
def test_a_backtracking_pattern_answers_fast_whatever_the_repeat(client, world, path, field, op):
    client.get(path, params={"filter": json.dumps({"where": {field: {op: "warm-up"}}})})
    for n in (19, 25, 40):
        flt = json.dumps({"where": {field: {op: redos(n)}}})
        t0 = time.process_time()  # CPU of this process (server thread included), not the shared machine's
        r = client.get(path, params={"filter": flt})
        took = time.process_time() - t0
        assert r.status_code == 200, r.text
        assert r.json() == []
        assert took < 0.5, f"{path} {op} {redos(n)} took {took:.2f} s"


def test_panosc_parameter_patterns_answer_fast(client, world):
    client.get("/panosc-api/Datasets")
    for n in (19, 25, 40):
        flt = {"include": [{"relation": "parameters", "scope": {"where": {"name": {"like": redos(n)}}}}]}
        t0 = time.process_time()
        r = client.get("/panosc-api/Datasets", params={"filter": json.dumps(flt)})
        assert r.status_code == 200, r.text
        assert r.json() == []
        assert time.process_time() - t0 < 0.5
    # the matcher still finds what the pattern says
    flt = {"include": [{"relation": "parameters", "scope": {"where": {"name": {"like": "^abc.*hij$"}}}}]}
    r = client.get("/panosc-api/Datasets", params={"filter": json.dumps(flt)})
    assert [d["pid"] for d in r.json()] == [world]


def test_like_patterns_keep_their_meaning(client, world):
    def names(path: str, field: str, pattern: dict) -> int:
        r = client.get(path, params={"filter": json.dumps({"where": {field: pattern}})})
        assert r.status_code == 200, r.text
        return len(r.json())

    for path, field in LIKE_PATHS:
        assert names(path, field, {"like": "^abc"}) == 1, path
        assert names(path, field, {"like": "hij$"}) == 1, path
        assert names(path, field, {"like": "^a.c.*j$"}) == 1, path
        assert names(path, field, {"like": "ABC"}) == 0, path  # like is case-sensitive
        assert names(path, field, {"ilike": "ABC"}) == 1, path
        assert names(path, field, {"like": "^bcd"}) == 0, path
        assert names(path, field, {"nlike": "^abc"}) == 0, path


@pytest.mark.parametrize(
    ("pattern", "text", "hit"),
    [
        ("abc", "xxabcxx", True), ("^abc", "xabc", False), ("abc$", "abcx", False), ("^abc$", "abc", True),
        ("^a.c$", "abc", True), ("^a.c$", "ac", False), ("a.*c", "a--c", True), ("^a.*b.*c$", "axbxc", True),
        ("^a.*b.*c$", "axcxb", False), ("^ab.*bc$", "abc", False), ("^ab.*bc$", "abbc", True),
        ("x\\.y", "x.y", True), ("x\\.y", "xzy", False), ("(a|b)", "a", False), ("(a|b)", "x(a|b)", True),
        ("", "anything", True), ("^$", "", True), ("^.*$", "", True), ("a.+c", "a-c", True),
    ],
)  # fmt: skip
def test_the_matcher_follows_the_sql_glob_semantics(pattern, text, hit):
    assert LikePattern(pattern, ignore_case=False).search(text) is hit


def test_the_matcher_is_linear_on_hostile_input():
    text = "a" * 5000
    t0 = time.process_time()
    assert not LikePattern("^" + "a.*" * 50 + "b$", ignore_case=False).search(text)
    assert not LikePattern(".*a.*a.*a.*a.*a.*a.*b", ignore_case=True).search(text)
    assert time.process_time() - t0 < 0.5
    assert re.compile(".*a.*a.*a.*a.*a.*a.*b")  # (the regex engine would take minutes on this text)


HUGE = "1" + "0" * 30
BAD_FILTERS = [
    ("/api/v3/datasets", {"filter": '{"skip": 1e30}'}, "skip"),
    ("/api/v3/datasets", {"filter": '{"skip": ' + HUGE + "}"}, "skip"),
    ("/api/v3/datasets", {"filter": '{"limit": Infinity}'}, "finite"),
    ("/api/v3/datasets", {"filter": '{"limit": NaN}'}, "finite"),
    ("/api/v3/datasets", {"filter": '{"limit": 1e400}'}, "finite"),
    ("/api/v3/datasets", {"filter": '{"limit": "ten"}'}, "whole number"),
    ("/api/v3/datasets", {"filter": '{"limits": {"skip": 1e30}}'}, "skip"),
    ("/api/v3/datasets", {"limits": '{"skip": 1e30}'}, "skip"),
    ("/api/v3/datasets", {"filter": '{"where": {"size": {"gt": "abc"}}}'}, "number"),
    ("/api/v3/datasets", {"filter": '{"where": {"isPublished": "yes"}}'}, "true or false"),
    ("/api/v3/datasets", {"filter": '{"where": {"size": {"gt": {"a": 1}}}}'}, "single value"),
    ("/api/v3/datasets", {"filter": '{"where": {"size": {"like": "1"}}}'}, "text fields"),
    ("/api/v3/datasets", {"filter": '{"where": {"creationTime": {"gt": "soon"}}}'}, "ISO 8601"),
    ("/api/v3/datasets", {"filter": '{"where": {"keywords": {"inq": [{"a": 1}]}}}'}, "list of values"),
    ("/api/v3/datasets", {"filter": '{"where": {"and": 5}}'}, "list of conditions"),
    ("/api/v3/datasets", {"filter": '{"where": {"datasetName": "a\\u0000b"}}'}, "NUL"),
    ("/api/v3/datasets/count", {"where": '{"size": {"gt": "abc"}}'}, "number"),
    ("/api/v3/datasets/fullquery", {"fields": '{"scientific": 5}'}, "scientific"),
    ("/api/v3/datasets/fullquery", {"fields": '{"isPublished": "yes"}'}, "true or false"),
    ("/api/v3/datasets/fullfacet", {"fields": '{"size": {"gt": "abc"}}'}, "number"),
    ("/api/v3/datasets/fullfacet", {"facets": "1.5"}, "list of field names"),
    ("/api/v4/datasets/fullfacet", {"facets": '["type", 3]'}, "list of field names"),
    ("/api/v3/datasets/fullquery", {"fields": '{"creationTime": 5}'}, "begin"),
    ("/api/v3/samples", {"filter": '{"skip": 1e30}'}, "skip"),
    ("/api/v3/samples", {"filter": '{"where": {"sampleName": {"gt": {"a": 1}}}}'}, "single value"),
    ("/api/v3/instruments", {"filter": '{"where": {"name": "x\\u0000"}}'}, "NUL"),
    ("/api/v3/proposals", {"filter": '{"limit": Infinity}'}, "finite"),
    ("/api/v4/origdatablocks", {"filter": '{"where": {"size": {"inq": 5}}}'}, "list of values"),
    ("/panosc-api/Datasets", {"filter": '{"skip": 1e30}'}, "skip"),
    ("/panosc-api/Datasets", {"filter": '{"limit": Infinity}'}, "finite"),
    ("/panosc-api/Datasets", {"filter": '{"where": {"size": {"gt": "abc"}}}'}, "number"),
    ("/panosc-api/Datasets", {"filter": '{"where": {"title": "a\\u0000"}}'}, "NUL"),
    ("/api/catalog/search", {"offset": "1e30"}, None),
    ("/api/catalog/search", {"offset": HUGE}, None),
]


def _deep(n: int) -> str:
    return '{"where": ' + '{"and": [' * n + '{"size": 1}' + "]}" * n + "}"


BAD_FILTERS += [
    ("/api/v3/datasets", {"filter": _deep(2000)}, "nested"),
    ("/api/v3/datasets", {"filter": _deep(30)}, "nested"),
    ("/api/v3/samples", {"filter": _deep(2000)}, "nested"),
    ("/panosc-api/Datasets", {"filter": _deep(2000)}, "nested"),
]


@pytest.mark.parametrize(("path", "params", "says"), BAD_FILTERS)
def test_a_malformed_filter_is_refused_with_a_reason(client, world, path, params, says):
    r = client.get(path, params=params)
    assert r.status_code in (400, 422), (r.status_code, r.text)
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail
    if says:
        assert says in detail, detail


@pytest.mark.parametrize(
    "flt",
    [
        {"where": {"size": {"gt": "5"}}},  # a number as text, as LoopBack clients send it
        {"where": {"isPublished": "true"}},
        {"where": {"size": {"lt": 1e30}}},
        {"where": {"size": {"lt": int(HUGE)}}},
        {"limit": 10.0, "skip": "0"},
        {"where": {"and": [{"size": {"between": [1, 100]}}, {"datasetName": {"inq": [LONG, 5]}}]}},
        {"where": {"scientificMetadata.t.value": {"gt": 1}}},
    ],
)
def test_well_formed_filters_still_answer(client, world, flt):
    r = client.get("/api/v3/datasets", params={"filter": json.dumps(flt)})
    assert r.status_code == 200, r.text


def test_a_number_compared_with_text_metadata_is_no_match_not_an_error(client, world):
    def pids(where: dict) -> list[str]:
        r = client.get("/api/v3/datasets", params={"filter": json.dumps({"where": where})})
        assert r.status_code == 200, r.text
        return [d["pid"] for d in r.json()]

    assert pids({"scientificMetadata.beamline": {"gt": 5}}) == []
    assert pids({"scientificMetadata." + LONG: {"lt": 5}}) == []  # an object, not a number
    assert pids({"scientificMetadata." + LONG + ".value": {"gte": 5}}) == [world]
    assert pids({"scientificMetadata.beamline": "BioMAX"}) == [world]
