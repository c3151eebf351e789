"""Federated search benchmark: what the fan-out adds on top of the slowest site, as p50/p95 in one run.

    python bench/federation.py [--datasets 500] [--queries 200] [--workdir DIR]

Starts four real hub processes (`halric serve`, SQLite, each seeded with --datasets public datasets through
the catalog service) and a federating hub database with the four registered as live sites. Then, for each
query word, it measures:

- bare: the four sites' catalog searches asked concurrently with one plain httpx client (the floor);
- federated: `halric.federation.search.search` (what `halric search --federated` runs: planning from the
  database, fan-out with per-site timeouts, merging, scoring, de-duplication, health bookkeeping), without
  the hub's own catalog; its overhead is its wall time minus the slowest site's answer time measured in
  the same call;
- served: GET /api/federation/search on a fifth process serving the federating hub (over HTTP, as a
  browser or script sees it), minus the slowest site's time in that answer;
- the same with one site replaced by a stand-in that answers after 150 ms (the slowest site dominates).

Prints a Markdown table. Not a test: it asserts nothing. Target: overhead p95 <= 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
WORDS = ["lysozyme", "insulin", "ferritin", "bone", "cartilage", "catalyst", "zeolite", "perovskite", "graphene",
         "membrane", "ribosome", "collagen", "cellulose", "battery", "cement", "enamel", "keratin", "myoglobin"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed_site(url: str, n: int, name: str) -> None:
    from halric.catalog import service as catalog
    from halric.core.actor import Actor
    from halric.core.db import Database
    from halric.migrations import upgrade

    upgrade(url)
    db = Database(url)
    who = Actor(user_id=1, username="bench", groups=frozenset({"bench"}), via="api")
    rnd = random.Random(name)
    with db.session() as s:
        for i in range(n):
            words = rnd.sample(WORDS, 3)
            catalog.create_dataset(s, who, {
                "datasetName": f"{words[0]} {words[1]} run {i} at {name}", "type": "raw", "ownerGroup": "bench",
                "owner": "bench", "contactEmail": "b@example.org", "sourceFolder": f"/d/{i}",
                "creationTime": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z", "isPublished": True,
                "keywords": words, "description": f"{words[2]} measured at {name}",
            })  # fmt: skip
    db.dispose()


def serve(data: Path, url: str, port: int, secret: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HALRIC_DATA_DIR": str(data),
        "HALRIC_DATABASE_URL": url,
        "HALRIC_SECRET_KEY": secret,
    }
    log = (data / "server.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "halric.cli.main", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=log)  # fmt: skip


def wait_up(base: str) -> None:
    import httpx

    for _ in range(300):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{base} did not start")


def pct(values: list[float], p: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


async def bare(bases: list[str], word: str, client: Any) -> float:
    async def one(b: str) -> None:
        r = await client.get(b + "/api/catalog/search", params={"q": word, "limit": 25, "published": "true"})
        r.raise_for_status()

    t0 = time.perf_counter()
    await asyncio.gather(*(one(b) for b in bases))
    return (time.perf_counter() - t0) * 1000


def run(args: argparse.Namespace) -> list[tuple[str, dict[str, float]]]:
    import httpx

    from halric.core.actor import ANONYMOUS, system_actor
    from halric.core.db import Database
    from halric.federation import search as federated
    from halric.federation import service
    from halric.federation.crypto import TokenBox
    from halric.migrations import upgrade

    work = Path(args.workdir or tempfile.mkdtemp(prefix="halric-bench-fed-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        bases = []
        for i in range(4):
            data = work / f"site{i}"
            data.mkdir(parents=True)
            url = f"sqlite:///{data / 'halric.db'}"
            seed_site(url, args.datasets, f"site{i}")
            port = free_port()
            procs.append(serve(data, url, port, uuid.uuid4().hex))
            bases.append(f"http://127.0.0.1:{port}")
        slow_port = free_port()
        procs.append(subprocess.Popen([sys.executable, str(ROOT / "tests/federation/slow_site.py"), str(slow_port), "0.15"],
                                      stdout=subprocess.DEVNULL))  # fmt: skip
        hub_data = work / "hub"
        hub_data.mkdir()
        hub_url = f"sqlite:///{hub_data / 'halric.db'}"
        upgrade(hub_url)
        secret = uuid.uuid4().hex
        box = TokenBox(secret)
        db = Database(hub_url)
        with db.session() as s:
            for i, b in enumerate(bases):
                service.add_site(
                    s,
                    system_actor("bench"),
                    box,
                    service.validate({"name": f"site{i}", "url": b, "kind": "hub", "timeout": 5}),
                )
            slow = service.validate(
                {
                    "name": "slow",
                    "url": f"http://127.0.0.1:{slow_port}",
                    "kind": "hub",
                    "timeout": 5,
                    "enabled": False,
                }
            )
            service.add_site(s, system_actor("bench"), box, slow)
        hub_port = free_port()
        procs.append(serve(hub_data, hub_url, hub_port, secret))
        hub = f"http://127.0.0.1:{hub_port}"
        for b in [*bases, hub]:
            wait_up(b)
        words = [WORDS[i % len(WORDS)] for i in range(args.queries)]
        rows: list[tuple[str, dict[str, float]]] = []

        def measure(label: str, sites: list[str]) -> None:
            async def bare_all() -> list[float]:
                async with httpx.AsyncClient() as c:
                    urls = [
                        bases[int(n[-1])] if n != "slow" else f"http://127.0.0.1:{slow_port}" for n in sites
                    ]
                    for w in words[:10]:
                        await bare(urls, w, c)  # warm up
                    return [await bare(urls, w, c) for w in words]

            floor = asyncio.run(bare_all())
            fed_total, fed_over = [], []
            for w in words[:5]:
                federated.search(db, ANONYMOUS, box, w, include_local=False, sites=sites)
            for w in words:
                t0 = time.perf_counter()
                res = federated.search(db, ANONYMOUS, box, w, include_local=False, sites=sites)
                total = (time.perf_counter() - t0) * 1000
                assert all(x["status"] == "ok" for x in res["sites"]), res["sites"]
                fed_total.append(total)
                fed_over.append(total - max(x["elapsed_ms"] for x in res["sites"]))
            srv_total, srv_over = [], []
            with httpx.Client() as c:
                for w in words:
                    t0 = time.perf_counter()
                    r = c.get(hub + "/api/federation/search", params={"q": w, "local": "false"})
                    total = (time.perf_counter() - t0) * 1000
                    body = r.json()
                    mine = [x for x in body["sites"] if x["name"] in sites]
                    srv_total.append(total)
                    srv_over.append(total - max(x["elapsed_ms"] for x in mine))
            rows.append((label, {
                "bare p50": statistics.median(floor), "bare p95": pct(floor, 95),
                "fed p50": statistics.median(fed_total), "fed p95": pct(fed_total, 95),
                "fed overhead p50": statistics.median(fed_over), "fed overhead p95": pct(fed_over, 95),
                "served p50": statistics.median(srv_total), "served p95": pct(srv_total, 95),
                "served overhead p50": statistics.median(srv_over), "served overhead p95": pct(srv_over, 95),
            }))  # fmt: skip

        measure("4 hub sites", [f"site{i}" for i in range(4)])
        with db.session() as s:
            service.get_site(s, "slow").enabled = True
            service.get_site(s, "site3").enabled = False
        measure("3 hub sites + 1 answering in 150 ms", ["site0", "site1", "site2", "slow"])
        db.dispose()
        return rows
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", type=int, default=500, help="public datasets per site")
    ap.add_argument("--queries", type=int, default=200, help="queries per measurement")
    ap.add_argument("--workdir", help="keep the sites' data here")
    args = ap.parse_args()
    rows = run(args)
    print(f"\nFederated search, {args.datasets} datasets per site, {args.queries} queries, milliseconds\n")
    print(
        "| sites | bare fan-out p50 / p95 | federated p50 / p95 | overhead p50 / p95 | served p50 / p95 | served overhead p50 / p95 |"
    )
    print("|---|---|---|---|---|---|")
    for label, m in rows:
        print(f"| {label} | {m['bare p50']:.1f} / {m['bare p95']:.1f} | {m['fed p50']:.1f} / {m['fed p95']:.1f} | "
              f"{m['fed overhead p50']:.1f} / {m['fed overhead p95']:.1f} | {m['served p50']:.1f} / {m['served p95']:.1f} | "
              f"{m['served overhead p50']:.1f} / {m['served overhead p95']:.1f} |")  # fmt: skip
    worst = max(max(m["fed overhead p95"], m["served overhead p95"]) for _, m in rows)
    print(f"\nTarget: overhead p95 <= 30 ms; worst measured {worst:.1f} ms.")


if __name__ == "__main__":
    main()
