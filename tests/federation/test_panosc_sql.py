"""The PaNOSC API's SQL path (halric.panosc): ranking by several words in the database, parameter scopes
with units across pages of ranked rows, include scopes with a where, the count endpoints, and the access
rule — private, embargoed and confidential datasets never reach the anonymous caller, whatever the query."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

WORD = "vermiculite"  # in every dataset below, public or not


@pytest.fixture(scope="module")
def cat(db) -> dict[str, Any]:
    from halric.catalog import service as catalog
    from halric.catalog.models import Dataset
    from halric.core.actor import Actor

    who = Actor(
        user_id=1, username="panosc-sql", roles=frozenset({"steward"}), groups=frozenset({"clay"}), via="api"
    )
    base = {
        "type": "raw",
        "ownerGroup": "clay",
        "owner": "Bo",
        "contactEmail": "b@example.org",
        "sourceFolder": "/c",
    }
    out: dict[str, Any] = {"public": []}
    with db.session() as s:
        for i in range(9):  # public: temperatures 10..90 °C, every third in kelvin
            celsius = 10 * (i + 1)
            temp = (
                {"value": celsius + 273.15, "unit": "K"}
                if i % 3 == 0
                else {"value": celsius, "unit": "celsius"}
            )
            title = f"{WORD} swelling {i}" if i % 2 else f"swelling of clay {i}"
            d = catalog.create_dataset(s, who, {**base, "datasetName": title, "isPublished": True,
                "creationTime": f"2024-03-{1 + i:02d}T00:00:00Z", "keywords": ["clay", WORD] if i % 2 == 0 else [],
                "description": f"hydrated {WORD} at {celsius} C", "scientificMetadata": {"temperature": temp}})  # fmt: skip
            out["public"].append(d["pid"])
        hidden = {"scientificMetadata": {"temperature": {"value": 50, "unit": "celsius"}},
                  "keywords": [WORD], "creationTime": "2024-04-01T00:00:00Z"}  # fmt: skip
        out["private"] = catalog.create_dataset(s, who, {**base, **hidden, "datasetName": f"{WORD} private"})[
            "pid"
        ]
        out["embargoed"] = catalog.create_dataset(s, who, {**base, **hidden, "datasetName": f"{WORD} embargoed",
                                                           "embargoUntil": "2099-01-01T00:00:00Z"})["pid"]  # fmt: skip
        conf = catalog.create_dataset(s, who, {**base, **hidden, "datasetName": f"{WORD} confidential",
                                               "isPublished": True})["pid"]  # fmt: skip
        s.get(Dataset, conf).confidential = True  # a confidential pilot's data (even if marked published)
        out["confidential"] = conf
    return out


def get(client, path: str, **params: Any) -> Any:
    q = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()}
    r = client.get("/panosc-api" + path, params=q)
    assert r.status_code == 200, r.text
    return r.json()


def pids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["pid"] for r in rows]


def warmer_than(celsius: float) -> dict[str, Any]:
    cond = {"and": [{"name": "temperature"}, {"value": {"gt": celsius}}, {"unit": "celsius"}]}
    return {"relation": "parameters", "scope": {"where": cond}}


def test_several_words_rank_title_before_keywords_before_description(client, cat):
    rows = get(client, "/Datasets", query=f"{WORD} swelling")
    # odd datasets have both words in the title (score 1), even ones "swelling" in the title and the other
    # word as a keyword; among equal scores the newest first
    odd = [cat["public"][i] for i in (7, 5, 3, 1)]
    even = [cat["public"][i] for i in (8, 6, 4, 2, 0)]
    assert pids(rows) == odd + even
    assert [r["score"] for r in rows[:4]] == [1.0] * 4 and all(0 < r["score"] < 1 for r in rows[4:])
    assert len({r["score"] for r in rows[4:]}) == 1
    assert get(client, "/Datasets", query="hydrated")[0]["score"] == 0.5  # description only, whole word
    assert get(client, "/Datasets", query="hydrat")[0]["score"] == 0.25  # inside a word of the description


def test_a_parameter_scope_in_other_units_pages_through_ranked_rows(client, cat, monkeypatch):
    from halric.panosc import datasets

    flt = {"include": [warmer_than(45)], "limit": 2, "skip": 1}
    want = [cat["public"][i] for i in (8, 6, 5)]  # > 45 °C, ranked (keyword+title, …) then newest
    every = get(client, "/Datasets", query=WORD, filter={**flt, "limit": 10, "skip": 0})
    assert set(pids(every)) == {cat["public"][i] for i in (4, 5, 6, 7, 8)}
    assert all(r["parameters"][0]["unit"] == "celsius" for r in every)
    assert [r["parameters"][0]["value"] for r in every if r["pid"] == cat["public"][6]] == [pytest.approx(70)]
    page = get(client, "/Datasets", query=WORD, filter=flt)
    assert pids(page) == pids(every)[1:3]
    monkeypatch.setattr(datasets, "BATCH", 1)  # one ranked row read at a time: the same page
    assert get(client, "/Datasets", query=WORD, filter=flt) == page
    assert want[0] in pids(every)


def test_include_with_a_where_and_counts(client, cat):
    scoped = {"include": [{"relation": "parameters", "scope": {"where": {"name": "temperature"}}}],
              "where": {"title": {"ilike": "swelling"}}}  # fmt: skip
    rows = get(client, "/Datasets", query="swelling", filter=scoped)
    assert set(pids(rows)) == set(cat["public"]) and all(len(r["parameters"]) == 1 for r in rows)
    assert get(client, "/Datasets", filter={"include": [warmer_than(1000)]}) == []
    assert get(client, "/Datasets/count", where={"text": WORD}) == {"count": 4}
    assert get(client, "/Datasets/count", where={"title": {"ilike": "swelling"}}) == {"count": 9}
    assert get(client, "/Datasets/count") == {"count": 9}
    pid = quote(cat["public"][0], safe="")
    assert get(client, f"/Datasets/{pid}/files/count") == {"count": 0}


@pytest.mark.parametrize("kind", ["private", "embargoed", "confidential"])
def test_hidden_datasets_never_reach_the_anonymous_caller(client, cat, kind):
    hidden = cat[kind]
    for params in ({"query": WORD}, {"query": f"{kind} {WORD}"}, {"filter": {"include": [warmer_than(40)]}},
                   {"filter": {"where": {"pid": hidden}}}, {"query": WORD, "filter": {"limit": 1000}}):  # fmt: skip
        assert hidden not in pids(get(client, "/Datasets", **params)), params
    assert get(client, "/Datasets/count", where={"pid": hidden}) == {"count": 0}
    r = client.get(f"/panosc-api/Datasets/{quote(hidden, safe='')}")
    assert r.status_code == 404 and "detail" in r.json()
    assert client.get(f"/panosc-api/Datasets/{quote(hidden, safe='')}/files").status_code == 404


def test_documents_and_instruments_load_their_datasets_together(db, cat):
    """Instruments and documents with their datasets: one statement for the page's datasets whatever the
    number of parents, and the answer of one dataset query per parent."""
    from sqlalchemy import event

    from halric import panosc
    from halric.catalog import collections as coll
    from halric.catalog import published
    from halric.catalog import service as catalog
    from halric.core.actor import Actor
    from halric.panosc.datasets import dataset_pipeline
    from halric.panosc.query import MAX_LIMIT, includes

    who = Actor(
        user_id=1, username="panosc-sql", roles=frozenset({"steward"}), groups=frozenset({"clay"}), via="api"
    )
    base = {
        "type": "raw",
        "ownerGroup": "clay",
        "owner": "Bo",
        "contactEmail": "b@example.org",
        "sourceFolder": "/c",
    }
    with db.session() as s:
        insts = [coll.create_instrument(s, who, {"name": f"Clay beamline {i}"})["pid"] for i in range(3)]
        for i in range(6):
            catalog.create_dataset(s, who, {**base, "datasetName": f"beamline data {i}", "isPublished": i != 4,
                                            "instrumentIds": [insts[i % 3]],
                                            "creationTime": f"2024-05-{1 + i:02d}T00:00:00Z"})  # fmt: skip
        for i in range(2):
            doi = published.create(s, who, {"title": f"Clay data {i}", "abstract": "clay",
                                            "creator": ["Bo Example"], "pidArray": cat["public"][i::2]})["doi"]  # fmt: skip
            published.publish(s, who, doi)
    statements: list[str] = []

    def listen(conn, cursor, statement, *rest):
        if "catalog_datasets" in statement:
            statements.append(statement)

    include = {"include": [{"relation": "datasets", "scope": {"include": ["techniques", "samples"]}}]}
    for find, name in ((panosc.find_instruments, "instrumentIds"), (panosc.find_documents, None)):
        with db.session() as s:
            event.listen(db.engine, "before_cursor_execute", listen)
            try:
                statements.clear()
                got = find(s, include, None)
                counted = len(statements)
            finally:
                event.remove(db.engine, "before_cursor_execute", listen)
            with_datasets = [x for x in got if x["datasets"]]
            assert len(with_datasets) >= 2
            assert counted <= 3  # the parents' datasets, their rows and relations: not one query per parent
            for parent in got:
                if name:
                    extra = {name: parent["pid"]}
                elif parent["type"] == "publication":
                    extra = {"pid": {"inq": published.get(s, panosc.PUBLIC, parent["pid"])["pidArray"]}}
                else:
                    extra = {"proposalIds": parent["pid"]}
                scope = includes(["techniques", "samples"], "document", allowed=("techniques", "samples"))
                want = dataset_pipeline(s, None, scope, None, limit=MAX_LIMIT, skip=0, extra_sql=extra)
                assert parent["datasets"] == want, parent["pid"]
