"""Broad searches on PostgreSQL estimate their total and facet counts from a sample of the table and say
so; targeted searches and SQLite count exactly. (Thresholds lowered so a few hundred datasets are broad.)"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from halric.catalog import search as search_mod
from halric.catalog import searchcache, service
from halric.catalog.search import SearchQuery, about, search
from halric.core.actor import ANONYMOUS, Actor

OWNER = Actor(user_id=1, username="own", groups=frozenset({"lab-a"}))
N = 400


@pytest.fixture(scope="module")
def world(db):
    with db.session() as s:
        for i in range(N):
            service.create_dataset(
                s,
                OWNER,
                {
                    "datasetName": f"scan {i}" + (" rare" if i % 100 == 0 else ""), "type": "raw" if i % 4 else "derived",
                    "ownerGroup": "lab-a", "owner": "own", "contactEmail": "o@example.org", "sourceFolder": f"/d/{i}",
                    "creationTime": f"2024-01-{1 + i % 28:02d}T00:00:00Z", "isPublished": i % 2 == 0,
                    "keywords": ["common", f"k{i % 3}"],
                },
            )  # fmt: skip
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE catalog_datasets"))
    return db


@pytest.fixture()
def small_thresholds(db, monkeypatch):
    monkeypatch.setattr(search_mod, "BROAD", 100)
    monkeypatch.setattr(search_mod, "SAMPLE_ROWS", 200)
    monkeypatch.setattr(search_mod, "MIN_SAMPLE_HITS", 50)
    # counts cached under the real thresholds (every search that matches something is kept) were not
    # estimated; the thresholds are constants of the code, so nothing else drops them when a test changes them
    db.state.clear()  # a fresh search cache for the database
    yield
    db.state.clear()


def test_about_keeps_two_significant_figures():
    assert [about(x) for x in (0.2, 7, 99.4, 123, 987, 123_456, 1_949_999)] == [
        1,
        7,
        99,
        120,
        990,
        120_000,
        1_900_000,
    ]


@pytest.mark.parametrize("actor", [ANONYMOUS, OWNER])
def test_a_broad_search_is_estimated_on_postgresql_and_says_so(world, small_thresholds, actor):
    db = world
    with db.session() as s:
        got = search(s, actor, SearchQuery())
        exact = search(s, actor, SearchQuery(), allow_estimate=False)
    assert exact["estimated"] is False
    assert exact["total"] == (N if actor is OWNER else N // 2)
    if db.engine.dialect.name != "postgresql":
        assert got == exact  # SQLite always counts
        return
    assert got["estimated"] is True
    assert 0.5 * exact["total"] <= got["total"] <= 2 * exact["total"]
    assert got["total"] == about(got["total"])
    types = {f["value"]: f["count"] for f in got["facets"]["type"]}
    exact_types = {f["value"]: f["count"] for f in exact["facets"]["type"]}
    assert set(types) == set(exact_types) == {"raw", "derived"}
    for value, count in exact_types.items():
        assert 0.4 * count <= types[value] <= 2.5 * count, (value, types, exact_types)
    # the page itself is exact: the newest datasets the caller may read
    assert [d["pid"] for d in got["items"]] == [d["pid"] for d in exact["items"]]
    # the page of results says the numbers are estimates
    assert got["items"] and len(got["items"]) == 25


def test_a_targeted_search_counts_exactly(world, small_thresholds):
    with world.session() as s:
        got = search(s, OWNER, SearchQuery(text="rare"))
    assert got["estimated"] is False
    assert got["total"] == N // 100


def test_the_search_page_shows_an_estimate_as_one(world, small_thresholds, client):
    r = client.get("/catalog")
    assert r.status_code == 200
    if world.engine.dialect.name == "postgresql":
        assert "About <strong>" in r.text and "estimated from a sample" in r.text
    else:
        assert f"<strong>{N // 2}</strong> dataset(s)" in r.text


@pytest.mark.parametrize("sort", ["creationTime:desc", "creationTime:asc"])
def test_paging_by_cursor_walks_the_same_pages_as_offsets(world, sort):
    from dataclasses import replace

    with world.session() as s:
        q = SearchQuery(limit=30, sort=sort)
        by_offset = []
        for page in range(N // 30 + 1):
            by_offset += [d["pid"] for d in search(s, OWNER, replace(q, offset=page * 30))["items"]]
        by_cursor, after = [], None
        for _ in range(N // 30 + 2):
            res = search(s, OWNER, replace(q, after=after))
            by_cursor += [d["pid"] for d in res["items"]]
            after = res["next"]
            if after is None:
                break
    assert len(by_offset) == N
    assert by_cursor == by_offset


def test_a_cursor_is_checked(client, world):
    ok = client.get("/api/catalog/search", params={"limit": 5}).json()
    assert ok["next"]
    nxt = client.get("/api/catalog/search", params={"limit": 5, "after": ok["next"]})
    assert nxt.status_code == 200 and nxt.json()["items"][0]["pid"] != ok["items"][0]["pid"]
    for params in ({"after": "garbage!"}, {"after": ok["next"], "sort": "datasetName:asc"}):
        r = client.get("/api/catalog/search", params=params)
        assert r.status_code == 400, r.text
        assert "after" in r.json()["detail"]
    page = client.get("/catalog")
    assert "after=" in page.text  # the Next link pages by cursor


def test_an_estimate_is_kept_in_the_search_cache(world, small_thresholds, monkeypatch):
    from sqlalchemy import event

    with world.session() as s:
        cache = searchcache.current(s)
    assert cache is not None
    monkeypatch.setattr(cache, "min_matches", 100)  # a few hundred datasets count as expensive here
    cache.clear()
    with world.session() as s:
        first = search(s, OWNER, SearchQuery())
    seen: list[str] = []

    def listener(*a: object) -> None:
        seen.append(str(a[2]))

    event.listen(world.engine, "before_cursor_execute", listener)
    try:
        with world.session() as s:
            again = search(s, OWNER, SearchQuery())
    finally:
        event.remove(world.engine, "before_cursor_execute", listener)
    assert again == first
    if world.engine.dialect.name == "postgresql":  # (SQLite counts exactly; 400 matches are not kept)
        assert first["estimated"] is True
        assert not any("TABLESAMPLE" in st or "MATERIALIZED" in st for st in seen), [
            st[:300] for st in seen if "TABLESAMPLE" in st or "MATERIALIZED" in st
        ]


def _sample_statements(db, fn):
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if "TABLESAMPLE" in statement and "hits AS MATERIALIZED" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        return fn(), seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_too_few_matches_in_the_sample_take_one_larger_sample(world, small_thresholds, monkeypatch):
    """A search the planner thinks broad but whose first sample finds too few matches to scale (a common
    word at a million datasets): one larger sample sized from what the first found, not an exact count of
    every match; when that sample would be too large, the search is counted exactly."""
    monkeypatch.setattr(search_mod, "SAMPLE_ROWS", 100)  # a quarter of the table: about 100 of OWNER's 400
    monkeypatch.setattr(search_mod, "MIN_SAMPLE_HITS", 300)
    monkeypatch.setattr(search_mod, "MIN_FIRST_HITS", 10)
    monkeypatch.setattr(search_mod, "MAX_SAMPLE_PERCENT", 100.0)
    with world.session() as s:
        exact = search(s, OWNER, SearchQuery(), allow_estimate=False)
    world.state.clear()  # nothing counted yet (the exact count above would be kept)
    with world.session() as s:
        got, seen = _sample_statements(world, lambda: search(s, OWNER, SearchQuery()))
    if world.engine.dialect.name != "postgresql":
        assert seen == [] and got == exact  # SQLite always counts exactly
        return
    assert len(seen) == 2, seen  # the first sample, then the larger one
    assert got["estimated"] is True and 0.5 * exact["total"] <= got["total"] <= 2 * exact["total"]
    monkeypatch.setattr(search_mod, "MAX_SAMPLE_PERCENT", 30.0)  # the larger sample may not be taken
    with world.session() as s:
        got, seen = _sample_statements(world, lambda: search(s, OWNER, SearchQuery(keyword=["common"])))
    assert len(seen) == 1 and got["estimated"] is False and got["total"] == exact["total"]
