"""Full-text search is indexed on both databases and stays in step with every change to a dataset."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from halric.catalog import service
from halric.catalog.fulltext import FTS_TABLE, TRGM_INDEX, reindex
from halric.catalog.search import SearchQuery, _Explain, search
from halric.core.actor import Actor

ALICE = Actor(user_id=1, username="alice", groups=frozenset({"lab-a"}))


def new(s, name: str, **over) -> str:
    base = {
        "datasetName": name,
        "type": "raw",
        "ownerGroup": "lab-a",
        "owner": "alice",
        "contactEmail": "alice@lab-a.example",
        "sourceFolder": "/data/lab-a/ft",
        "creationTime": "2024-03-01T10:00:00Z",
    }
    return service.create_dataset(s, ALICE, {**base, **over})["pid"]


def found(s, words: str) -> set[str]:
    return {d["pid"] for d in search(s, ALICE, SearchQuery(text=words, limit=100))["items"]}


def test_words_match_inside_words_and_all_must_match(db):
    with db.session() as s:
        lyso = new(s, "Lysozyme crystal soak", keywords=["thermolysin"])
        perov = new(s, "Perovskite thin film anneal", description="in-situ GIWAXS at 80% humidity")
        s.commit()
        assert found(s, "lyso") == {lyso}
        assert found(s, "LYSOZYME crystal") == {lyso}
        assert found(s, "lysozyme perovskite") == set()
        assert found(s, "olysi") == {lyso}  # inside a keyword
        assert found(s, "80%") == {perov}  # LIKE wildcards are literal
        assert found(s, "80_") == set()
        assert found(s, 'film"') == set()  # a quote cannot break the query
        assert found(s, "in") >= {perov}  # short words still match (scanning)


def test_index_follows_updates_and_deletes(db):
    with db.session() as s:
        pid = new(s, "Zeolite catalyst operando")
        s.commit()
        assert found(s, "zeolite") == {pid}
        service.update_dataset(s, ALICE, pid, {"datasetName": "Graphene membrane"})
        s.commit()
        assert found(s, "zeolite") == set()
        assert found(s, "graphene") == {pid}
        service.delete_dataset(s, ALICE, pid)
        s.commit()
        assert found(s, "graphene") == set()


def test_the_index_serves_the_query(db):
    """The planner can answer a word through the index instead of scanning every dataset."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(
                conn.execute(
                    text("EXPLAIN SELECT pid FROM catalog_datasets WHERE search_text LIKE '%lysozyme%'")
                ).scalars()
            )
            assert TRGM_INDEX in plan
            plan = "\n".join(
                conn.execute(
                    text(
                        "EXPLAIN SELECT pid FROM catalog_datasets WHERE instrument_ids @> '[\"maxiv-biomax\"]'"
                    )
                ).scalars()
            )
            assert TRGM_INDEX in plan
            # an instrument, a technique and a word: one scan of the one index, all three as its conditions
            q = SearchQuery(text="lysozyme", instrument=["maxiv-biomax"], technique=["PaNET01189"])
            stmt = service.dataset_select(ALICE, q.where(), q.text, narrowed=True, narrowed_in_index=True)
            explained = conn.execute(_Explain(stmt)).scalar()

            def nodes(node):
                yield node
                for child in node.get("Plans", []):
                    yield from nodes(child)

            plan = explained[0]["Plan"]
            cond = next(n["Index Cond"] for n in nodes(plan) if n.get("Index Name") == TRGM_INDEX)
            assert "instrument_ids" in cond and "techniques" in cond and "search_text" in cond, cond
            assert "strpos" not in json.dumps(plan)

            def sql(stmt) -> str:
                return str(stmt.compile(conn))

            # a keyword narrows through its own index: the word is tested on those rows, not looked up
            k = SearchQuery(text="lysozyme", keyword=["cryo"])
            assert "strpos" in sql(service.dataset_select(ALICE, k.where(), k.text, narrowed=True))
            # a word without a whole trigram never goes to the index (which would read itself whole)
            assert "strpos" in sql(service.dataset_select(ALICE, None, "ab"))
            assert "strpos" not in sql(service.dataset_select(ALICE, None, "abc"))
        else:
            plan = " ".join(
                str(r[-1])
                for r in conn.execute(
                    text(
                        f"EXPLAIN QUERY PLAN SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH '\"lyso\"'"
                    )
                )
            )
            assert "VIRTUAL TABLE INDEX" in plan


def test_reindex_is_safe_to_repeat(db):
    with db.session() as s:
        pid = new(s, "Cement hydration tomography")
        s.commit()
    assert reindex(db.engine) == reindex(db.engine)
    with db.session() as s:
        assert found(s, "hydration") == {pid}


def test_words_with_term_filters_match_the_same_way(db):
    """With an instrument chosen, SQLite tests the words row by row instead of through FTS5: same answer."""
    with db.session() as s:
        a = new(s, "Ferritin cryo-EM grid", instrumentIds=["inst-ft-a"], keywords=["cryo"])
        new(s, "Ferritin SAXS series", instrumentIds=["inst-ft-b"])
        new(s, "Haemoglobin grid", instrumentIds=["inst-ft-a"])
        s.commit()
        for words in ("ferritin", "FERRI grid", "cryo-em", "rit"):
            free = found(s, words)
            narrowed = {
                d["pid"]
                for d in search(s, ALICE, SearchQuery(text=words, instrument=["inst-ft-a"], limit=100))[
                    "items"
                ]
            }
            assert narrowed == {a}, words
            assert a in free and len(free) >= 1
        assert found(s, "ferritin") >= {a} and len(found(s, "ferritin")) == 2


def test_a_pid_finds_its_dataset_without_being_in_the_search_text(db):
    """The pid's random letters stay out of the word index (a third of its work on every write); a whole
    pid, as stored or in other case, or the UUID after its prefix still finds the dataset, with other words
    as every word does."""
    from halric.catalog.models import Dataset

    with db.session() as s:
        pid = new(s, "Cellulose fibre wetting")
        other = new(s, "Cellulose fibre drying")
        given = new(s, "Cellulose fibre from a site", pid="10.5555/MAXIV-Run-0042")
        s.commit()
        text_of = dict(s.execute(select(Dataset.pid, Dataset.search_text)).all())
        uuid_part = pid.split("/", 1)[1]
        assert uuid_part not in text_of[pid] and "run-0042" not in text_of[given]
        assert found(s, pid) == {pid}
        assert found(s, pid.upper()) == {pid}
        assert found(s, uuid_part) == {pid}
        assert found(s, uuid_part.upper()) == {pid}
        assert found(s, f"cellulose {pid}") == {pid}
        assert found(s, f"drying {pid}") == set()  # every word must match
        assert found(s, "10.5555/MAXIV-Run-0042") == {given}  # a pid as the site wrote it
        # in other case it names no stored pid — also once the search as written is kept by the search cache
        assert found(s, "10.5555/maxiv-run-0042") == set()
        assert found(s, "cellulose fibre") == {pid, other, given}
