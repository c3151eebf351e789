"""Harvested-records index benchmark: word searches in large harvested sites, before and after the word index.

    python bench/harvested_index.py [--records 200000] [--sqlite-records 100000] [--searches 20]

For each backend: a throw-away database (PostgreSQL: a new database on 127.0.0.1:5432 with a unique name,
dropped at the end; SQLite: a file in a temporary folder), ``halric db upgrade``, three sites in harvest mode
(MAX IV 50 %, ESS 30 %, PETRA III 20 % of the records) with group maps, then synthetic harvested records
bulk-loaded straight into ``federation_records`` and ``federation_record_terms`` (PostgreSQL: COPY; SQLite:
executemany, so the FTS5 triggers index every row as a harvest would). Every row is what
``harvest.store`` stores: the normalised record, ``search_text`` from ``harvest._search_text`` and terms
from ``harvest._terms``. About 10 % are private, owned by a proposal group with an instrument-staff access
group; the user searching is mapped to a few of those groups. Then VACUUM ANALYZE (PostgreSQL) or
``index.refresh_statistics`` (SQLite; what a harvest run does at its end).

Searches go through ``search.index_answers`` (what a federated search runs for its harvested sites: per
site the total, 25 ranked items and the technique, instrument and keyword facets), each in its own session:

- one word (a sample, technique or instrument word, or the start of one: ``lyso``, ``tomog``);
- two words (a sample and a technique word);
- word + facet value: a sample word and an instrument name (harvested search has no facet filters; a
  facet value narrows it as a word).

Three variants of the same queries, in this order:

- after: the code as it is (word index, one statement for total, facets and page);
- index, 5 statements: the word index, with ``search_site`` as it was (total, page and three facets as
  five statements, each evaluating the words and the access rule);
- before: migration 0008 downgraded in place (no trigram index / FTS5 table, the term indexes as they
  were), ``search_text LIKE '%word%'`` per word and the five statements: the code before the word index.

All three must give the same answers (totals, items in order, facets). Prints a Markdown table. Not a
test: it asserts nothing but equal answers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

PG_ADMIN_DSN = os.environ.get("HALRIC_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")

SITES = {  # name: (share of the records, instruments)
    "maxiv": (0.5, ["BioMAX", "MicroMAX", "CoSAXS", "NanoMAX", "Balder", "DanMAX", "ForMAX", "SoftiMAX",
                    "HIPPIE", "FemtoMAX", "Veritas", "Bloch"]),
    "ess": (0.3, ["LoKI", "ODIN", "BIFROST", "DREAM", "ESTIA", "NMX", "BEER", "CSPEC", "MAGIC", "FREIA"]),
    "petra3": (0.2, ["P11", "P12", "P07", "P21.2", "P23", "P61A", "P02.2", "P06", "P10", "P65"]),
}  # fmt: skip
TECHNIQUES = [
    ("PaNET01124", "macromolecular crystallography"), ("PaNET01188", "small angle x-ray scattering"),
    ("PaNET01135", "x-ray tomography"), ("PaNET01098", "x-ray powder diffraction"),
    ("PaNET01227", "neutron reflectometry"), ("PaNET01189", "small angle neutron scattering"),
    ("PaNET01245", "inelastic neutron scattering"), ("PaNET01196", "x-ray absorption spectroscopy"),
    ("PaNET01109", "x-ray fluorescence imaging"), ("PaNET01099", "ptychography"),
    ("PaNET01102", "serial femtosecond crystallography"), ("PaNET01056", "photoemission spectroscopy"),
    ("PaNET01104", "neutron imaging"), ("PaNET01097", "neutron powder diffraction"),
    ("PaNET01230", "grazing incidence small angle scattering"), ("PaNET01212", "x-ray photon correlation spectroscopy"),
]  # fmt: skip
_SAMPLES_TEXT = (
    "lysozyme insulin ferritin myoglobin haemoglobin collagen keratin cellulose chitin amyloid antibody "
    "nucleosome ribosome thaumatin proteinase glucose-isomerase trypsin thermolysin membrane-protein "
    "liposome micelle hydrogel bone enamel dentine cartilage tendon wood paper perovskite zeolite graphene "
    "cathode anode electrolyte lithium-ion catalyst steel titanium-alloy concrete cement soil meteorite "
    "glass ceramic polymer nanoparticle colloid thin-film superconductor magnet"
)
SAMPLES = _SAMPLES_TEXT.split()
FORMS = ("crystal", "solution", "powder", "film", "pellet", "tissue section", "single crystal", "grid")
CONDITIONS = ("operando", "in-situ", "cryogenic", "high-pressure", "room temperature", "annealed", "hydrated")
PREFIX = {"maxiv": "20.500.12269", "ess": "20.500.12269", "petra3": "10.3204"}


# --- synthetic records ------------------------------------------------------------------------------------


def make_record(
    rng: random.Random, site: str, instruments: list[str], i: int, t0: datetime
) -> dict[str, Any]:
    """One normalised record as ``records.from_scicat`` gives it."""
    inst = instruments[rng.randrange(len(instruments))]
    tech = [TECHNIQUES[rng.randrange(len(TECHNIQUES))]]
    if rng.random() < 0.2:
        tech.append(TECHNIQUES[rng.randrange(len(TECHNIQUES))])
    sample, form, cond = rng.choice(SAMPLES), rng.choice(FORMS), rng.choice(CONDITIONS)
    proposal = f"{2016 + i % 10}{rng.randrange(100000):05d}"
    private = rng.random() < 0.10
    created = t0 + timedelta(seconds=rng.randrange(10 * 365 * 86400))
    keywords = list(dict.fromkeys([sample, cond, *rng.sample(SAMPLES, 2)]))
    pid = f"{PREFIX[site]}/{site}-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    stamp = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    owner = f"{site}-p{rng.randrange(400):03d}"
    return {
        "pid": pid, "title": f"{tech[0][1].capitalize()} of {sample} {form}, {cond}, run {rng.randrange(1, 9999)}",
        "description": f"{tech[0][1]} of {sample} ({form}) at {rng.choice((80, 100, 200, 293, 300))} K on {inst}, "
                       f"proposal {proposal}; {cond} conditions, {rng.randrange(1, 600)} frames",
        "isPublic": not private, "doi": None if private or rng.random() < 0.5 else f"10.5555/{site}.{i}",
        "keywords": keywords, "techniques": [{"pid": p, "name": n} for p, n in tech], "instrument": inst,
        "creationTime": stamp, "modified": stamp, "ownerGroup": owner,
        "groups": [owner, f"{site}-{inst.lower()}-staff"], "size": int(rng.lognormvariate(21, 2)),
        "numberOfFiles": rng.randrange(1, 5000),
    }  # fmt: skip


def rows_of(site_id: int, rec: dict[str, Any], now: datetime) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    from halric.federation.harvest import _bucket, _search_text, _terms

    row = {
        "site_id": site_id, "pid": rec["pid"], "doi": rec["doi"], "title": rec["title"], "description": rec["description"],
        "is_public": rec["isPublic"], "owner_group": rec["ownerGroup"], "creation_time": _bucket(rec["creationTime"]),
        "modified": _bucket(rec["modified"]), "record": rec, "search_text": _search_text(rec), "harvested_at": now,
    }  # fmt: skip
    return row, _terms(rec)


# --- databases --------------------------------------------------------------------------------------------


def pg_create() -> tuple[str, str]:
    import psycopg

    name = f"halric_bench_harvested_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    url = f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{name}"
    return name, url


def pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def add_sites(db: Any) -> dict[str, int]:
    from halric.federation.models import Site

    ids = {}
    with db.session() as s:
        for name in SITES:
            group_map = {f"{name}-p{g:03d}": [f"hub-{name}-{g % 40}"] for g in range(400)}
            site = Site(name=name, url=f"https://{name}.example/api", kind="scicat", mode="harvest",
                        group_map=group_map, created_by="bench", updated_by="bench")  # fmt: skip
            s.add(site)
            s.flush()
            ids[name] = site.id
    return ids


def load(db: Any, site_ids: dict[str, int], n: int, seed: int, batch: int = 5000) -> float:
    """Bulk-load n records over the sites; returns records per second (generation + insert + commit)."""
    from sqlalchemy import insert, text

    from halric.federation.models import HarvestedRecord, HarvestedTerm

    rng = random.Random(seed)
    now = datetime.now(UTC)
    t0_data = datetime(2016, 1, 1, tzinfo=UTC)
    pg = db.url.startswith("postgresql")
    plan = [(name, int(n * share)) for name, (share, _) in SITES.items()]
    plan[0] = (plan[0][0], n - sum(k for _, k in plan[1:]))
    cols = [c.name for c in HarvestedRecord.__table__.columns]
    next_id = 1
    t0 = time.perf_counter()
    for name, count in plan:
        instruments = SITES[name][1]
        done = 0
        while done < count:
            k = min(batch, count - done)
            rows = []
            for j in range(k):
                row, terms = rows_of(
                    site_ids[name], make_record(rng, name, instruments, done + j, t0_data), now
                )
                row["id"] = next_id
                next_id += 1
                rows.append((row, terms))
            if pg:
                raw = db.engine.raw_connection()
                try:
                    with raw.driver_connection.cursor() as cur:
                        with cur.copy(f"COPY federation_records ({', '.join(cols)}) FROM STDIN") as cp:
                            for row, _ in rows:
                                cp.write_row([json.dumps(row[c]) if c == "record" else row[c] for c in cols])
                        with cur.copy(
                            "COPY federation_record_terms (record_id, kind, value) FROM STDIN"
                        ) as cp:
                            for row, terms in rows:
                                for kind, value in terms:
                                    cp.write_row((row["id"], kind, value))
                    raw.driver_connection.commit()
                finally:
                    raw.close()
            else:
                with db.engine.begin() as conn:
                    conn.execute(insert(HarvestedRecord.__table__), [r for r, _ in rows])
                    conn.execute(
                        insert(HarvestedTerm.__table__),
                        [
                            {"record_id": r["id"], "kind": kk, "value": v}
                            for r, terms in rows
                            for kk, v in terms
                        ],
                    )
            done += k
        print(f"  loaded {name}: {count:,}", flush=True)
    rate = n / (time.perf_counter() - t0)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if pg:
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('federation_records', 'id'), :n)"), {"n": n}
            )
        # after a bulk load, as a DBA would (autovacuum does the same for ordinary inserts, later)
        conn.execute(text("VACUUM ANALYZE" if pg else "ANALYZE"))
    return rate


# --- the code before the word index (for the baseline) -----------------------------------------------------


def like_scan_select(actor: Any, site: Any, text: str | None) -> Any:
    """``index.record_select`` as it was before migration 0008: one ``LIKE '%word%'`` per word."""
    from sqlalchemy import select

    from halric.federation import scoring
    from halric.federation.index import visibility
    from halric.federation.models import HarvestedRecord

    def escape(word: str) -> str:
        return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

    q = select(HarvestedRecord).where(HarvestedRecord.site_id == site.id, visibility(actor, [site]))
    for w in scoring.words(text):
        q = q.where(HarvestedRecord.search_text.like(f"%{escape(w)}%", escape="\\"))
    return q


def five_statement_search_site(s: Any, actor: Any, site: Any, text: str | None, limit: int) -> dict[str, Any]:
    """``index.search_site`` as it was before: total, page and each facet as its own statement."""
    from sqlalchemy import func, select

    from halric.federation import index, records, scoring
    from halric.federation.models import HarvestedRecord, HarvestedTerm

    base = index.record_select(actor, site, text)
    total = int(s.scalar(base.with_only_columns(func.count(HarvestedRecord.id)).order_by(None)) or 0)
    rows = s.scalars(
        base.order_by(HarvestedRecord.creation_time.desc(), HarvestedRecord.pid).limit(max(limit * 4, limit))
    ).all()
    items = []
    qw = scoring.words(text)
    for r in rows:
        item = dict(r.record or {})
        item["url"] = records.landing_url(site.kind, site.url, r.pid, site.landing_template)
        items.append(item)
    if qw:
        items.sort(key=lambda i: -scoring.relevance(qw, i))
    items = items[:limit]
    ids = base.with_only_columns(HarvestedRecord.id).order_by(None).scalar_subquery()
    facets: dict[str, dict[str, int]] = {}
    for name, kind in index.INDEX_FACETS.items():
        count = func.count(HarvestedTerm.id)
        fq = (
            select(HarvestedTerm.value, count)
            .where(HarvestedTerm.kind == kind, HarvestedTerm.record_id.in_(ids))
            .group_by(HarvestedTerm.value)
            .order_by(count.desc(), HarvestedTerm.value)
            .limit(30)
        )
        facets[name] = {v: int(n) for v, n in s.execute(fq)}
    return {"items": items, "total": total, "facets": facets}


def downgrade_0008(db: Any) -> None:
    """Migration 0008's own downgrade, run in place (the database stays at its revision otherwise)."""
    import importlib

    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    mig = importlib.import_module("halric.migrations.versions.0008_federation_search_index")
    with db.engine.begin() as conn:
        with Operations.context(MigrationContext.configure(conn)):
            mig.downgrade()
        conn.execute(text("ANALYZE federation_records"))
        conn.execute(text("ANALYZE federation_record_terms"))


# --- queries ----------------------------------------------------------------------------------------------


def make_queries(rng: random.Random, n: int) -> dict[str, list[str]]:
    tech_words = sorted({w for _, name in TECHNIQUES for w in name.split() if len(w) > 3})
    instruments = [i for _, insts in SITES.values() for i in insts]
    singles = SAMPLES + tech_words + [i.lower() for i in instruments]
    prefixes = [w[: max(4, len(w) * 2 // 3)] for w in SAMPLES + tech_words]
    one = [rng.choice(prefixes) if i % 3 == 2 else rng.choice(singles) for i in range(n)]
    two = [f"{rng.choice(SAMPLES)} {rng.choice(tech_words)}" for _ in range(n)]
    facet = [f"{rng.choice(SAMPLES)} {rng.choice(instruments).lower()}" for _ in range(n)]
    return {"one word": one, "two words": two, "word + facet value": facet}


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(p / 100 * len(v)) - 1))]


def measure(db: Any, actor: Any, site_ids: list[int], queries: list[str]) -> tuple[list[float], list[Any]]:
    """Milliseconds per search, and each search's answers (totals, items in order, facets in order)."""
    from halric.federation.search import index_answers

    for q in queries[:2]:  # warm caches and pools, as a running hub would have them
        with db.session() as s:
            index_answers(s, actor, site_ids, q, 25)
    times, answers = [], []
    for q in queries:
        t = time.perf_counter()
        with db.session() as s:
            got = index_answers(s, actor, site_ids, q, 25)
        times.append((time.perf_counter() - t) * 1000)
        answers.append(
            [
                (
                    a.name,
                    a.total,
                    [i["pid"] for i in a.items],
                    {k: list(v.items()) for k, v in (a.facets or {}).items()},
                )
                for a in got
            ]
        )
    return times, answers


def patched(**attrs: Callable[..., Any]) -> Any:
    """``halric.federation.index`` with some functions replaced, for the duration of a ``with``."""
    from contextlib import contextmanager

    from halric.federation import index

    @contextmanager
    def cm() -> Any:
        saved = {k: getattr(index, k) for k in attrs}
        for k, v in attrs.items():
            setattr(index, k, v)
        try:
            yield
        finally:
            for k, v in saved.items():
                setattr(index, k, v)

    return cm()


VARIANTS = ("after", "index, 5 statements", "before")


def run_backend(kind: str, n: int, args: argparse.Namespace, tmp: str) -> list[dict[str, Any]]:
    from halric.core.actor import Actor
    from halric.core.db import Database
    from halric.federation import index
    from halric.migrations import upgrade

    name = None
    if kind == "postgresql":
        name, url = pg_create()
    else:
        url = f"sqlite:///{tmp}/bench-harvested.db"
    db = None
    groups = frozenset({"hub-maxiv-3", "hub-maxiv-17", "hub-ess-5", "hub-petra3-11"})
    actor = Actor(user_id=1, username="bench-user", groups=groups, via="api")
    try:
        print(f"{kind}: db upgrade, load {n:,} records", flush=True)
        upgrade(url)
        db = Database(url)
        site_ids = add_sites(db)
        rate = load(db, site_ids, n, args.seed)
        print(f"  {rate:,.0f} records/s", flush=True)
        if kind == "sqlite":
            with db.session() as s:
                index.refresh_statistics(s)
        ids = list(site_ids.values())
        queries = make_queries(random.Random(args.seed + 1), args.searches)
        res: dict[tuple[str, str], tuple[list[float], list[Any]]] = {}
        for label, qs in queries.items():
            res[label, "after"] = measure(db, actor, ids, qs)
            with patched(search_site=five_statement_search_site):
                res[label, "index, 5 statements"] = measure(db, actor, ids, qs)
        t = time.perf_counter()
        downgrade_0008(db)
        print(f"  migration 0008 downgraded in {time.perf_counter() - t:.1f} s", flush=True)
        for label, qs in queries.items():
            with patched(search_site=five_statement_search_site, record_select=like_scan_select):
                res[label, "before"] = measure(db, actor, ids, qs)
        out = []
        for label, qs in queries.items():
            row: dict[str, Any] = {"backend": kind, "records": n, "query": label, "searches": len(qs)}
            for v in VARIANTS:
                ms = res[label, v][0]
                row[v] = (statistics.median(ms), pct(ms, 95))
            after = res[label, "after"][1]
            row["same"] = all(res[label, v][1] == after for v in VARIANTS)
            row["hits"] = statistics.median(sum(total or 0 for _, total, _, _ in a) for a in after)
            out.append(row)
            print(f"  {label}: " + ", ".join(f"{v} {row[v][0]:.1f}/{row[v][1]:.1f} ms" for v in VARIANTS)
                  + f", same answers: {row['same']}", flush=True)  # fmt: skip
        return out
    finally:
        if db is not None:
            db.dispose()
        if name:
            pg_drop(name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--records", type=int, default=200_000, help="harvested records loaded into PostgreSQL (0: skip)"
    )
    ap.add_argument(
        "--sqlite-records", type=int, default=100_000, help="records loaded into SQLite (0: skip)"
    )
    ap.add_argument("--searches", type=int, default=20, help="searches timed per kind of query and variant")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="halric-bench-harvested-") as tmp:
        for kind, n in (("postgresql", args.records), ("sqlite", args.sqlite_records)):
            if n > 0:
                rows += run_backend(kind, n, args, tmp)
    print()
    print(
        "Signed-in user mapped to 4 site groups; each search = all 3 harvested sites, per site total + 25 "
        f"ranked items + technique/instrument/keyword facets ({rows[0]['searches']} searches per row and variant)."
    )
    print()
    print("| backend | records | query | median matches | after p50 / p95 ms | index, 5 statements p50 / p95 ms "
          "| before (LIKE scan) p50 / p95 ms | speed-up p50 / p95 | same answers |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        (a50, a95), (m50, m95), (b50, b95) = (r[v] for v in VARIANTS)
        print(f"| {r['backend']} | {r['records']:,} | {r['query']} | {r['hits']:,.0f} | {a50:.1f} / {a95:.1f} "
              f"| {m50:.1f} / {m95:.1f} | {b50:.1f} / {b95:.1f} | {b50 / a50:.1f}× / {b95 / a95:.1f}× "
              f"| {'yes' if r['same'] else 'NO'} |")  # fmt: skip


if __name__ == "__main__":
    main()
