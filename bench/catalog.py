"""Catalog scale benchmark: bulk load, faceted full-text search and dataset GET on PostgreSQL and SQLite.

    python bench/catalog.py [--datasets 1000000] [--sqlite-datasets 100000] [--searches 60] [--gets 600]

For each backend: a throw-away database (PostgreSQL: a new database on 127.0.0.1:5432, dropped at the end;
SQLite: a temporary file), ``halric db upgrade`` and ``halric registry load`` into it, then synthetic but
realistic datasets are bulk-loaded straight into the catalog tables (PostgreSQL: COPY via psycopg; SQLite:
SQLAlchemy Core ``insert()`` executemany batches). Every row is what ``service.create_dataset`` would store:
the same defaults, embargo from ``embargo.embargo_for`` and the proposal's policy, ``search_text`` from
``service._search_text`` and the ``catalog_dataset_terms`` rows from ``service.dataset_terms``.

Then, as a signed-in user with a few groups, the same queries on each backend through the code path the
API uses: ``search.search`` (full-text words + instrument and technique facets selected, all facets
counted, 25 items) and ``service.get_dataset`` by pid, each in its own session like a request.
Then broad searches (no words or filters, one common word, one instrument): the first time (search cache
emptied before each run), repeated (answered from the search cache, ``halric.catalog.searchcache``), and the
next page of the same search (its counts from the cache, the page read alone).

The catalog's search generation triggers (migration 0009) are in place while loading, as on a hub;
``--no-generation-triggers`` drops them for the load (and puts them back before measuring) to show what
they cost. ``--load-only`` stops after the load; ``--panosc-only`` measures only the PaNOSC ``/Datasets``
queries (with ``--reuse-pg URL --sqlite-datasets 0``: PaNOSC on an already loaded database).
Prints a Markdown table. Not a test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

PG_ADMIN_DSN = os.environ.get("HALRIC_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PREFIX = "20.500.12345"
N_GROUPS = 50
SEARCH_TARGET_MS = 50.0
GET_TARGET_MS = 10.0
console = Console(stderr=True)

_WORDS_TEXT = (
    "protein crystal lysozyme perovskite battery cathode anode catalyst zeolite graphene polymer membrane "
    "alloy steel titanium magnet superconductor thin-film nanoparticle colloid micelle hydrogel enzyme "
    "virus bone tooth fossil concrete cement soil rock meteorite glass ceramic oxide nitride sulfide "
    "electrolyte lithium sodium silicon germanium gallium copper iron nickel cobalt manganese vanadium "
    "tungsten gold silver platinum palladium ruthenium diffraction tomography spectroscopy imaging "
    "scattering absorption fluorescence operando in-situ high-pressure cryogenic annealing strain "
    "texture phase-transition magnetism corrosion fatigue porosity morphology kinetics"
)
WORDS = _WORDS_TEXT.split()
MATERIALS = WORDS[:60]
FORMATS = ("NeXus/HDF5", "HDF5", "TIFF stack", "CBF", "EDF", "CSV")
LOCATIONS = ("beamline", "hutch A", "hutch B", "lab 2", "cryo station")


# --- synthetic data ---------------------------------------------------------------------------------------


class World:
    """Groups, proposals, samples and the registry's instruments/techniques the datasets draw from."""

    def __init__(
        self,
        rng: random.Random,
        n: int,
        instruments: list[tuple[str, str, list[tuple[str, str]]]],
        site_years: int = 3,
    ):
        self.rng = rng
        self.site_years = site_years  # HALRIC_CATALOG_EMBARGO_YEARS of the hub the rows are for
        self.groups = [f"group-{i:02d}" for i in range(N_GROUPS)]
        self.access = [f"access-{i:02d}" for i in range(20)]
        self.instruments = instruments
        n_prop = max(10, n // 250)
        self.proposals = []
        for i in range(n_prop):
            years = rng.choice((None, None, None, 2, 5))
            never = rng.random() < 0.02
            self.proposals.append((f"P-{2015 + i % 11}-{i:06d}", self.groups[i % N_GROUPS], years, never))
        self.t0 = datetime(2016, 1, 1, tzinfo=UTC)
        self.span = (datetime(2026, 10, 1, tzinfo=UTC) - self.t0).total_seconds()

    def proposal_rows(self, now: datetime) -> list[dict[str, Any]]:
        rows = []
        for pid, group, years, never in self.proposals:
            rows.append(
                {
                    "proposal_id": pid, "title": f"Proposal {pid}", "abstract": None, "email": f"pi@{group}.example",
                    "firstname": None, "lastname": None, "pi_email": f"pi@{group}.example", "pi_firstname": "Pat",
                    "pi_lastname": group.title(), "start_time": None, "end_time": None, "type": "Default Proposal",
                    "parent_proposal_id": None, "proposal_metadata": None, "measurement_periods": [],
                    "is_published": False, "pilot_project_id": None, "embargo_years": years, "never_release": never,
                    "owner_group": group, "access_groups": [], "instrument_group": None, "created_by": "bench",
                    "created_at": now, "updated_by": "bench", "updated_at": now,
                }
            )  # fmt: skip
        return rows

    def dataset(self, i: int, now: datetime) -> SimpleNamespace:
        """One dataset, as the model attributes ``create_dataset_model`` would set (before indexing)."""
        from halric.catalog.embargo import embargo_for
        from halric.catalog.service import DEFAULT_CLASSIFICATION

        rng = self.rng
        prop_id, group, years, never = self.proposals[rng.randrange(len(self.proposals))]
        inst_id, inst_name, techs = self.instruments[rng.randrange(len(self.instruments))]
        tech = techs[rng.randrange(len(techs))] if techs else ("PaNET01000", "measurement")
        created = self.t0 + timedelta(seconds=rng.random() * self.span)
        material = rng.choice(MATERIALS)
        run = rng.randrange(1, 99999)
        keywords = rng.sample(WORDS, 3)
        published = rng.random() < 0.10
        raw = rng.random() < 0.8
        access = [rng.choice(self.access), f"{inst_id}-staff"] if rng.random() < 0.7 else []
        size = int(rng.lognormvariate(21, 2))
        ns = SimpleNamespace(
            pid=f"{PREFIX}/{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            type="raw" if raw else "derived",
            dataset_name=f"{tech[1]} of {material} run {run}",
            description=f"{tech[1]} measurement of {material} sample ({' '.join(keywords)}) on {inst_name}",
            owner=f"user{rng.randrange(2000):04d}",
            owner_email=None,
            orcid_of_owner=None,
            contact_email=f"{group}@facility.example",
            owner_group=group,
            access_groups=access,
            instrument_group=f"{inst_id}-staff",
            shared_with=[],
            source_folder=f"/data/{created.year}/{prop_id}/run-{run:05d}",
            canonical_folder=f"/data/{created.year}/{prop_id}/run-{run:05d}",
            source_folder_host=None,
            creation_location=f"{inst_name} {rng.choice(LOCATIONS)}",
            creation_time=created,
            start_time=created - timedelta(minutes=rng.randrange(5, 600)),
            end_time=created,
            data_format=rng.choice(FORMATS),
            size=size,
            packed_size=0,
            number_of_files=rng.randrange(1, 5000),
            number_of_files_archived=0,
            principal_investigators=[f"pi@{group}.example"],
            keywords=keywords,
            techniques=[{"pid": tech[0], "name": tech[1]}],
            scientific_metadata={
                "temperature": {"value": round(rng.uniform(4, 1200), 1), "unit": "K"},
                "pressure": {"value": round(rng.uniform(0, 50), 2), "unit": "GPa"},
                "energy": {"value": round(rng.uniform(5, 100), 3), "unit": "keV"},
                "exposure_time": {"value": round(rng.uniform(0.001, 10), 3), "unit": "s"},
                "sample_state": rng.choice(("powder", "single crystal", "solution", "film", "bulk")),
            },
            scientific_metadata_schema=None,
            scientific_metadata_valid=None,
            proposal_ids=[prop_id],
            sample_ids=[f"S-{prop_id[2:]}-{rng.randrange(40):03d}"],
            instrument_ids=[inst_id],
            input_datasets=[],
            used_software=[] if raw else [rng.choice(("dials", "mantid", "tomopy", "dawn", "pyfai"))],
            job_parameters=None,
            job_log_data=None,
            license=rng.choice((None, "CC-BY-4.0")),
            classification=DEFAULT_CLASSIFICATION,
            comment=None,
            data_quality_metrics=None,
            run_number=str(run),
            validation_status=None,
            relationships=[],
            is_published=published,
            published_at=now if published else None,
            embargo_until=embargo_for(created, years, never, site_years=self.site_years),
            never_release=never,
            confidential=False,
            version="4",
            created_by=f"ingestor-{group}",
            created_at=now,
            updated_by=f"ingestor-{group}",
            updated_at=now,
        )
        if not raw:
            ns.input_datasets = [f"{PREFIX}/{uuid.UUID(int=rng.getrandbits(128), version=4)}"]
        return ns


def indexed(ns: SimpleNamespace) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The row and term rows the service stores for this dataset (its own index helpers)."""
    from halric.catalog.service import _search_text, dataset_terms

    ns.search_text = _search_text(ns)  # type: ignore[arg-type]
    return vars(ns), dataset_terms(ns)  # type: ignore[arg-type]


# --- databases --------------------------------------------------------------------------------------------


def pg_create() -> tuple[str, str]:
    import psycopg

    name = f"halric_bench_catalog_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    url = f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{name}"
    return name, url


def pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare(url: str, data_dir: str) -> None:
    """``halric db upgrade`` and ``halric registry load`` into the bench database."""
    env = {**os.environ, "HALRIC_DATA_DIR": data_dir, "HALRIC_DATABASE_URL": url}
    env.pop("HALRIC_ADMIN_PASSWORD", None)
    for cmd in (["db", "upgrade"], ["registry", "load"]):
        subprocess.run(
            [sys.executable, "-m", "halric.cli.main", *cmd], env=env, check=True, capture_output=True
        )


def registry_instruments(db: Any) -> list[tuple[str, str, list[tuple[str, str]]]]:
    from sqlalchemy import select

    from halric.registry.models import Instrument, InstrumentTechnique, Technique

    with db.session() as s:
        techs: dict[str, list[tuple[str, str]]] = {}
        q = select(InstrumentTechnique.instrument_id, Technique.id, Technique.label).join(
            Technique, Technique.id == InstrumentTechnique.technique_id
        )
        for inst, tid, label in s.execute(q):
            techs.setdefault(inst, []).append((tid, label))
        return [(i, name, techs.get(i, [])) for i, name in s.execute(select(Instrument.id, Instrument.name))]


def batches(world: World, n: int, size: int, now: datetime) -> Iterator[list[tuple[dict[str, Any], list]]]:
    done = 0
    while done < n:
        k = min(size, n - done)
        yield [indexed(world.dataset(done + j, now)) for j in range(k)]
        done += k


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(), console=console,
    )  # fmt: skip


def _from_cache(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether one search was answered from the search cache: it found what it looked up there (its counts,
    its page window, the page's rows) and missed nothing. A search counts its lookups one by one, so the
    cache's hit counter alone says how many lookups hit, not how many searches (two or more per search)."""
    return after["hits"] > before["hits"] and after["misses"] == before["misses"]


def load(
    db: Any,
    world: World,
    n: int,
    batch: int,
    label: str,
    pick: list[tuple],
    actor_groups: set[str],
    writers: int = 1,
) -> float:
    """Bulk-load n datasets; returns datasets per second (generation + index helpers + insert + commit).

    ``writers`` > 1 (PostgreSQL): that many connections COPY batches at the same time, each committing its
    own, as that many hub workers ingesting at once would; the rows are generated on this thread in the
    same order either way."""
    from sqlalchemy import insert

    from halric.catalog.models import Dataset, DatasetTerm, Proposal

    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        conn.execute(insert(Proposal.__table__), world.proposal_rows(now))
    pg = db.url.startswith("postgresql")
    cols = [c.name for c in Dataset.__table__.columns]
    json_cols = {c.name for c in Dataset.__table__.columns if "JSON" in type(c.type).__name__.upper()}
    json_cols |= {"access_groups", "shared_with", "principal_investigators", "keywords", "techniques"}
    json_cols |= {"scientific_metadata", "proposal_ids", "sample_ids", "instrument_ids", "input_datasets"}
    json_cols |= {"used_software", "job_parameters", "relationships"}
    every = max(1, n // 20000)

    def copy_batch(rows: list[tuple[dict[str, Any], list]]) -> int:
        raw = db.engine.raw_connection()
        try:
            with raw.driver_connection.cursor() as cur:
                with cur.copy(f"COPY catalog_datasets ({', '.join(cols)}) FROM STDIN") as cp:
                    for row, _terms in rows:
                        cp.write_row(
                            [
                                json.dumps(row[c]) if c in json_cols and row[c] is not None else row[c]
                                for c in cols
                            ]
                        )
                with cur.copy("COPY catalog_dataset_terms (dataset_pid, kind, value) FROM STDIN") as cp:
                    for row, terms in rows:
                        for kind, value in terms:
                            cp.write_row((row["pid"], kind, value))
            raw.driver_connection.commit()
        finally:
            raw.close()
        return len(rows)

    pool = ThreadPoolExecutor(max_workers=writers) if pg and writers > 1 else None
    in_flight: list[Future[int]] = []
    t0 = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task(f"load {label}", total=n, rate="")
        done = 0
        for rows in batches(world, n, batch, now):
            for idx, (row, _terms) in enumerate(rows):
                if (done + idx) % every == 0 and (
                    row["is_published"]
                    or row["owner_group"] in actor_groups
                    or actor_groups & set(row["access_groups"])
                ):
                    pick.append(
                        (
                            row["pid"],
                            row["instrument_ids"][0],
                            row["techniques"][0]["pid"],
                            row["keywords"][0],
                        )
                    )
            if pool is not None:
                while len(in_flight) >= writers:  # at most one batch per writer in flight
                    in_flight.pop(0).result()
                in_flight.append(pool.submit(copy_batch, rows))
            elif pg:
                copy_batch(rows)
            else:
                with db.engine.begin() as conn:
                    conn.execute(insert(Dataset.__table__), [r for r, _ in rows])
                    conn.execute(
                        insert(DatasetTerm.__table__),
                        [
                            {"dataset_pid": r["pid"], "kind": k, "value": v}
                            for r, terms in rows
                            for k, v in terms
                        ],
                    )
            done += len(rows)
            bar.update(task, advance=len(rows), rate=f"{done / (time.perf_counter() - t0):,.0f}/s")
        for f in in_flight:
            f.result()
    if pool is not None:
        pool.shutdown()
    rate = n / (time.perf_counter() - t0)
    t = time.perf_counter()
    from sqlalchemy import text

    # after a bulk load, as a DBA would (autovacuum does the same for ordinary inserts, later): VACUUM
    # sets PostgreSQL's visibility map, without which "index-only" scans still visit the table
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if pg else "ANALYZE"))
    console.print(
        f"{label}: loaded {n:,} at {rate:,.0f} datasets/s; {'VACUUM ' if pg else ''}ANALYZE "
        f"{time.perf_counter() - t:.1f} s"
    )
    return rate


@contextmanager
def generation_triggers(db: Any, *, on: bool) -> Iterator[None]:
    """Load with the search generation triggers (``on``, as on a hub) or without them: dropped (SQLite) or
    disabled (PostgreSQL) for the load, put back afterwards, with the generation changed once."""
    from sqlalchemy import text

    from halric.catalog.searchcache import _GENERATION, invalidate

    TRIGGERS = _GENERATION.triggers
    if on:
        yield
        return
    pg = db.url.startswith("postgresql")
    path = (
        Path(__file__).resolve().parents[1]
        / "src/halric/migrations/versions/0009_catalog_search_generation.py"
    )
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with db.engine.begin() as conn:
        for table, name in TRIGGERS["postgresql" if pg else "sqlite"]:
            conn.execute(
                text(f"ALTER TABLE {table} DISABLE TRIGGER {name}" if pg else f"DROP TRIGGER {name}")
            )
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            for table, name in TRIGGERS["postgresql" if pg else "sqlite"]:
                if pg:
                    conn.execute(text(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}"))
                else:
                    conn.execute(text(next(st for st in migration.SQLITE_UP if f" {name} " in st)))
        invalidate(db.engine)  # what was loaded without the triggers


# --- queries ----------------------------------------------------------------------------------------------


def sample_picks(db: Any, actor: Any, pick: list[tuple]) -> int:
    """For --reuse: (pid, instrument, technique, keyword) of datasets the actor can read, like load() keeps."""
    from sqlalchemy import func, select

    from halric.catalog.models import Dataset
    from halric.catalog.rules import dataset_visibility

    with db.session() as s:
        n = int(s.scalar(select(func.count()).select_from(Dataset)) or 0)
        step = max(1, n // 20000)
        rows = s.execute(
            select(Dataset.pid, Dataset.instrument_ids, Dataset.techniques, Dataset.keywords)
            .where(dataset_visibility(actor))
            .order_by(Dataset.pid)
            .limit(n // step)
        ).all()
    pick.extend((pid, inst[0], tech[0]["pid"], kw[0]) for pid, inst, tech, kw in rows if inst and tech and kw)
    return n


def make_queries(rng: random.Random, pick: list[tuple], n: int) -> list[Any]:
    """Word + instrument + technique taken from datasets the actor may see (queries that find something);
    every fourth query uses a random word instead (often no hit: the whole visible set is scanned)."""
    from halric.catalog.search import SearchQuery

    out = []
    for i in range(n):
        _pid, inst, tech, word = rng.choice(pick)
        out.append(
            SearchQuery(text=rng.choice(WORDS) if i % 4 == 3 else word, instrument=[inst], technique=[tech])
        )
    return out


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, max(0, round(p / 100 * len(v)) - 1))]


def measure(db: Any, actor: Any, queries: list[Any], pids: list[str], label: str) -> dict[str, Any]:
    from halric.catalog import searchcache
    from halric.catalog.search import search
    from halric.catalog.service import get_dataset

    with db.session(write=False) as s:
        cache = searchcache.current(s)
    for q in queries[:3]:  # warm caches and pools, as a running hub would have them
        with db.session() as s:
            search(s, actor, q)
    if cache is not None:
        cache.clear()  # the first pass is the first time for every query
    s_ms, warm_ms, g_ms, hits = [], [], [], []
    cached = {"search": 0, "search again": 0}
    with _progress() as bar:
        # first pass: each query for the first time (its rows may not be in the database's buffers yet);
        # second pass: the same queries again, as a hub answering its users' recurring searches would
        for times, name in ((s_ms, "search"), (warm_ms, "search again")):
            task = bar.add_task(f"{name} {label}", total=len(queries), rate="")
            for q in queries:
                before = cache.stats() if cache is not None else None
                t = time.perf_counter()
                with db.session() as s:
                    res = search(s, actor, q)
                times.append((time.perf_counter() - t) * 1000)
                if times is s_ms:
                    hits.append(res["total"])
                cached[name] += before is not None and _from_cache(before, cache.stats())
                bar.update(task, advance=1, rate=f"{times[-1]:.0f} ms")
        task = bar.add_task(f"GET {label}", total=len(pids), rate="")
        for pid in pids:
            t = time.perf_counter()
            with db.session() as s:
                get_dataset(s, actor, pid)
            g_ms.append((time.perf_counter() - t) * 1000)
            bar.update(task, advance=1, rate=f"{g_ms[-1]:.1f} ms")
    from dataclasses import replace

    from halric.catalog.search import SearchQuery
    from halric.core.actor import ANONYMOUS

    estimated: dict[str, bool] = {}
    last: dict[str, Any] = {}

    def timed(who: Any, q: Any, exact: bool = False) -> tuple[int, float]:
        t = time.perf_counter()
        with db.session() as s:
            res = search(s, who, q, allow_estimate=not exact)
        last["next"] = res.get("next")
        estimated[str((who.username, q.key()))] = bool(res.get("estimated"))
        return res["total"], (time.perf_counter() - t) * 1000

    def forget() -> None:
        if cache is not None:
            cache.clear()

    broad: dict[str, tuple[Any, ...]] = {}
    for name, who, bq in (
        ("anonymous, no words or filters (first visit to /catalog)", ANONYMOUS, SearchQuery()),
        ("signed-in, no words or filters", actor, SearchQuery()),
        ("signed-in, one common word only", actor, SearchQuery(text="protein")),
        ("signed-in, one instrument only", actor, SearchQuery(instrument=[queries[0].instrument[0]])),
    ):
        first, again, following, deep = [], [], [], []
        for _ in range(5):  # the first time: nothing cached (as after any write)
            forget()
            total, ms = timed(who, bq)
            first.append(ms)
        est = estimated[str((who.username, bq.key()))]
        from_cache = cache is not None
        for _ in range(3):  # repeated: the answer of the run before comes from the cache
            before = cache.stats() if cache is not None else None
            again.append(timed(who, bq)[1])
            from_cache = from_cache and before is not None and _from_cache(before, cache.stats())
        for _ in range(3):  # the next page: counts cached by the first page, the page itself read alone
            forget()
            timed(who, bq)
            following.append(timed(who, replace(bq, offset=bq.limit))[1])
        for _ in range(3):  # a deep page (position 10,000) by OFFSET and by cursor, counts cached
            timed(who, bq)
            deep.append(timed(who, replace(bq, offset=10_000))[1])
        with db.session() as s:
            from halric.catalog.models import Dataset
            from halric.catalog.service import dataset_select

            order = (Dataset.creation_time.desc(), Dataset.pid)
            at = s.scalars(
                dataset_select(who, bq.where(), bq.text).order_by(*order).offset(9_975).limit(1)
            ).first()
        by_cursor = []
        if at is not None:
            import base64

            cursor = base64.urlsafe_b64encode(f"{at.creation_time.isoformat()}|{at.pid}".encode()).decode()
            for _ in range(3):
                by_cursor.append(timed(who, replace(bq, after=cursor.rstrip("=")))[1])
        forget()
        exact_total, exact_ms = timed(who, bq, exact=True)  # the same search counted exactly, first time
        forget()
        broad[name] = (
            total, statistics.median(first), statistics.median(again), from_cache, statistics.median(following),
            max(first), est, statistics.median(deep), statistics.median(by_cursor) if by_cursor else float("nan"),
            exact_total, exact_ms,
        )  # fmt: skip
    panosc_ms = measure_panosc(db, queries)
    return {
        "panosc_p50": statistics.median(panosc_ms), "panosc_p95": pct(panosc_ms, 95), "panosc_n": len(panosc_ms),
        "broad": broad, "cached": cached, "min_matches": cache.min_matches if cache is not None else None,
        "search_p50": statistics.median(s_ms), "search_p95": pct(s_ms, 95),
        "warm_p50": statistics.median(warm_ms), "warm_p95": pct(warm_ms, 95), "get_p50": statistics.median(g_ms),
        "get_p95": pct(g_ms, 95), "hits_median": statistics.median(hits), "searches": len(s_ms), "gets": len(g_ms),
    }  # fmt: skip


PANOSC_TARGET_MS = 100.0


def measure_panosc(db: Any, queries: list[Any]) -> list[float]:
    """``/panosc-api/Datasets`` as the PaNOSC federated search calls it: a free-text query (a word of the
    search queries) and a parameter filter (temperature above a threshold, in kelvin), 25 results; the
    service function the route calls, each in its own session."""
    from halric import panosc

    with db.session() as s:  # warm up, as a running hub is (pint's unit registry, the pool, compiled SQL)
        cond = {"and": [{"name": "temperature"}, {"value": {"gt": 0}}, {"unit": "K"}]}
        panosc.find_datasets(
            s, {"limit": 25, "include": [{"relation": "parameters", "scope": {"where": cond}}]}, "x"
        )
    out = []
    for n, q in enumerate(queries):
        cond = {"and": [{"name": "temperature"}, {"value": {"gt": 100 + 10 * n}}, {"unit": "K"}]}
        flt = {"limit": 25, "include": [{"relation": "parameters", "scope": {"where": cond}}]}
        t = time.perf_counter()
        with db.session() as s:
            panosc.find_datasets(s, flt, q.text)
        out.append((time.perf_counter() - t) * 1000)
    return out


def run_backend(kind: str, n: int, args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    from halric.core.actor import Actor
    from halric.core.db import Database

    name = None
    reuse = args.reuse_pg if kind == "postgresql" else args.reuse_sqlite
    if reuse:
        url = reuse
    elif kind == "postgresql":
        name, url = pg_create()
    else:
        url = f"sqlite:///{args.keep_dir or tmp}/bench-catalog.db"
    db = None
    groups = {"group-03", "group-17", "group-42", "access-05"}
    actor = Actor(user_id=1, username="bench-user", groups=frozenset(groups), via="api")
    try:
        console.print(f"[bold]{kind}[/]: db upgrade + registry load into {re.sub(r'//.*@', '//', url)}")
        prepare(url, tmp)
        db = Database(url)
        pick: list[tuple] = []
        if reuse:
            rate = float("nan")
            n = sample_picks(db, actor, pick)
        else:
            rng = random.Random(args.seed)
            world = World(rng, n, registry_instruments(db), db.settings.catalog_embargo_years)
            with generation_triggers(db, on=args.generation_triggers):
                rate = load(db, world, n, args.batch, f"{kind} {n:,}", pick, groups, writers=args.writers)
        if args.load_only:
            return {"backend": kind, "datasets": n, "rate": rate}
        qrng = random.Random(args.seed + 1)
        queries = make_queries(qrng, pick, args.searches)
        pids = [qrng.choice(pick)[0] for _ in range(args.gets)]
        if args.panosc_only:
            ms = measure_panosc(db, queries)
            return {
                "backend": kind, "datasets": n, "rate": rate, "panosc_p50": statistics.median(ms),
                "panosc_p95": pct(ms, 95), "panosc_n": len(ms),
            }  # fmt: skip
        return {"backend": kind, "datasets": n, "rate": rate, **measure(db, actor, queries, pids, kind)}
    finally:
        if db is not None:
            db.dispose()
        if name and not args.keep_dir:
            pg_drop(name)
        elif name:
            console.print(f"kept {kind} database for --reuse-pg: {url}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=1_000_000, help="datasets loaded into PostgreSQL")
    ap.add_argument(
        "--sqlite-datasets", type=int, default=100_000, help="datasets loaded into SQLite (0: skip)"
    )
    ap.add_argument("--searches", type=int, default=60, help="search queries timed per backend")
    ap.add_argument("--gets", type=int, default=600, help="dataset GETs timed per backend")
    ap.add_argument("--batch", type=int, default=5000, help="datasets per insert batch")
    ap.add_argument(
        "--writers", type=int, default=1, help="PostgreSQL connections loading batches at once (default 1)"
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--keep-dir", help="keep the loaded databases (SQLite file in this folder, PostgreSQL kept)"
    )
    ap.add_argument(
        "--reuse-pg", help="measure an already loaded PostgreSQL database (URL) instead of loading"
    )
    ap.add_argument(
        "--reuse-sqlite", help="measure an already loaded SQLite database (URL) instead of loading"
    )
    ap.add_argument(
        "--no-generation-triggers",
        dest="generation_triggers",
        action="store_false",
        help="load without the search generation triggers (to see what they cost); they are put back after",
    )
    ap.add_argument("--load-only", action="store_true", help="stop after loading (prints the load rates)")
    ap.add_argument(
        "--panosc-only",
        action="store_true",
        help="measure only the PaNOSC /Datasets queries (--searches of them)",
    )
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="halric-bench-catalog-") as tmp:
        for kind, n in (("postgresql", args.datasets), ("sqlite", args.sqlite_datasets)):
            if n > 0:
                rows.append(run_backend(kind, n, args, tmp))
    triggers = "with" if args.generation_triggers else "without"
    if args.load_only:
        print(f"\nLoad {triggers} the search generation triggers, {args.writers} writer(s):\n")
        print("| backend | datasets | load rate (datasets/s) |")
        print("|---|---|---|")
        for r in rows:
            print(f"| {r['backend']} | {r['datasets']:,} | {r['rate']:,.0f} |")
        return
    if args.panosc_only:
        print()
        _print_panosc(rows)
        return
    print()
    print(
        f"Actor: signed-in user with 4 groups; search = 1 word + instrument + technique facets, 25 items, "
        f"all facets counted ({rows[0]['searches']} queries); GET = get_dataset by pid ({rows[0]['gets']}); "
        f"loaded {triggers} the search generation triggers"
    )
    print()
    print("| backend | datasets | load rate (datasets/s) | search p50 / p95 ms, first time | search p50 / p95 ms, "
          "repeated | GET p50 / p95 ms | median hits | search p95 ≤ 50 ms (first / repeated) | GET p95 ≤ 10 ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ok_s = " / ".join("yes" if r[k] <= SEARCH_TARGET_MS else "no" for k in ("search_p95", "warm_p95"))
        ok_g = "yes" if r["get_p95"] <= GET_TARGET_MS else "no"
        print(f"| {r['backend']} | {r['datasets']:,} | {r['rate']:,.0f} | {r['search_p50']:.1f} / {r['search_p95']:.1f} "
              f"| {r['warm_p50']:.1f} / {r['warm_p95']:.1f} | {r['get_p50']:.2f} / {r['get_p95']:.2f} "
              f"| {r['hits_median']:,.0f} | {ok_s} | {ok_g} |")  # fmt: skip
    print()
    for r in rows:
        print(
            f"{r['backend']}: searches answered from the search cache (it keeps answers with at least "
            f"{r['min_matches']} matches): first pass {r['cached']['search']} of {r['searches']}, "
            f"repeated pass {r['cached']['search again']} of {r['searches']}"
        )
    print()
    _print_panosc(rows)
    print()
    print(
        "Broad searches, all facets (first time: search cache emptied, median and max of 5; others median of 3;"
    )
    print("matches marked ~ are estimates from a sample, PostgreSQL only):")
    print()
    print("| backend | search | matches (exact) | ms, first time (median / max) | ms, first time counted exactly "
          "| ms, repeated (cached) | ms, next page | ms, page at 10,000: OFFSET / cursor |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        for name, (total, first, again, from_cache, following, worst, est, deep, cur, ex_total, ex_ms) in r[
            "broad"
        ].items():
            repeated = (
                f"{again:,.1f}"
                if from_cache
                else f"{again:,.0f} (not cached: < {r['min_matches']:,} matches)"
            )
            shown = f"~{total:,}" if est else f"{total:,}"
            print(f"| {r['backend']} | {name} | {shown} ({ex_total:,}) | {first:,.0f} / {worst:,.0f} | {ex_ms:,.0f} "
                  f"| {repeated} | {following:,.0f} | {deep:,.0f} / {cur:,.0f} |")  # fmt: skip


def _print_panosc(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        ok = "yes" if r["panosc_p95"] <= PANOSC_TARGET_MS else "no"
        print(
            f"{r['backend']}: PaNOSC /Datasets with a free-text query and a parameter filter ({r['panosc_n']} "
            f"queries): p50 {r['panosc_p50']:.1f} ms, p95 {r['panosc_p95']:.1f} ms (p95 ≤ 100 ms: {ok})"
        )


if __name__ == "__main__":
    main()
