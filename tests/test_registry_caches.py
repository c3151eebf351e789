"""Caches under the registry's generation (halric.registry.generation): matchmaking answers and the
registry page's lists. Each must change as soon as the registry does — however it is changed — and must
never carry one caller's view to another."""

from __future__ import annotations

import importlib
import uuid

import pytest
from lxml import html
from sqlalchemy import text
from tests.support.accounts import bearer, signin

from halric.core.actor import system_actor
from halric.match import service as matching
from halric.registry import generation as regen
from halric.registry import service as reg

MIGRATION = importlib.import_module("halric.migrations.versions.0022_registry_generation")
QUESTION = "small angle x-ray scattering of proteins in solution"


@pytest.fixture(autouse=True)
def _registry(loaded):
    return loaded


def ask(client, question: str = QUESTION, headers: dict | None = None, **options) -> dict:
    r = client.post("/api/match", json={"question": question, **options}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def gen(db) -> tuple[int, int]:
    with db.session() as s:
        g = regen.generation(s)
    assert g is not None, "the triggers of migration 0022 are missing"
    return g


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE instruments SET city = city WHERE id = (SELECT min(id) FROM instruments)",
        "UPDATE organisations SET name = name WHERE id = (SELECT min(id) FROM organisations)",
        "UPDATE infrastructures SET name = name WHERE id = (SELECT min(id) FROM infrastructures)",
        "UPDATE techniques SET label = label WHERE id = (SELECT min(id) FROM techniques)",
        "UPDATE instrument_techniques SET position = position WHERE id = (SELECT min(id) FROM instrument_techniques)",
        "UPDATE technique_parents SET parent_id = parent_id WHERE child_id = (SELECT min(child_id) FROM technique_parents)",
    ],
)
def test_every_write_to_a_registry_table_changes_the_generation(db, sql):
    before = gen(db)
    with db.session() as s:  # raw SQL, as an operator might: no service code involved
        s.execute(text(sql))
    assert gen(db) != before


def test_a_rolled_back_write_leaves_a_generation_nobody_sees_again(db):
    before = gen(db)
    with db.engine.connect() as conn:
        conn.execute(text("UPDATE instruments SET city = city WHERE id = (SELECT min(id) FROM instruments)"))
        inside = conn.execute(text("SELECT counter, token FROM registry_generation")).one()
        conn.rollback()
    assert tuple(inside) != before
    assert gen(db) == before


def test_same_question_answered_from_cache_and_still_logged(client):
    first = ask(client)
    hits = matching.ANSWERS.hits
    again = ask(client, "  small angle   x-ray scattering of proteins in solution ")  # spaces do not matter
    assert matching.ANSWERS.hits == hits + 1
    assert again["results"] == first["results"]
    assert again["question"] == QUESTION
    assert again["query_id"] != first["query_id"], "every question is logged, cached or not"
    other = ask(client, top=2)  # other options: another entry
    assert len(other["results"]) == 2


def test_answer_follows_a_registry_change_at_once(client, db):
    answer = ask(client, operational_only=True)
    inst = answer["results"][0]["instruments"][0]
    assert inst["status"] == "operational"
    ask(client, operational_only=True)  # now cached
    iid = inst["id"]
    with db.session() as s:
        reg.update_instrument(s, system_actor("test"), iid, reg.InstrumentChanges(status="planned"))
    try:
        after = ask(client, operational_only=True)
        assert iid not in {i["id"] for r in after["results"] for i in r["instruments"]}
    finally:
        with db.session() as s:
            reg.update_instrument(s, system_actor("test"), iid, reg.InstrumentChanges(status="operational"))
    back = ask(client, operational_only=True)
    assert iid in {i["id"] for r in back["results"] for i in r["instruments"]}


def test_the_matcher_follows_any_registry_write(db):
    """An organisation renamed behind the registry's back (no instrument or technique changed) still reaches
    the matcher: its version is the registry generation, not counts and dates of two tables."""
    with db.session() as s:
        first = matching.get_matcher(s, cache_dir=None, method="lexical")
        assert (
            matching.get_matcher(s, cache_dir=None, method="lexical") is first
        )  # kept while nothing changes
        oid = s.execute(text("SELECT min(id) FROM organisations")).scalar_one()
    name = f"Renamed {uuid.uuid4().hex[:6]}"
    with db.session() as s:
        s.execute(text("UPDATE organisations SET name = :n WHERE id = :i"), {"n": name, "i": oid})
    with db.session() as s:
        after = matching.get_matcher(s, cache_dir=None, method="lexical")
    assert after is not first
    assert name in repr(after.organisations.get(oid))


def test_cached_answer_is_the_same_for_every_caller_and_logged_for_each(client, make_user, db):
    anonymous = ask(client)
    signed_in = ask(client, headers=bearer(db, make_user()))
    assert signed_in["results"] == anonymous["results"]
    with db.session() as s:
        rows = s.execute(
            text("SELECT user_id FROM match_queries WHERE id IN (:a, :b) ORDER BY id"),
            {"a": anonymous["query_id"], "b": signed_in["query_id"]},
        ).all()
    assert rows[0][0] is None and rows[1][0] is not None


def _count(page: str) -> int:
    found = html.fromstring(page).xpath('//p[@role="status"][@id="instrument-count"]')
    return int(found[0].text_content().split(" of ")[1].rstrip(".")) if found else 0


def test_registry_page_follows_raw_sql_changes(client, db):
    before = _count(client.get("/registry?status=planned").text)
    client.get("/registry?status=planned")  # cached now
    with db.session() as s:
        iid = s.execute(text("SELECT min(id) FROM instruments WHERE status = 'operational'")).scalar_one()
        s.execute(text("UPDATE instruments SET status = 'planned' WHERE id = :i"), {"i": iid})
    try:
        page = client.get("/registry?status=planned").text
        assert _count(page) == before + 1
        assert (
            f'data-instrument="{iid}"' in client.get("/registry?status=planned&sort=name").text
            or before >= 24
        )
    finally:
        with db.session() as s:
            s.execute(text("UPDATE instruments SET status = 'operational' WHERE id = :i"), {"i": iid})
    assert _count(client.get("/registry?status=planned").text) == before


def test_registry_page_counts_follow_a_new_organisation(client, db):
    page = client.get("/registry").text
    name = f"Cache Test Lab {uuid.uuid4().hex[:6]}"
    assert name not in page
    with db.session() as s:
        s.execute(
            text(
                "INSERT INTO organisations (id, name, country, kind, partner, funding_eligible, origin, "
                "created_at, updated_at) VALUES (:i, :n, 'SE', 'university', false, false, 'web', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"i": f"cache-test-{uuid.uuid4().hex[:6]}", "n": name},
        )
    assert name in client.get("/registry").text


def test_edit_links_are_never_shared_through_the_cache(client, make_user):
    coordinator = make_user(roles=["coordinator"])
    with client:
        signin(client, coordinator)
        assert "/edit" in client.get("/registry").text
    client.cookies.clear()
    anonymous = client.get("/registry").text
    assert "/edit" not in anonymous
    assert _count(anonymous) > 0


def test_without_the_triggers_the_caches_are_off(db, client):
    sqlite = db.engine.dialect.name == "sqlite"
    off, on = (
        ("DROP TRIGGER instruments_registry_generation_au", MIGRATION.SQLITE_UP[7])
        if sqlite
        else ("ALTER TABLE instruments DISABLE TRIGGER instruments_registry_generation",
              "ALTER TABLE instruments ENABLE ALWAYS TRIGGER instruments_registry_generation")
    )  # fmt: skip
    assert "instruments_registry_generation_au" in on or not sqlite
    with db.session() as s:
        s.execute(text(off))
    try:
        with db.session() as s:
            assert regen.generation(s) is None
        assert client.get("/registry").status_code == 200
        ask(client)
        looked_up = matching.ANSWERS.misses + matching.ANSWERS.hits
        ask(client)
        assert matching.ANSWERS.misses + matching.ANSWERS.hits == looked_up, "no lookups without a generation"
    finally:
        with db.session() as s:
            s.execute(text(on))
    assert gen(db) is not None


def test_a_question_is_logged_after_another_request_wrote(db, client):
    """SQLite: the page reads first and logs the question at the end; a write committed by another
    request in between must not make that log a 'database is locked' (a 503 under load)."""
    s = db.new_session(write=False)
    try:
        assert s.execute(text("SELECT count(*) FROM match_queries")).scalar_one() >= 0  # a read snapshot
        with db.session() as other:  # another request writes and commits meanwhile
            other.execute(
                text("UPDATE instruments SET city = city WHERE id = (SELECT min(id) FROM instruments)")
            )
        out = matching.match(s, system_actor("test"), matching.MatchRequest(QUESTION), cache_dir=None)
        s.commit()
    finally:
        s.close()
    with db.session() as s:
        assert (
            s.execute(
                text("SELECT question FROM match_queries WHERE id = :i"), {"i": out["query_id"]}
            ).scalar_one()
            == QUESTION
        )
