"""The PaNOSC search API under /panosc-api, over the hub's catalog, checked against the query shapes of the
PaNOSC search API documentation (panosc-eu/search-api doc/query.md and the example queries): public data
only, LoopBack filters, include scopes, parameter queries in other units, free text with a score."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest


@pytest.fixture(scope="module")
def cat(db) -> dict[str, Any]:
    from halric.catalog import collections as coll
    from halric.catalog import published
    from halric.catalog import service as catalog
    from halric.core.actor import Actor

    who = Actor(
        user_id=1, username="panosc-test", roles=frozenset({"steward"}), groups=frozenset({"saxs"}), via="api"
    )
    base = {
        "type": "raw",
        "ownerGroup": "saxs",
        "owner": "Ann",
        "contactEmail": "a@example.org",
        "sourceFolder": "/d",
    }
    with db.session() as s:
        inst = coll.create_instrument(
            s, who, {"name": "BioSAXS beamline", "customMetadata": {"facility": "MAX IV"}}
        )
        coll.create_proposal(s, who, {"proposalId": "P-PAN-1", "ownerGroup": "saxs", "email": "a@example.org",
                                      "title": "Bone structure proposal", "abstract": "Bones at many scales",
                                      "isPublished": True})  # fmt: skip
        d1 = catalog.create_dataset(s, who, {**base,
            "datasetName": "Lysozyme SAXS series", "creationTime": "2025-02-01T00:00:00Z", "isPublished": True,
            "keywords": ["lysozyme", "saxs"], "instrumentIds": [inst["pid"]],
            "techniques": [{"pid": "PaNET01188", "name": "small angle x-ray scattering"}],
            "scientificMetadata": {"sample_temperature": {"value": 25, "unit": "celsius"},
                                   "photon_energy": {"value": 12.4, "unit": "keV"},
                                   "chemical_formula": {"value": "C613H959N193O185S10", "unit": ""}},
        })["pid"]  # fmt: skip
        d2 = catalog.create_dataset(s, who, {**base,
            "datasetName": "Tomography of bone", "creationTime": "2025-03-01T00:00:00Z", "isPublished": True,
            "keywords": ["bone", "tomography"], "proposalIds": ["P-PAN-1"], "description": "lysozyme-free bone",
            "techniques": [{"pid": "PaNET01102", "name": "x-ray tomography"}],
            "scientificMetadata": {"sample_temperature": {"value": 300, "unit": "K"}},
        })["pid"]  # fmt: skip
        secret = catalog.create_dataset(s, who, {**base,
            "datasetName": "Secret lysozyme SAXS", "creationTime": "2025-04-01T00:00:00Z", "keywords": ["lysozyme"],
            "instrumentIds": [inst["pid"]], "proposalIds": ["P-PAN-1"],
            "scientificMetadata": {"sample_temperature": {"value": 20, "unit": "celsius"}},
        })["pid"]  # fmt: skip
        catalog.add_origdatablock(s, who, {"size": 30, "dataFileList": [
            {"path": "raw/scan_0001.h5", "size": 10, "time": "2025-02-01T00:00:00Z"},
            {"path": "raw/scan_0002.h5", "size": 20, "time": "2025-02-01T00:00:00Z"}]}, dataset_pid=d1)  # fmt: skip
        doi = published.create(s, who, {"title": "Lysozyme SAXS reference data", "abstract": "Public SAXS of lysozyme",
                                        "creator": ["Ann Example"], "pidArray": [d1]})["doi"]  # fmt: skip
        published.publish(s, who, doi)
    return {"d1": d1, "d2": d2, "secret": secret, "doi": doi, "instrument": inst["pid"]}


def get(client, path: str, **params: Any) -> Any:
    q = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in params.items()}
    r = client.get("/panosc-api" + path, params=q)
    assert r.status_code == 200, r.text
    return r.json()


def pids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["pid"] for r in rows]


def test_datasets_public_only_with_documented_fields(client, cat):
    rows = get(client, "/Datasets")
    assert set(pids(rows)) == {cat["d1"], cat["d2"]}  # the private dataset is not served
    assert pids(rows) == [cat["d2"], cat["d1"]]  # newest first
    d1 = rows[1]
    assert set(d1) >= {"pid", "title", "isPublic", "creationDate", "score"} and d1["isPublic"] is True
    assert (
        d1["title"] == "Lysozyme SAXS series"
        and d1["size"] == 30
        and d1["creationDate"].startswith("2025-02-01")
    )
    assert get(client, "/Datasets/count") == {"count": 2}
    assert get(client, "/Datasets/count", where={"title": {"ilike": "lysozyme"}}) == {"count": 1}
    assert get(client, "/Datasets/count", where={"pid": cat["secret"]}) == {"count": 0}
    assert get(client, "/Datasets/count", where={"isPublic": False}) == {"count": 0}
    r = client.get(f"/panosc-api/Datasets/{quote(cat['secret'], safe='')}")
    assert r.status_code == 404 and "detail" in r.json()
    assert get(client, "/datasets/count") == {"count": 2}  # paths answer in lower case too


def test_where_limit_skip_and_text_operator(client, cat):
    assert pids(get(client, "/Datasets", filter={"where": {"text": "tomography"}})) == [cat["d2"]]
    assert pids(
        get(client, "/Datasets", filter={"where": {"creationDate": {"lt": "2025-02-15T00:00:00Z"}}})
    ) == [cat["d1"]]
    both = {"or": [{"title": "Tomography of bone"}, {"size": {"gt": 25}}]}
    assert set(pids(get(client, "/Datasets", filter={"where": both}))) == {cat["d1"], cat["d2"]}
    assert pids(get(client, "/Datasets", filter={"limit": 1})) == [cat["d2"]]
    assert pids(get(client, "/Datasets", filter={"limit": 1, "skip": 1})) == [cat["d1"]]
    bad = client.get("/panosc-api/Datasets", params={"filter": "{nope"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("filter: not valid JSON")
    bad = client.get("/panosc-api/Datasets", params={"filter": json.dumps({"where": {"colour": "red"}})})
    assert bad.status_code == 400 and "colour" in bad.json()["detail"]


def test_include_scopes_filter_datasets(client, cat):
    flt = {"include": [{"relation": "techniques", "scope": {"where": {"name": "x-ray tomography"}}}]}
    rows = get(client, "/Datasets", filter=flt)
    assert pids(rows) == [cat["d2"]] and rows[0]["techniques"][0]["name"] == "x-ray tomography"
    assert rows[0]["techniques"][0]["panetId"].endswith("/PaNET01102")
    rows = get(
        client, "/Datasets", filter={"include": [{"relation": "files", "scope": {"where": {"text": "0002"}}}]}
    )
    assert pids(rows) == [cat["d1"]] and [f["name"] for f in rows[0]["files"]] == ["scan_0002.h5"]
    rows = get(client, "/Datasets", filter={"include": ["instrument", {"relation": "documents"}, "samples"]})
    by = {r["pid"]: r for r in rows}
    assert by[cat["d1"]]["instrument"] == {
        "pid": cat["instrument"],
        "name": "BioSAXS beamline",
        "facility": "MAX IV",
    }
    assert [d["type"] for d in by[cat["d1"]]["documents"]] == ["publication"]
    assert [d["pid"] for d in by[cat["d2"]]["documents"]] == ["P-PAN-1"]
    one = get(client, f"/Datasets/{quote(cat['d1'], safe='')}", filter={"include": [{"relation": "files"}]})
    assert one["pid"] == cat["d1"] and len(one["files"]) == 2 and one["files"][0]["path"] == "raw"
    assert len(get(client, f"/Datasets/{quote(cat['d1'], safe='')}/files")) == 2
    assert get(client, f"/Datasets/{quote(cat['d1'], safe='')}/files/count", where={"size": {"gt": 15}}) == {
        "count": 1
    }


def _params(where: dict[str, Any]) -> dict[str, Any]:
    return {"include": [{"relation": "parameters", "scope": {"where": where}}]}


def test_parameter_queries_convert_units(client, cat):
    # documented example: temperature below 80 °C — 25 °C and 300 K (26.85 °C) both match
    below = {"and": [{"name": "sample_temperature"}, {"value": {"lt": 80}}, {"unit": "celsius"}]}
    rows = get(client, "/Datasets", filter=_params(below))
    assert set(pids(rows)) == {cat["d1"], cat["d2"]}
    tomo = next(r for r in rows if r["pid"] == cat["d2"])
    assert tomo["parameters"] == [
        {"name": "sample_temperature", "value": pytest.approx(26.85), "unit": "celsius"}
    ]
    warm = {"and": [{"name": "sample_temperature"}, {"value": {"gt": 299}}, {"unit": "K"}]}
    assert pids(get(client, "/Datasets", filter=_params(warm))) == [cat["d2"]]
    # documented example: photon energy between 880 and 990 eV does not match 12.4 keV; 12–13 keV in eV does
    assert (
        get(
            client,
            "/Datasets",
            filter=_params(
                {"and": [{"name": "photon_energy"}, {"value": {"between": [880, 990]}}, {"unit": "eV"}]}
            ),
        )
        == []
    )
    rows = get(
        client,
        "/Datasets",
        filter=_params(
            {"and": [{"name": "photon_energy"}, {"value": {"between": [12000, 13000]}}, {"unit": "eV"}]}
        ),
    )
    assert pids(rows) == [cat["d1"]] and rows[0]["parameters"][0]["value"] == pytest.approx(12400)
    # strings, and or-of-ands as in the documented 'solid sample or copper' example
    either = {"or": [{"and": [{"name": "sample_state"}, {"value": "solid"}]},
                     {"and": [{"name": "chemical_formula"}, {"value": "C613H959N193O185S10"}]}]}  # fmt: skip
    assert pids(get(client, "/Datasets", filter=_params(either))) == [cat["d1"]]
    bad = client.get(
        "/panosc-api/Datasets",
        params={"filter": json.dumps(_params({"and": [{"name": "x"}, {"unit": "furlongs-ish"}]}))},
    )
    assert bad.status_code == 400 and "unknown unit" in bad.json()["detail"]


def test_free_text_query_scores_and_ranks(client, cat):
    rows = get(client, "/Datasets", query="lysozyme saxs")
    assert pids(rows)[0] == cat["d1"] and cat["secret"] not in pids(rows)
    assert 0 < rows[-1]["score"] <= rows[0]["score"] <= 1
    rows = get(client, "/Datasets", filter={"query": "bone tomography", "limit": 5})
    assert pids(rows) == [cat["d2"]] and rows[0]["score"] > 0.5
    assert get(client, "/Datasets", query="nothing-matches-this") == []


def test_documents_and_instruments(client, cat):
    docs = get(client, "/Documents")
    by = {d["pid"]: d for d in docs}
    assert set(by) == {cat["doi"], "P-PAN-1"}
    pub = by[cat["doi"]]
    assert pub["type"] == "publication" and pub["isPublic"] is True and pub["doi"] == cat["doi"]
    assert pub["summary"] == "Public SAXS of lysozyme" and "score" in pub
    assert by["P-PAN-1"]["type"] == "proposal" and by["P-PAN-1"]["title"] == "Bone structure proposal"
    assert get(client, "/Documents/count", where={"type": "proposal"}) == {"count": 1}
    with_ds = get(
        client, "/Documents", filter={"where": {"type": "proposal"}, "include": [{"relation": "datasets"}]}
    )
    assert pids(with_ds[0]["datasets"]) == [cat["d2"]]  # the proposal's private dataset is not listed
    one = get(client, f"/Documents/{quote(cat['doi'], safe='')}", filter={"include": ["members", "datasets"]})
    assert one["members"] == [{"role": "creator", "person": {"fullName": "Ann Example"}}]
    assert pids(one["datasets"]) == [cat["d1"]]
    scoped = {"include": [{"relation": "datasets", "scope": {"include": [
        {"relation": "techniques", "scope": {"where": {"name": "x-ray tomography"}}}]}}]}  # fmt: skip
    assert pids(get(client, "/Documents", filter=scoped)) == ["P-PAN-1"]
    assert pids(get(client, "/Documents", query="lysozyme")) == [cat["doi"]]
    insts = get(client, "/Instruments", filter={"where": {"facility": "MAX IV"}})
    assert [(i["pid"], i["name"], i["facility"]) for i in insts] == [
        (cat["instrument"], "BioSAXS beamline", "MAX IV")
    ]
    inst = get(client, f"/Instruments/{quote(cat['instrument'], safe='')}", filter={"include": ["datasets"]})
    assert pids(inst["datasets"]) == [cat["d1"]]  # the secret dataset on the same instrument is not served
    assert get(client, "/Instruments/count", where={"text": "biosaxs"}) == {"count": 1}


def test_free_text_ranked_in_sql_equals_the_federation_score(db, cat):
    """The database ranks: the answers, their scores and their order are those of scoring.relevance (with the
    words' inverse document frequencies, counted in one statement) over every public dataset the words
    occur in — then newest first, then by pid; a rare word is not crowded out by a common one."""
    from sqlalchemy import event

    from halric.catalog import service as catalog
    from halric.catalog.filters import Filter
    from halric.core.actor import Actor
    from halric.federation import scoring
    from halric.panosc import PUBLIC, ranking

    who = Actor(user_id=1, username="panosc-test", groups=frozenset({"saxs"}), via="api")
    base = {
        "type": "raw",
        "ownerGroup": "saxs",
        "owner": "Ann",
        "contactEmail": "a@example.org",
        "sourceFolder": "/d",
    }
    with db.session() as s:
        for i in range(12):  # many newer "quartz" datasets, a few older "garnet" ones
            word = "garnet" if i < 3 else "quartz"
            name = (
                f"(+{word}.) grains {i}" if i == 9 else f"{word} grains {i}"
            )  # a whole word: ends . + - stripped
            catalog.create_dataset(s, who, {**base, "datasetName": name, "isPublished": i != 5,
                                            "creationTime": f"2024-01-{1 + i:02d}T00:00:00Z",
                                            "keywords": ["Quartz-rich"] if i == 7 else [],
                                            "techniques": [{"pid": "PaNET01102", "name": "garnet imaging"}]
                                            if i == 8 else [],
                                            "description": "garnet inclusion" if i == 11 else ""})  # fmt: skip
    statements: list[str] = []

    def listen(conn, cursor, statement, *rest):
        statements.append(statement)

    for query in ("garnet quartz", "quartz garnet grains", "grains", "lysozyme bone", "zz quartz", "ra tomo"):
        words = scoring.words(query)
        with db.session() as s:
            public = catalog.find_datasets(s, PUBLIC, Filter(limit=1000))
            event.listen(db.engine, "before_cursor_execute", listen)
            try:
                statements.clear()
                idf = ranking.idf(s, {}, words)
                assert len(statements) == (1 if len(words) > 1 else 0), query
            finally:
                event.remove(db.engine, "before_cursor_execute", listen)
            if len(words) > 1:
                total = catalog.count_datasets(s, PUBLIC, {})
                assert idf == scoring.idf_weights(
                    {w: catalog.count_datasets(s, PUBLIC, {}, w) for w in words}, total
                )
        want = []
        for d in public:
            record = {"title": d.get("datasetName") or "", "description": d.get("description") or "",
                      "keywords": d.get("keywords") or [], "techniques": d.get("techniques") or [], "pid": d["pid"]}  # fmt: skip
            score = scoring.relevance(words, record, idf if len(words) > 1 else None)
            if score > 0:
                want.append((-score, d["creationTime"], d["pid"]))
        want.sort(key=lambda x: x[2])  # pid, then newest first, then best score first (stable sorts)
        want.sort(key=lambda x: x[1], reverse=True)
        want.sort(key=lambda x: x[0])
        got = get_rows(db, query)
        assert [(r["pid"], r["score"]) for r in got] == [(pid, -neg) for neg, _, pid in want], query
    # a rare word keeps its datasets next to a common one
    ranked = get_rows(db, "garnet quartz")
    assert {r["title"].split()[0] for r in ranked} >= {"garnet", "quartz"}


def get_rows(db, query: str) -> list[dict[str, Any]]:
    from halric import panosc

    with db.session() as s:
        return panosc.find_datasets(s, {"limit": 100}, query)


@pytest.mark.parametrize(
    "where",
    [
        {"and": [{"name": "sample_temperature"}, {"value": {"gt": 299}}, {"unit": "K"}]},
        {"and": [{"name": "sample_temperature"}, {"value": {"lt": 80}}, {"unit": "celsius"}]},
        {"name": "sample_temperature", "value": {"between": [280, 310]}, "unit": "K"},
        {"and": [{"name": "photon_energy"}, {"value": 12.4}]},
        {"and": [{"name": "sample_temperature"}, {"value": {"gte": 20}}]},
    ],
)
@pytest.mark.parametrize("query", [None, "lysozyme", "tomography heart"])
def test_the_sql_prefilter_of_parameter_scopes_changes_no_answer(client, cat, monkeypatch, where, query):
    from halric.panosc import parameters

    params = {"filter": json.dumps(_params(where))}
    if query:
        params["query"] = query
    with_prefilter = client.get("/panosc-api/Datasets", params=params)
    assert parameters.parameter_prefilter(where) is not None
    monkeypatch.setattr(parameters, "parameter_prefilter", lambda where: None)
    without = client.get("/panosc-api/Datasets", params=params)
    assert with_prefilter.status_code == without.status_code == 200
    assert with_prefilter.json() == without.json()
