"""CPU time per request for each page of bench/load.py's read rotation, and per write, in one process.

    python bench/request_cpu.py [--db sqlite postgresql] [--repeat 40] [--profile DIR]

For each database: a throw-away database (PostgreSQL: a new database on 127.0.0.1:5432, dropped at the
end; SQLite: a temporary file), the shipped registry, one user with a group and an API token, 200
published datasets; then the app (``create_app``) is driven in this process with Starlette's
``TestClient``. Each page of the rotation is asked for once to warm it (matchmaking: its model and
index), then ``--repeat`` times, and the process's CPU time (``time.process_time``: every thread, the
client's share included) is divided by the number of requests. Writes are ``--repeat`` POSTs of a new
dataset. Matchmaking is measured twice: with the questions the load bench asks (answered from the cache
after the first time) and with a new question each time (the uncached path).

CPU time, unlike req/s and latency, hardly changes with what else the machine is doing, so this is the
figure to compare between commits on a shared machine. ``--profile DIR`` also writes a cProfile file per
page (``python -m pstats DIR/registry.prof``). The table also gives the SQL statements each request sends
(pre-pings not counted; ``HALRIC_BENCH_SQL=1`` prints those of one request of each page on stderr).
Prints one Markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import GROUP, QUESTIONS, WORDS, dataset_body, drop_database, make_database

NEW_WORDS = ["oxide", "membrane", "tissue", "soil", "bone", "concrete", "ice", "glass", "wood", "catalyst"]


def pages(pids: list[str]) -> dict[str, object]:
    """name -> a function giving the next URL (the rotation of bench/load.py, plus uncached matchmaking)."""
    n = iter(range(10**9))
    return {
        "home": lambda: "/",
        "registry": lambda: "/registry",
        "catalog search": lambda: f"/api/catalog/search?q={random.choice(WORDS)}&limit=25",
        "dataset GET": lambda: "/api/v3/datasets/" + quote(random.choice(pids), safe=""),
        "match (load bench questions)": lambda: "/match?question=" + quote(random.choice(QUESTIONS)),
        "match (new question each time)": lambda: (
            "/match?question="
            + quote(f"{random.choice(NEW_WORDS)} {random.choice(WORDS)} structure sample {next(n)}")
        ),
    }


def run(kind: str, repeat: int, profile: Path | None) -> list[tuple[str, str, float, float | None]]:
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from halric.accounts import service as accounts
    from halric.accounts.schemas import NewUser
    from halric.core.actor import system_actor
    from halric.core.db import Database
    from halric.core.settings import Settings
    from halric.migrations import upgrade
    from halric.registry.loader import load_into
    from halric.web.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix=f"halric-cpu-{kind}-"))
    url, pg_name = make_database(kind, tmp)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "halric-bench"
    cache.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, str, float, float | None]] = []
    try:
        settings = Settings(
            data_dir=tmp, database_url=url, secret_key="bench-" + uuid.uuid4().hex, cache_dir=cache
        )  # fmt: skip
        upgrade(settings.db_url)
        db = Database(settings.db_url)
        load_into(db)
        with db.session() as s:
            user = accounts.create_user(
                s, system_actor("bench"),
                NewUser(username="bench", email="bench@example.org", password="bench-password-123",
                        roles=["applicant"], groups=[GROUP]),
            )  # fmt: skip
            token, _ = accounts.create_api_token(s, system_actor("bench"), user, "bench")
        app = create_app(settings, database=db)
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda c, cur, sql, *a: statements.append(sql))
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(app) as c:
            pids = [
                c.post("/api/v3/datasets", json=dataset_body(n, published=True), headers=headers).json()[
                    "pid"
                ]
                for n in range(200)
            ]
            for name, next_url in pages(pids).items():
                for q in QUESTIONS if name.startswith("match (load") else [None]:
                    c.get(next_url() if q is None else "/match?question=" + quote(q))  # warm
                prof = cProfile.Profile() if profile else None
                statements.clear()
                start = time.process_time()
                if prof:
                    prof.enable()
                for _ in range(repeat):
                    r = c.get(next_url())
                    assert r.status_code == 200, (name, r.status_code, r.text[:300])
                if prof:
                    prof.disable()
                    prof.dump_stats(
                        profile / f"{kind}-{name.split()[0]}{'-new' if 'new' in name else ''}.prof"
                    )
                out.append(
                    (kind, name, (time.process_time() - start) / repeat * 1000, len(statements) / repeat)
                )
                if os.environ.get("HALRIC_BENCH_SQL"):  # the statements of the last request of each page
                    print(
                        f"-- {kind} {name}",
                        *statements[-int(len(statements) / repeat) :],
                        sep="\n",
                        file=sys.stderr,
                    )
            statements.clear()
            start = time.process_time()
            prof = cProfile.Profile() if profile else None
            if prof:
                prof.enable()
            for n in range(repeat):
                r = c.post("/api/v3/datasets", json=dataset_body(10000 + n, published=False), headers=headers)
                assert r.status_code == 201, r.text[:300]
            if prof:
                prof.disable()
                prof.dump_stats(profile / f"{kind}-write.prof")
            out.append((kind, "write: POST /api/v3/datasets", (time.process_time() - start) / repeat * 1000,
                        len(statements) / repeat))  # fmt: skip
        rotation = [row for row in out if row[0] == kind and not row[1].startswith(("write", "match (new"))]
        out.append((kind, "read rotation, mean", sum(r[2] for r in rotation) / len(rotation),
                    sum(r[3] or 0 for r in rotation) / len(rotation)))  # fmt: skip
        db.dispose()
    finally:
        drop_database(pg_name)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", nargs="+", default=["sqlite", "postgresql"], choices=["postgresql", "sqlite"])
    ap.add_argument("--repeat", type=int, default=40, help="requests per page")
    ap.add_argument("--profile", type=Path, help="write a cProfile file per page into this directory")
    args = ap.parse_args()
    os.environ.setdefault("HALRIC_CATALOG_PID_PREFIX", "PID.bench")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    rows = [row for kind in args.db for row in run(kind, args.repeat, args.profile)]
    print("| Database | Request | CPU ms per request | SQL statements per request |\n|---|---|---|---|")
    for kind, name, ms, sql in rows:
        print(f"| {kind} | {name} | {ms:.1f} | {sql:.1f} |")


if __name__ == "__main__":
    main()
