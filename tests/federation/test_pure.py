"""Pure parts: token encryption, comparable scores, merging and de-duplication, unit conversion."""

from __future__ import annotations

import pytest

from halric.core.errors import InvalidInput
from halric.federation import fanout, records, scoring, units
from halric.federation.crypto import TokenBox
from halric.federation.fanout import SiteAnswer


def test_tokens_sealed_with_a_key_from_the_signing_key():
    box = TokenBox("hub-secret-1")
    sealed = box.seal("hlr_abc123")
    assert "hlr_abc123" not in sealed and box.open(sealed) == "hlr_abc123"
    assert box.seal("hlr_abc123") != sealed  # fresh IV each time
    assert TokenBox("another-hub-secret").open(sealed) is None  # key changed: unreadable, not an error
    assert box.open(None) is None and box.open("garbage") is None
    with pytest.raises(InvalidInput, match="token: the token is empty"):
        box.seal("  ")


def test_scores_compare_across_sites():
    qw = scoring.words("Lysozyme crystal")
    title_hit = {"title": "Lysozyme crystal structure"}
    desc_hit = {"title": "Run 17", "description": "a lysozyme crystal, again"}
    partial = {"title": "Lysozymes", "keywords": []}
    assert scoring.relevance(qw, title_hit) == 1.0
    assert 0 < scoring.relevance(qw, partial) < scoring.relevance(qw, desc_hit) < 1.0
    assert scoring.relevance(qw, {"title": "tomography"}) == 0.0
    assert scoring.words("a a B-c, d!") == ["a", "b-c", "d"]


def test_merge_ranks_dedupes_and_says_what_counts_cover():
    a = SiteAnswer("a", "ok", 10, items=[
        {"pid": "10.1/x", "doi": "10.1/x", "title": "lysozyme shared"},
        {"pid": "a1", "title": "other lysozyme thing", "creationTime": "2024-01-01T00:00:00Z"},
    ], total=7, facets={"keyword": {"lysozyme": 2}})  # fmt: skip
    b = SiteAnswer(
        "b", "ok", 20, items=[{"pid": "b-copy", "doi": "10.1/x", "title": "Lysozyme shared"}], total=None
    )
    c = SiteAnswer("c", "timeout", 1000, message="no answer within 1 s")
    out = fanout.merge([a, b, c], "lysozyme shared", 10)
    assert [r["pid"] for r in out["results"]] == ["10.1/x", "a1"]
    assert out["results"][0]["alsoAt"] == [{"site": "b", "pid": "b-copy", "url": None}]
    assert out["total"] == 7 and out["coverage"] == {
        "total": ["a"],
        "facets": ["a"],
        "missing": ["c"],
        "uncounted": ["b"],
    }
    assert out["facets"]["keyword"] == [{"value": "lysozyme", "count": 2}]
    assert out["notices"] == [
        {
            "site": "c",
            "status": "timeout",
            "text": "c did not answer in time (no answer within 1 s); its results are missing.",
        }
    ]
    assert out["sites"] == [{"name": "a", "status": "ok", "elapsed_ms": 10}, {"name": "b", "status": "ok", "elapsed_ms": 20},
                            {"name": "c", "status": "timeout", "elapsed_ms": 1000}]  # fmt: skip


def test_records_and_dois():
    assert records.doi_of("https://doi.org/10.5281/ZENODO.1") == "10.5281/zenodo.1"
    assert records.doi_of("doi:10.1234/abc") == "10.1234/abc" and records.doi_of("20.500.12269/x") is None
    r = records.from_scicat(
        {"pid": "p", "datasetName": "t", "isPublished": False, "ownerGroup": "g", "accessGroups": ["h", "g"]}
    )
    assert r["groups"] == ["g", "h"] and r["isPublic"] is False and r["doi"] is None
    assert (
        records.landing_url("hub", "https://hub.example/", "a/b c")
        == "https://hub.example/catalog/datasets/a%2Fb%20c"
    )
    assert (
        records.landing_url("scicat", "https://s", "p", "https://ui.s/datasets/{pid}")
        == "https://ui.s/datasets/p"
    )


def test_units():
    assert units.convert(25, "celsius", "K") == pytest.approx(298.15)
    assert units.convert(12.4, "keV", "eV") == pytest.approx(12400)
    assert units.compatible("angstrom", "nm") and not units.compatible("K", "eV")
    assert units.to_si(1, "bar") == pytest.approx(1e5)
    with pytest.raises(InvalidInput, match="unknown unit"):
        units.require("furlongs-ish", "unit")
