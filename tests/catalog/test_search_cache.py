"""The search cache answers repeated broad searches from memory and never serves an answer after the data
it came from changed, on SQLite and PostgreSQL: every write to the tables a search reads (through the
services or as raw SQL) changes the catalog's search generation, and answers are cached per generation,
per read scope and per query."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import pytest
from sqlalchemy import event, text
from tests.support.settings import changed

from halric.catalog import searchcache, service
from halric.catalog.search import WINDOW, SearchQuery, fullfacet, search
from halric.core.actor import ANONYMOUS, Actor

ALICE = Actor(user_id=1, username="alice", groups=frozenset({"lab-a"}))
BOB = Actor(user_id=2, username="bob", groups=frozenset({"lab-b"}))
BOTH = Actor(user_id=1, username="alice", groups=frozenset({"lab-a", "lab-b"}))
STEWARD = Actor(user_id=3, username="steward", roles=frozenset({"steward"}))
BROAD = SearchQuery(limit=100)
MIGRATION = Path(searchcache.__file__).parents[1] / "migrations/versions/0009_catalog_search_generation.py"


@contextmanager
def cache_settings(db, **values: object) -> Iterator[searchcache.SearchCache | None]:
    """The database's ``catalog_search_cache*`` settings as given while inside; a fresh cache."""
    with changed(db, **{f"catalog_search_cache{k}": v for k, v in values.items()}):
        with db.session(write=False) as s:
            cache = searchcache.current(s)
        yield cache


@pytest.fixture(autouse=True)
def cache(db) -> Iterator[searchcache.SearchCache]:
    """The cache keeps every answer here (the test catalog is small; the default keeps only broad ones)."""
    with cache_settings(db, _min_matches=1) as c:
        assert c is not None
        yield c


def uncached(db, actor: Actor, q: SearchQuery = BROAD) -> dict:
    """The answer computed from the database, as without the cache."""
    with mock.patch.object(searchcache, "current", return_value=None), db.session() as s:
        return search(s, actor, q)


def ask(db, actor: Actor, q: SearchQuery = BROAD) -> dict:
    with db.session() as s:
        return search(s, actor, q)


def new(db, actor: Actor = ALICE, **over) -> str:
    data = {
        "datasetName": f"cache test {uuid.uuid4().hex[:6]}",
        "type": "raw",
        "ownerGroup": "lab-a",
        "owner": "alice",
        "contactEmail": "alice@lab-a.example",
        "sourceFolder": "/data/lab-a/cache",
        "creationTime": "2024-05-01T10:00:00Z",
        "keywords": ["cachetest"],
        **over,
    }
    with db.session() as s:
        return service.create_dataset(s, actor, data)["pid"]


def change(db, pid: str, actor: Actor = ALICE, **fields) -> None:
    with db.session() as s:
        service.update_dataset(s, actor, pid, fields)


def facet(result: dict, name: str) -> dict:
    return {item["value"]: item["count"] for item in result["facets"].get(name, [])}


def generation(db) -> tuple[int, int] | None:
    with db.session() as s:
        return searchcache.generation(s)


@contextmanager
def statements(db) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture(scope="module")
def catalog(db) -> dict[str, str]:
    """A few datasets of two groups, some published."""
    return {
        "a_pub": new(db, isPublished=True, keywords=["cachetest", "public"]),
        "a_priv": new(db),
        "b_pub": new(db, BOB, ownerGroup="lab-b", isPublished=True),
        "b_priv": new(db, BOB, ownerGroup="lab-b"),
    }


def test_repeat_is_answered_from_the_cache(db, catalog, cache):
    first = ask(db, ALICE)
    assert cache.stats()["stores"] == 2  # total with facets, and the page
    with statements(db) as seen:
        again = ask(db, ALICE)
    assert again == first
    assert cache.stats()["hits"] == 2
    # nothing was counted again: the generation, the page's rows by pid, the registry's labels
    assert not any("MATERIALIZED" in st or "GROUP BY" in st for st in seen), seen
    assert again == uncached(db, ALICE)


def test_without_the_cache_every_answer_is_the_same(db, catalog):
    queries = [
        BROAD,
        SearchQuery(text="cache test"),
        SearchQuery(keyword=["cachetest"], sort="datasetName:asc"),
        SearchQuery(owner_group=["lab-b", "lab-a"], published=True),
        SearchQuery(limit=2, offset=1),
        SearchQuery(type="raw", limit=1, offset=2),
    ]
    for actor in (ANONYMOUS, ALICE, BOB, BOTH, STEWARD):
        for q in queries:
            cached = [ask(db, actor, q) for _ in range(2)]
            assert cached[0] == cached[1] == uncached(db, actor, q), (actor.username, q)


def test_switched_off_nothing_is_kept(db, catalog):
    with cache_settings(db, **{"": False}) as off:
        assert off is None
        assert ask(db, ALICE) == ask(db, ALICE) == uncached(db, ALICE)
    with cache_settings(db, _min_matches=1_000_000) as c:  # only answers counting a million datasets
        ask(db, ALICE)
        assert c.stats()["stores"] == 0


def test_invalidate_drops_every_answer(db, catalog, cache):
    ask(db, ALICE)
    gen = generation(db)
    searchcache.invalidate(db.engine)  # after `halric db reindex-search`
    assert generation(db) != gen
    ask(db, ALICE)
    assert cache.stats()["hits"] == 0


def test_the_next_pages_come_from_the_cache(db, catalog, cache):
    ask(db, STEWARD, SearchQuery(limit=2))  # counts, and the first window of pids
    with statements(db) as seen:
        second = ask(db, STEWARD, SearchQuery(limit=2, offset=2))
    assert cache.stats()["hits"] == 2 and not any("MATERIALIZED" in st for st in seen)
    assert second == uncached(db, STEWARD, SearchQuery(limit=2, offset=2))
    # far pages: the counts from the cache, the page from one statement that counts no facet
    far = SearchQuery(limit=3, offset=WINDOW * 3 - 1)
    with statements(db) as seen:
        answer = ask(db, STEWARD, far)
    assert any("MATERIALIZED" in st for st in seen) and not any("GROUP BY" in st for st in seen)
    assert answer == uncached(db, STEWARD, far)
    assert ask(db, STEWARD, far) == answer and cache.stats()["hits"] == 2 + 1 + 3  # counts, two windows


def test_new_changed_and_deleted_datasets_show_at_once(db, catalog):
    before = ask(db, ALICE)
    ask(db, ALICE)  # cached now
    pid = new(db, datasetName="Brand new dataset")
    after = ask(db, ALICE)
    assert after["total"] == before["total"] + 1
    assert after == uncached(db, ALICE)

    change(db, pid, datasetName="Renamed dataset")
    assert "Renamed dataset" in {d["datasetName"] for d in ask(db, ALICE)["items"]}
    assert ask(db, ALICE) == uncached(db, ALICE)

    groups = facet(ask(db, STEWARD), "ownerGroup")
    change(db, pid, ownerGroup="lab-b", actor=STEWARD)
    moved = facet(ask(db, STEWARD), "ownerGroup")
    assert moved["lab-a"] == groups["lab-a"] - 1 and moved["lab-b"] == groups["lab-b"] + 1
    assert ask(db, ALICE)["total"] == after["total"] - 1  # alice no longer sees it
    assert ask(db, ALICE) == uncached(db, ALICE)

    with db.session() as s:
        service.delete_dataset(s, STEWARD, pid)
    assert ask(db, STEWARD)["total"] == sum(groups.values()) - 1
    assert ask(db, ALICE) == uncached(db, ALICE)


def test_a_dataset_made_private_leaves_anonymous_counts_at_once(db, catalog):
    pid = new(db, isPublished=True, keywords=["soon-private"])
    seen = ask(db, ANONYMOUS)
    assert ask(db, ANONYMOUS) == seen and "soon-private" in facet(seen, "keyword")
    change(db, pid, isPublished=False)
    now = ask(db, ANONYMOUS)
    assert now["total"] == seen["total"] - 1
    assert "soon-private" not in facet(now, "keyword")
    assert pid not in {d["pid"] for d in now["items"]}
    # and the same through raw SQL, past every service
    ask(db, ANONYMOUS)
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE catalog_datasets SET is_published = :p WHERE pid = :pid"), {"p": True, "pid": pid}
        )
    assert ask(db, ANONYMOUS)["total"] == seen["total"]
    with db.engine.begin() as conn:
        conn.execute(
            text("UPDATE catalog_datasets SET is_published = :p WHERE pid = :pid"), {"p": False, "pid": pid}
        )
    assert ask(db, ANONYMOUS) == now == uncached(db, ANONYMOUS)


def test_data_blocks_and_terms_change_the_answer(db, catalog):
    pid = catalog["a_priv"]
    ask(db, ALICE)
    gen = generation(db)
    with db.session() as s:
        service.add_origdatablock(
            s, ALICE, {"size": 4096, "dataFileList": [{"path": "a.h5", "size": 4096}]}, dataset_pid=pid
        )
    assert generation(db) != gen
    item = next(d for d in ask(db, ALICE)["items"] if d["pid"] == pid)
    assert item["size"] >= 4096 and item["numberOfFiles"] >= 1

    keywords = facet(ask(db, ALICE), "keyword")
    change(db, pid, keywords=["cachetest", "renamed-keyword"])
    assert facet(ask(db, ALICE), "keyword")["renamed-keyword"] == keywords.get("renamed-keyword", 0) + 1
    with db.engine.begin() as conn:  # a term written past the services
        conn.execute(
            text(
                "INSERT INTO catalog_dataset_terms (dataset_pid, kind, value) VALUES (:pid, 'keyword', 'raw-term')"
            ),
            {"pid": pid},
        )
    assert facet(ask(db, ALICE), "keyword")["raw-term"] == 1
    assert ask(db, ALICE) == uncached(db, ALICE)


def test_scopes_never_share_an_entry(db, catalog, cache):
    alice, bob = ask(db, ALICE), ask(db, BOB)
    assert cache.stats()["hits"] == 0  # bob's search was not alice's answer
    assert catalog["a_priv"] in {d["pid"] for d in alice["items"]}
    assert catalog["a_priv"] not in {d["pid"] for d in bob["items"]}
    assert catalog["b_priv"] in {d["pid"] for d in bob["items"]}
    assert ask(db, BOB) == bob and ask(db, ALICE) == alice
    # a user without groups reads what anonymous callers read: the same scope, the same answer
    nobody = Actor(user_id=7, username="nobody")
    assert ask(db, nobody) == ask(db, ANONYMOUS) == uncached(db, ANONYMOUS)


def test_new_groups_bring_new_rights_at_once(db, catalog):
    alone = ask(db, ALICE)
    ask(db, ALICE)
    both = ask(db, BOTH)  # alice, after being added to lab-b
    assert catalog["b_priv"] not in {d["pid"] for d in alone["items"]}
    assert catalog["b_priv"] in {d["pid"] for d in both["items"]}
    assert both["total"] > alone["total"]
    assert ask(db, ALICE) == alone  # and back again
    assert both == uncached(db, BOTH)


def test_a_rolled_back_write_never_leaks_into_the_cache(db, catalog):
    """A search inside a transaction sees its own uncommitted writes and may cache them: under a
    generation nobody reads again once the transaction is rolled back, even when the next committed
    write brings the counter to the same number."""
    truth = uncached(db, STEWARD)
    s = db.sessionmaker()
    try:
        service.create_dataset(
            s, ALICE, {"type": "raw", "ownerGroup": "lab-a", "owner": "alice", "contactEmail": "a@b.example",
                       "sourceFolder": "/x", "creationTime": "2024-01-01T00:00:00Z", "datasetName": "ghost"},
        )  # fmt: skip
        inside = search(s, STEWARD, BROAD)
        assert inside["total"] == truth["total"] + 1
        counter = searchcache.generation(s)[0]
        s.rollback()
    finally:
        s.close()
    # no search in between (one would drop the entries of other generations)
    with db.engine.begin() as conn:  # a different committed write: the counter comes back to the same value
        # the generation is the sum over its rows (PostgreSQL keeps 64, one per connection slot)
        while conn.execute(text("SELECT sum(counter) FROM catalog_search_generation")).scalar() < counter:
            conn.execute(
                text("UPDATE catalog_datasets SET comment = 'x' WHERE pid = :pid"), {"pid": catalog["a_priv"]}
            )
    assert generation(db)[0] >= counter
    assert ask(db, STEWARD)["total"] == truth["total"]
    assert ask(db, STEWARD) == uncached(db, STEWARD)


RAW_WRITES = {
    "catalog_datasets": [
        "UPDATE catalog_datasets SET comment = 'raw' WHERE pid = :pid",
        "UPDATE catalog_datasets SET comment = NULL WHERE pid = :pid",
    ],
    "catalog_dataset_terms": [
        "INSERT INTO catalog_dataset_terms (dataset_pid, kind, value) VALUES (:pid, 'keyword', 'raw')",
        "UPDATE catalog_dataset_terms SET value = 'raw2' WHERE dataset_pid = :pid AND value = 'raw'",
        "DELETE FROM catalog_dataset_terms WHERE dataset_pid = :pid AND value = 'raw2'",
    ],
    "catalog_origdatablocks": [
        "INSERT INTO catalog_origdatablocks (id, dataset_pid, size, data_file_list, owner_group, access_groups, "
        "created_by, created_at, updated_by, updated_at) VALUES (:id, :pid, 1, '[]', 'lab-a', '[]', 'raw', "
        "'2024-01-01 00:00:00+00:00', 'raw', '2024-01-01 00:00:00+00:00')",
        "UPDATE catalog_origdatablocks SET size = 2 WHERE id = :id",
        "DELETE FROM catalog_origdatablocks WHERE id = :id",
    ],
}


@pytest.mark.parametrize("table", searchcache.WATCHED)
def test_raw_sql_writes_change_the_generation(db, catalog, table):
    params = {"pid": catalog["a_priv"], "id": uuid.uuid4().hex}
    writes = RAW_WRITES[table]
    if table == "catalog_origdatablocks" and db.url.startswith("postgresql"):
        writes = [*writes, "TRUNCATE catalog_origdatablocks"]
    for sql in writes:
        before = generation(db)
        with db.engine.begin() as conn:
            conn.execute(text(sql), params)
        after = generation(db)
        assert after[0] > before[0] and after[1] != before[1], sql


def test_a_missing_trigger_turns_the_cache_off(db, catalog):
    spec = importlib.util.spec_from_file_location("m0009", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    pg = db.url.startswith("postgresql")
    assert generation(db) is not None
    with db.engine.begin() as conn:
        if pg:
            conn.execute(
                text(
                    "ALTER TABLE catalog_dataset_terms DISABLE TRIGGER catalog_dataset_terms_search_generation"
                )
            )
        else:
            conn.execute(text("DROP TRIGGER catalog_dataset_terms_search_generation_ai"))
    try:
        assert generation(db) is None
        assert ask(db, ALICE) == uncached(db, ALICE)  # answered, uncached
    finally:
        with db.engine.begin() as conn:
            if pg:
                conn.execute(
                    text(
                        "ALTER TABLE catalog_dataset_terms ENABLE ALWAYS TRIGGER catalog_dataset_terms_search_generation"
                    )
                )
            else:
                conn.execute(
                    text(
                        next(
                            st
                            for st in migration.SQLITE_UP
                            if "catalog_dataset_terms_search_generation_ai" in st
                        )
                    )
                )
    assert generation(db) is not None


def test_scicat_fullfacet_is_cached_and_follows_changes(db, catalog, cache):
    where = {"keywords": {"inq": ["cachetest"]}}
    with db.session() as s:
        first = fullfacet(s, ANONYMOUS, where, None, ["ownerGroup", "keywords"])
    with db.session() as s:
        assert fullfacet(s, ANONYMOUS, where, None, ["ownerGroup", "keywords"]) == first
    assert cache.stats()["hits"] == 1
    pid = new(db, isPublished=True)
    with db.session() as s:
        now = fullfacet(s, ANONYMOUS, where, None, ["ownerGroup", "keywords"])
    assert now[0]["all"][0]["totalSets"] == first[0]["all"][0]["totalSets"] + 1
    change(db, pid, isPublished=False)
    with db.session() as s:
        assert fullfacet(s, ANONYMOUS, where, None, ["ownerGroup", "keywords"]) == first


def test_every_web_path_goes_through_the_cache(client, db, catalog, cache):
    """The page, its JSON and SciCat's fullfacet answer from the cache and change with the data."""
    facets = "%5B%22ownerGroup%22%5D"
    paths = ["/catalog", "/api/catalog/search", f"/api/v3/datasets/fullfacet?facets={facets}"]
    first = {p: client.get(p) for p in paths}
    assert all(r.status_code == 200 for r in first.values())
    hits = cache.stats()["hits"]
    assert {p: client.get(p).text for p in paths} == {p: r.text for p, r in first.items()}
    assert cache.stats()["hits"] >= hits + len(paths)
    total = first["/api/catalog/search"].json()["total"]
    pid = catalog["a_pub"]
    change(db, pid, isPublished=False)
    try:
        assert client.get("/api/catalog/search").json()["total"] == total - 1
        assert (
            client.get(f"/api/v3/datasets/fullfacet?facets={facets}").json()[0]["all"][0]["totalSets"]
            == total - 1
        )
        assert f"<strong>{total - 1}</strong> dataset(s)" in client.get("/catalog").text
        assert pid not in client.get("/api/catalog/export").text
    finally:
        change(db, pid, isPublished=True)
    assert client.get("/api/catalog/search").json()["total"] == total


def test_concurrent_writers_do_not_queue_on_the_generation(db, catalog):
    """On PostgreSQL each connection bumps its own generation row (migration 0025): a second writer whose
    connection has another slot inserts while the first one's transaction is still open (before, it waited
    for the first one's commit on the single row); both writes change the generation once committed."""
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM catalog_search_generation")).scalar_one()
    if not db.url.startswith("postgresql"):
        assert rows == 1  # SQLite serialises writers by design: one row, as migration 0009 made it
        return
    assert rows == 64
    insert = text("UPDATE catalog_datasets SET comment = :c WHERE pid = :pid")
    before = generation(db)
    conns = []
    try:
        while True:  # two connections of different slots
            conn = db.engine.connect()
            slot = conn.execute(text("SELECT 1 + pg_backend_pid() % 64")).scalar_one()
            conn.rollback()
            conns.append((slot, conn))
            slots = {s for s, _ in conns}
            if len(slots) == 2:
                break
        first, second = conns[0][1], next(c for s, c in conns if s != conns[0][0])
        first.begin()
        first.execute(insert, {"c": "one", "pid": catalog["a_priv"]})
        second.begin()
        second.execute(text("SET LOCAL lock_timeout = '2s'"))
        second.execute(insert, {"c": "two", "pid": catalog["b_priv"]})  # LockNotAvailable before 0025
        second.commit()
        middle = generation(db)
        assert middle[0] > before[0] and middle[1] != before[1]
        first.commit()
        after = generation(db)
        assert after[0] > middle[0] and after[1] != middle[1]
    finally:
        for _, conn in conns:
            conn.close()


# --- the page's datasets ---------------------------------------------------------------------------------


def test_a_cached_page_is_not_read_again_and_a_changed_dataset_is(db) -> None:
    """The datasets of a page come from the row cache while the catalog is unchanged; a change to one of
    them (through the service or raw SQL) is answered at once."""
    pid = new(db, datasetName="row cache one", keywords=["rowcache"])
    q = SearchQuery(keyword=["rowcache"], limit=10)
    first = ask(db, ALICE, q)
    assert [d["pid"] for d in first["items"]] == [pid]
    with statements(db) as seen:
        again = ask(db, ALICE, q)
    assert again == first
    assert not [st for st in seen if "FROM catalog_datasets" in st and "WHERE catalog_datasets.pid IN" in st]
    change(db, pid, datasetName="row cache renamed")
    assert [d["datasetName"] for d in ask(db, ALICE, q)["items"]] == ["row cache renamed"]
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE catalog_datasets SET description = 'raw' WHERE pid = :pid"), {"pid": pid})
    assert ask(db, ALICE, q)["items"][0]["description"] == "raw"
    assert ask(db, ALICE, q) == uncached(db, ALICE, q)


def test_a_cached_private_dataset_is_still_refused_to_others(db) -> None:
    """Rows are kept whoever asked first; the read rule runs on every row for every caller."""
    from halric.catalog.search import _rows

    pid = new(db, datasetName="row cache private", keywords=["rowprivate"], isPublished=False)
    q = SearchQuery(keyword=["rowprivate"], limit=10)
    assert [d["pid"] for d in ask(db, ALICE, q)["items"]] == [pid]  # alice's group: kept in the row cache
    assert ask(db, BOB, q)["items"] == [] and ask(db, ANONYMOUS, q)["items"] == []
    with db.session() as s:
        row = _rows(s, searchcache.lookup(s), [pid])[pid]  # from the cache
    assert row.readable_by(ALICE) and row.readable_by(STEWARD)
    assert not row.readable_by(BOB) and not row.readable_by(ANONYMOUS)


def test_answers_do_not_share_their_items_with_the_cache(db) -> None:
    pid = new(db, datasetName="row cache copy", keywords=["rowcopy"])
    q = SearchQuery(keyword=["rowcopy"], limit=10)
    first = ask(db, ALICE, q)
    first["items"][0]["datasetName"] = "changed by a caller"
    first["items"][0]["keywords"].append("also changed")
    again = ask(db, ALICE, q)["items"][0]
    assert (
        again["pid"] == pid and again["datasetName"] == "row cache copy" and again["keywords"] == ["rowcopy"]
    )
