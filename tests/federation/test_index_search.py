"""The word index of harvested records (migration 0008) on SQLite and PostgreSQL: words inside words, short
words, literal special characters, the index following every change the harvest makes, access rules kept,
and the planner answering a word through the index."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from halric.core.actor import ANONYMOUS, Actor, system_actor
from halric.core.timeutil import utcnow
from halric.federation import harvest, index, records, service
from halric.federation.models import RECORD_WORDS, HarvestedRecord, Site

MAPPED = Actor(user_id=9001, username="mapped", groups=frozenset({"hub-team"}))
UNMAPPED = Actor(user_id=9002, username="unmapped", groups=frozenset({"hub-other"}))


def new_site(s: Session, **over: Any) -> Site:
    site = Site(
        name="ix-" + uuid.uuid4().hex[:8], url="https://scicat.example", kind="scicat", mode="harvest",
        group_map={"site-team": ["hub-team"]}, created_by="test", updated_by="test", **over,
    )  # fmt: skip
    s.add(site)
    s.flush()
    return site


def rec(pid: str, title: str, *, public: bool = True, **extra: Any) -> dict[str, Any]:
    return records.from_scicat(
        {"pid": pid, "datasetName": title, "isPublished": public, "ownerGroup": "site-team",
         "creationTime": "2025-01-01T00:00:00Z", **extra}
    )  # fmt: skip


def found(s: Session, site: Site, q: str, actor: Actor = ANONYMOUS) -> set[str]:
    res = index.search_site(s, actor, site, q, 100)
    pids = {i["pid"] for i in res["items"]}
    assert res["total"] == len(pids), q
    return pids


def matching(s: Session, site: Site, word: str) -> set[str]:
    """The shared word condition on its own, with the word exactly as given (no query parsing)."""
    q = select(HarvestedRecord.pid).where(HarvestedRecord.site_id == site.id, RECORD_WORDS.contains(word))
    return set(s.scalars(q))


def fts_consistent(s: Session) -> None:
    """SQLite: the FTS5 table holds exactly what the records' search text says."""
    if s.get_bind().dialect.name == "sqlite":
        s.execute(text(f"INSERT INTO {RECORD_WORDS.fts}({RECORD_WORDS.fts}) VALUES ('integrity-check')"))


def test_words_inside_words_all_must_match_short_words_too(db):
    with db.session() as s:
        site = new_site(s)
        harvest.store(s, site, [
            rec("p-lyso", "Lysozyme crystal soak", keywords=["thermolysin"], instrumentIds=["BioMAX"]),
            rec("p-perov", "Perovskite thin film", description="GIWAXS of a 2D perovskite at 80 K"),
            rec("p-x", "X ray dose series"),
        ])  # fmt: skip
        s.flush()
        assert found(s, site, "lyso") == {"p-lyso"}
        assert found(s, site, "LYSOZYME Crystal") == {"p-lyso"}
        assert found(s, site, "olysi") == {"p-lyso"}  # inside a keyword
        assert found(s, site, "biomax") == {"p-lyso"}  # the instrument
        assert found(s, site, "lysozyme perovskite") == set()
        assert found(s, site, "2d") == {"p-perov"}  # two characters: matched by scanning
        assert found(s, site, "80 perovskite") == {"p-perov"}
        assert found(s, site, "x") == {"p-x", "p-perov", "p-lyso"}  # one character ("giwaxs", "biomax")
        assert found(s, site, "ray x") == {"p-x"}


def test_special_characters_are_literal_and_never_fail(db):
    with db.session() as s:
        site = new_site(s)
        harvest.store(s, site, [
            rec("p-odd", 'He said "hi": 100% o\'neil a_b x*y and/or NEAR(q) ^c {d} -e +f col:val'),
            rec("p-plain", "Sand and gravel, a-b axb 100 percent"),
        ])  # fmt: skip
        s.flush()
        # the shared condition, given raw words: wildcards and FTS5 syntax mean themselves
        for word in ('"hi"', "100%", "o'neil", "a_b", "x*y", "and/or", "near(q)", "^c", "{d}", "-e", "+f",
                     "col:val", '"', "'", "*", "%", "_"):  # fmt: skip
            assert matching(s, site, word) == {"p-odd"}, word
        assert matching(s, site, "a%b") == set() and matching(s, site, "a_c") == set()
        assert matching(s, site, "x_b") == set()  # "_" is not "any character" ("axb" is not matched)
        assert matching(s, site, "and") == {"p-odd", "p-plain"}  # an FTS5 operator, here a plain word
        # through the search: the query's words as the federation parses them, never an error
        for q in ('lyso* AND "crystal"', "NOT", "OR", "NEAR(a b)", "'; DROP TABLE x; --", '"', "*", "%",
                  "_", "a_b", "100%", '"hi" or', "col:val", "^c", "{d}", "(", ")", "\\", "a\\b"):  # fmt: skip
            index.search_site(s, ANONYMOUS, site, q, 10)
        assert found(s, site, "a_b") == {"p-odd"}
        assert found(s, site, "x_b") == set()
        assert found(s, site, "100% percent") == {"p-plain"}  # "%" is not a query word
        assert found(s, site, 'AND "hi"') == {"p-odd"}
        assert found(s, site, "NEAR(q)") == {"p-odd"}


def test_index_follows_reharvest_and_deletions(db):
    with db.session() as s:
        site = new_site(s)
        other = new_site(s)
        harvest.store(s, site, [rec("p-1", "Zeolite catalyst operando"), rec("p-2", "Zeolite pellets")])
        harvest.store(s, other, [rec("p-9", "Zeolite elsewhere")])
        s.flush()
        assert found(s, site, "zeolite") == {"p-1", "p-2"}
        # re-harvested with new text: found by the new text, not the old
        assert harvest.store(s, site, [rec("p-1", "Graphene membrane")]) == (0, 1)
        s.flush()
        fts_consistent(s)
        assert found(s, site, "zeolite") == {"p-2"}
        assert found(s, site, "graphene") == {"p-1"}
        assert found(s, site, "catalyst") == set()
        # a record the site no longer lists is removed, and with it from the index
        assert harvest._remove_missing(s, site, {"p-1"}) == 1
        s.flush()
        fts_consistent(s)
        assert found(s, site, "zeolite") == set() and found(s, site, "pellets") == set()
        assert found(s, other, "zeolite") == {"p-9"}
    with db.session() as s:  # removing a site removes its records from the index
        service.remove_site(s, system_actor("test"), other.name)
    with db.session() as s:
        fts_consistent(s)
        q = select(HarvestedRecord.pid).where(RECORD_WORDS.contains("elsewhere"))
        assert list(s.scalars(q)) == []
        if s.get_bind().dialect.name == "sqlite":
            hits = s.execute(text(f"SELECT rowid FROM {RECORD_WORDS.fts} WHERE {RECORD_WORDS.fts} MATCH :w"),
                             {"w": '"elsewhere"'}).all()  # fmt: skip
            assert hits == []


def test_private_records_stay_hidden_from_unmapped_users(db):
    with db.session() as s:
        site = new_site(s)
        harvest.store(s, site, [
            rec("p-pub", "Wombat public survey", keywords=["wombat"]),
            rec("p-priv", "Wombat secret survey", public=False, keywords=["wombatsecret"],
                accessGroups=["site-team"]),
            rec("p-else", "Wombat other group", public=False, ownerGroup="site-other", keywords=["wombatother"]),
        ])  # fmt: skip
        s.flush()
        for actor in (ANONYMOUS, UNMAPPED):
            assert found(s, site, "wombat", actor) == {"p-pub"}
            assert found(s, site, "secret", actor) == set()
            res = index.search_site(s, actor, site, "wombat", 10)
            assert set(res["facets"]["keyword"]) == {"wombat"}
        assert found(s, site, "wombat", MAPPED) == {"p-pub", "p-priv"}
        assert found(s, site, "secret", MAPPED) == {"p-priv"}
        assert found(s, site, "wombatother", MAPPED) == set()
        assert set(index.search_site(s, MAPPED, site, "wom", 10)["facets"]["keyword"]) == {
            "wombat",
            "wombatsecret",
        }


def test_the_index_serves_a_word_search(db):
    """The planner answers a word of the statement harvested search runs through the word index."""
    from sqlalchemy import event

    with db.session() as s:
        site = new_site(s)
        filler = ("tomography of bone", "powder diffraction of steel", "saxs of protein in solution")
        s.execute(insert(HarvestedRecord), [
            {"site_id": site.id, "pid": f"f-{i}", "title": filler[i % 3], "is_public": i % 10 != 0,
             "record": {}, "search_text": f"{filler[i % 3]} run {i}"}
            for i in range(3000)
        ])  # fmt: skip
        harvest.store(s, site, [rec("p-rare", "Ferritin cryo grid")])
        index.refresh_statistics(s)  # as a harvest run does at its end
        s.commit()
        seen: list[tuple[str, Any]] = []

        def capture(conn, cursor, statement, parameters, *rest):
            seen.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            res = index.search_site(s, MAPPED, site, "ferritin", 10)
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        assert [i["pid"] for i in res["items"]] == ["p-rare"] and res["total"] == 1
        # total, facets and page ids: the one that matches words (after SQLite's BEGIN IMMEDIATE, if any)
        statement, parameters = next((st, p) for st, p in seen if not st.lstrip().upper().startswith("BEGIN"))
        assert "WITH" in statement
        conn = s.connection()
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
            assert RECORD_WORDS.trgm in plan, plan
        else:
            plan = "\n".join(
                str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            )
            assert f"SCAN {RECORD_WORDS.fts} VIRTUAL TABLE INDEX" in plan, plan
            # the word's matches are the starting point, not every record of the site
            assert "SEARCH federation_records USING INTEGER PRIMARY KEY" in plan, plan


def test_word_index_objects_are_in_place(db):
    """SQLite: the FTS5 triggers (a later migration that copies federation_records drops them: this
    notices). PostgreSQL: the trigram index on the search column."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            names = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE tbl_name = 'federation_records' "
                                          "AND type = 'trigger'")))  # fmt: skip
            assert names == {f"{RECORD_WORDS.fts}_ai", f"{RECORD_WORDS.fts}_ad", f"{RECORD_WORDS.fts}_au"}
        else:
            definition = conn.scalar(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE tablename = 'federation_records' AND indexname = :n"
                ),
                {"n": RECORD_WORDS.trgm},
            )
            assert definition is not None and "gin" in definition and "gin_trgm_ops" in definition, definition


def test_catalog_and_harvested_conditions_never_share_a_compiled_statement():
    from halric.catalog import fulltext

    a, b = fulltext.contains_word("lyso"), RECORD_WORDS.contains("lyso")
    assert a._generate_cache_key().key != b._generate_cache_key().key
    assert RECORD_WORDS.contains("lyso")._generate_cache_key().key == b._generate_cache_key().key


def test_reindex_is_safe_to_repeat(db):
    with db.session() as s:
        site = new_site(s)
        harvest.store(s, site, [rec("p-r", "Cement hydration tomography")])
        site_id = site.id
    assert RECORD_WORDS.reindex(db.engine) == RECORD_WORDS.reindex(db.engine)
    with db.session() as s:
        fts_consistent(s)
        assert found(s, s.get(Site, site_id), "hydration") == {"p-r"}


def test_statistics_refreshed_after_a_harvest(db):
    with db.session() as s:
        index.refresh_statistics(s)
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            tables = set(conn.scalars(text("SELECT tbl FROM sqlite_stat1")))
            assert {"federation_records", "federation_record_terms"} <= tables
            assert conn.scalar(text("PRAGMA analysis_limit")) == 0
        else:
            q = text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
            assert {"federation_records", "federation_record_terms"} <= set(conn.scalars(q))


def test_migration_indexes_records_already_harvested_and_downgrades(empty_url):
    from alembic import command

    from halric.core.db import Database
    from halric.migrations import alembic_config, upgrade

    upgrade(empty_url, "0007")
    db = Database(empty_url)
    try:
        # The site row as revision 0007 knows it (the Site model has columns later revisions add); the
        # functions under test read only these attributes of a site.
        site = SimpleNamespace(name="ix-" + uuid.uuid4().hex[:8], url="https://scicat.example", kind="scicat",
                               landing_template=None, group_map={"site-team": ["hub-team"]})  # fmt: skip
        with db.engine.begin() as conn:
            table = sa.Table("federation_sites", sa.MetaData(), autoload_with=conn)
            now = utcnow()
            values = {
                "name": site.name, "url": site.url, "kind": "scicat", "mode": "harvest", "timeout": 5.0,
                "enabled": True, "description": "", "group_map": site.group_map, "status": "unknown",
                "harvest_cursor_seen": [], "harvest_stats": {}, "created_by": "test", "created_at": now,
                "updated_by": "test", "updated_at": now,
            }  # fmt: skip
            row = {k: v for k, v in values.items() if k in table.c}
            site.id = conn.execute(table.insert().values(row).returning(table.c.id)).scalar_one()
        with db.session() as s:  # harvested before the word index existed
            harvest.store(s, site, [rec("p-old", "Ferritin cage assembly"), rec("p-new", "Apoferritin grid")])

        def objects() -> set[str]:
            with db.engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    q = "SELECT name FROM sqlite_master WHERE tbl_name LIKE 'federation_record%'"
                else:
                    q = "SELECT indexname FROM pg_indexes WHERE tablename LIKE 'federation_record%'"
                return set(conn.scalars(text(q)))

        before = objects()
        upgrade(empty_url, "0008")
        after = objects()
        assert "ix_federation_record_terms_record_kind_value" in after
        assert "ix_federation_record_terms_kind_value" not in after
        assert (RECORD_WORDS.fts if db.engine.dialect.name == "sqlite" else RECORD_WORDS.trgm) in after
        with db.session() as s:
            fts_consistent(s)
            assert found(s, site, "ferritin") == {"p-old", "p-new"}
            assert found(s, site, "cage") == {"p-old"}
        command.downgrade(alembic_config(empty_url), "0007")
        assert objects() == before
        upgrade(empty_url, "0008")
        with db.session() as s:
            fts_consistent(s)
            assert found(s, site, "apoferritin") == {"p-new"}
    finally:
        db.dispose()
