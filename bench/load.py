"""Load benchmark: mixed reads and concurrent writers against a real ``halric serve``.

    python bench/load.py [--db postgresql sqlite] [--users 50] [--duration 60] [--writers 20]
                         [--writes 50] [--pg-workers 2] [--sqlite-workers 1] [--halric PATH]

For each database: a throw-away database (PostgreSQL: a new database on 127.0.0.1:5432, dropped at the
end; SQLite: a temporary file), ``halric db upgrade``, ``halric registry load``, one user with a group and
an API token, 200 published datasets posted through the SciCat API; then ``halric serve --workers N`` on a
free port (PostgreSQL: ``--pg-workers``, SQLite: ``--sqlite-workers``) and, with httpx's async client:

* reads: ``--users`` anonymous users, each asking for the next page of a rotation (home, registry,
  catalog search, a dataset by pid over the SciCat API, matchmaking), for ``--duration`` seconds;
  ``/healthz`` is timed once a second alongside. Once for each ``--think`` value (milliseconds; default
  ``200 0``): a user pauses a random time between 0 and twice that value after each answer before asking
  for the next page (200: a busy user, about four pages a second, so that 50 users offer the 150 requests
  a second of the target), and 0 asks again the moment the answer came: the hub's saturation throughput,
  where the latency is the queue of all ``--users`` requests (mean latency = users ÷ throughput);
* writes: ``--writers`` writers each posting ``--writes`` new datasets one after another (no pid: the hub
  makes one), then the stored datasets are counted: every acknowledged write must be stored exactly once.

``--client wrk`` (the default when ``wrk`` is on the PATH: Debian's package ``wrk``) generates the same
load with wrk, a C load generator, instead of httpx: ``--users`` connections asking for the rotation's
pages one after another, and ``--writers`` connections posting new datasets for ``--write-duration``
seconds (the count of 201 answers is then checked against the stored datasets). httpx spends several
milliseconds of CPU per request, about as much as the hub, on the same two cores; wrk a few microseconds,
so the hub gets the machine. wrk reports latency over all reads (not per page) and ``/healthz`` is timed
once a second from a thread beside it.

Prints one Markdown table (req/s, p50/p95/p99/max in ms, errors). ``--halric`` runs another
installation's ``halric`` (e.g. an older checkout) to compare. Not a test: it prints figures and asserts
nothing; the load generator runs on the same machine as the hub, so it takes CPU from it. The CPU time
each page of the rotation costs, which a loaded machine hardly distorts, is what ``bench/request_cpu.py``
prints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PG_ADMIN_DSN = os.environ.get("HALRIC_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
GROUP = "benchgroup"
TIMEOUT = 30.0
WORDS = [
    "protein",
    "crystal",
    "perovskite",
    "battery",
    "catalyst",
    "zeolite",
    "graphene",
    "polymer",
    "alloy",
    "magnet",
    "enzyme",
]
QUESTIONS = [
    "crystal structure of a protein at high resolution",
    "residual stress in a welded steel part",
    "lithium distribution in a battery electrode during cycling",
    "magnetic order in a thin film",
]


@dataclass
class Tally:
    """Latencies (seconds) and errors of one kind of request."""

    times: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    def add(self, seconds: float, ok: bool, what: str) -> None:
        self.times.append(seconds)
        if not ok:
            self.errors += 1
            self.statuses[what] = self.statuses.get(what, 0) + 1


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- set-up -------------------------------------------------------------------------------------------


def make_database(kind: str, tmp: Path) -> tuple[str, str | None]:
    """(url, PostgreSQL database name to drop)."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'halric.db'}", None
    import psycopg

    name = f"halric_bench_load_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    url = f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{name}"
    return url, name


def drop_database(name: str | None) -> None:
    if name is None:
        return
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def halric(exe: str, env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [exe, *args], env=env, input=stdin, capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        raise SystemExit(f"halric {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def prepare(exe: str, env: dict[str, str]) -> str:
    """Schema, registry, a user in GROUP; returns the user's API token."""
    halric(exe, env, "db", "upgrade")
    halric(exe, env, "registry", "load")
    halric(exe, env, "user", "add", "bench", "--email", "bench@example.org", "--group", GROUP,
           "--password-stdin", stdin="bench-password-123\n")  # fmt: skip
    return halric(exe, env, "token", "create", "bench").strip().splitlines()[-1]


def dataset_body(n: int, *, published: bool) -> dict[str, Any]:
    words = " ".join(random.sample(WORDS, 3))
    # letters around the hex: a name that began or ended with ten digits forming a valid date and check digit
    # would be refused as a Swedish personnummer (the privacy guard), about one write in several thousand
    return {
        "type": "raw", "ownerGroup": GROUP, "owner": "Bench", "contactEmail": "bench@example.org",
        "sourceFolder": f"/data/bench/ds{uuid.uuid4().hex}z", "creationTime": "2026-11-02T10:00:00Z",
        "datasetName": f"{words} run {n}", "description": f"Bench dataset {n}: {words}",
        "isPublished": published, "keywords": words.split(), "scientificMetadata": {"run": {"value": n}},
    }  # fmt: skip


def process_cpu(pid: int | str, *, children: bool = False, named: str | None = None) -> float:
    """CPU seconds of one process so far (with ``children``: also of its ended, waited-for children);
    0 when it is gone or, with ``named``, has another name."""
    try:
        head, rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return 0.0
    if named is not None and not head.endswith(f"({named}"):
        return 0.0
    f = rest.split()
    ticks = int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if children else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float, float]:
    """(PostgreSQL's CPU seconds, the machine's busy seconds, its idle seconds) so far: where the cores
    went during a run, beside the hub's own share."""
    pg = 0.0
    for d in Path("/proc").iterdir():
        # its own time, and (the postmaster) that of its ended children
        pg += process_cpu(d.name, children=True, named="postgres") if d.name.isdigit() else 0.0
    tick = os.sysconf("SC_CLK_TCK")
    cpu = [int(x) / tick for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = cpu[3] + cpu[4]
    return pg, sum(cpu) - idle, idle


def cpu_note(before: tuple[float, float, float], n: int) -> str:
    pg, busy, idle = (b - a for a, b in zip(before, machine_cpu(), strict=True))
    return f"PostgreSQL CPU {pg / max(1, n) * 1000:.1f} ms each; machine {busy / max(1e-9, busy + idle):.0%} busy"


def _created(r: httpx.Response) -> str:
    """The pid of a dataset the hub stored; the hub's own words when it refused."""
    if r.status_code != 201:
        raise SystemExit(f"POST /api/v3/datasets answered {r.status_code}: {r.text[:300]}")
    return r.json()["pid"]


class Hub:
    """``halric serve`` in a subprocess."""

    def __init__(self, exe: str, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [exe, "serve", "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit("the hub did not start: " + log.read_text()[-2000:])

    def cpu_seconds(self) -> float:
        """CPU time used so far by the server and its worker processes."""
        total, todo = 0.0, [self.proc.pid]
        while todo:
            pid = todo.pop()
            total += process_cpu(pid)
            try:
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total

    def settle(self, *, idle: float = 0.05, limit: float = 180.0) -> float:
        """Wait until the server's processes use less than ``idle`` of a core for two seconds running
        (each worker loads matchmaking in a thread after it starts; a load begun meanwhile would find one
        worker busy and leave it fewer of the kept-alive connections for the whole run). Seconds waited."""
        started = time.monotonic()
        quiet = 0
        while quiet < 2 and time.monotonic() - started < limit:
            before = self.cpu_seconds()
            time.sleep(1.0)
            quiet = quiet + 1 if self.cpu_seconds() - before < idle else 0
        return time.monotonic() - started

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


# --- load ---------------------------------------------------------------------------------------------


def read_urls(pids: list[str]) -> dict[str, Any]:
    from urllib.parse import quote

    return {
        "home": lambda: "/",
        "registry": lambda: "/registry",
        "catalog search": lambda: f"/api/catalog/search?q={random.choice(WORDS)}&limit=25",
        "dataset GET": lambda: "/api/v3/datasets/" + quote(random.choice(pids), safe=""),
        "match": lambda: "/match?question=" + quote(random.choice(QUESTIONS)),
    }


async def health_probe(client: httpx.AsyncClient, stop: asyncio.Event, tally: Tally) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        try:
            r = await client.get("/healthz", timeout=TIMEOUT)
            tally.add(time.perf_counter() - start, r.status_code == 200, str(r.status_code))
        except httpx.HTTPError as exc:
            tally.add(time.perf_counter() - start, False, type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def reads(
    base: str, pids: list[str], users: int, duration: float, think_ms: float = 0.0
) -> tuple[dict[str, Tally], float]:
    kinds = read_urls(pids)
    tallies = {k: Tally() for k in kinds}
    health = Tally()
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=users + 2, max_keepalive_connections=users + 2)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=TIMEOUT) as client:

        async def user(i: int) -> None:
            names = list(kinds)
            n = i
            while not stop.is_set():
                name = names[n % len(names)]
                n += 1
                start = time.perf_counter()
                try:
                    r = await client.get(kinds[name]())
                    tallies[name].add(time.perf_counter() - start, r.status_code == 200, str(r.status_code))
                except httpx.HTTPError as exc:
                    tallies[name].add(time.perf_counter() - start, False, type(exc).__name__)
                if think_ms:
                    await asyncio.sleep(random.uniform(0, 2 * think_ms) / 1000)

        probe = asyncio.create_task(health_probe(client, stop, health))
        started = time.perf_counter()
        tasks = [asyncio.create_task(user(i)) for i in range(users)]
        await asyncio.sleep(duration)
        stop.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
        await probe
    tallies["/healthz (1/s)"] = health
    return tallies, elapsed


async def writes(base: str, token: str, writers: int, per_writer: int) -> tuple[Tally, float, Tally]:
    tally, health = Tally(), Tally()
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=writers + 2, max_keepalive_connections=writers + 2)
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=TIMEOUT, headers=headers) as client:

        async def writer(w: int) -> None:
            for i in range(per_writer):
                start = time.perf_counter()
                try:
                    r = await client.post(
                        "/api/v3/datasets", json=dataset_body(w * 10000 + i, published=False)
                    )
                    tally.add(time.perf_counter() - start, r.status_code == 201, str(r.status_code))
                except httpx.HTTPError as exc:
                    tally.add(time.perf_counter() - start, False, type(exc).__name__)

        probe = asyncio.create_task(health_probe(client, stop, health))
        started = time.perf_counter()
        await asyncio.gather(*(writer(w) for w in range(writers)))
        elapsed = time.perf_counter() - started
        stop.set()
        await probe
    return tally, elapsed, health


def count_datasets(base: str, token: str) -> int:
    for _ in range(10):  # a hub still busy with the previous load answers 503: ask again
        r = httpx.get(
            base + "/api/v3/datasets/count",
            params={"where": '{"isPublished": false}'},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        if r.status_code != 503:
            break
        time.sleep(5)
    r.raise_for_status()
    return int(r.json()["count"])


# --- the same load from wrk ---------------------------------------------------------------------------

WRK_LUA = """
local threads = {}
function setup(thread) thread:set("id", #threads) table.insert(threads, thread) end
function init(args) counter = id * 7919 ok = 0 bad = 0 end
function response(status, headers, body)
  if status == OK_STATUS then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local good, wrong = 0, 0
  for _, t in ipairs(threads) do good = good + t:get("ok") wrong = wrong + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f p50=%.3f p95=%.3f p99=%.3f max=%.3f ok=%d bad=%d sockerr=%d\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, good, wrong, e.connect + e.read + e.write + e.timeout))
end
"""


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of ASCII is a valid Lua string literal


def wrk_read_script(pids: list[str], think_ms: float = 0.0) -> str:
    """Lua for wrk: each connection walks the rotation of :func:`read_urls` (fixed pages, rotating words,
    pids and questions), pausing a random 0 to 2 × ``think_ms`` milliseconds before each request (wrk's
    ``delay``; the pause is not part of the latency wrk measures)."""
    from urllib.parse import quote

    paths: list[str] = []
    for i in range(max(len(pids), 60)):
        paths += ["/", "/registry", f"/api/catalog/search?q={WORDS[i % len(WORDS)]}&limit=25",
                  "/api/v3/datasets/" + quote(pids[i % len(pids)], safe=""),
                  "/match?question=" + quote(QUESTIONS[i % len(QUESTIONS)])]  # fmt: skip
    return (
        "paths = {"
        + ",".join(_lua_string(p) for p in paths)
        + "}\n"
        + WRK_LUA.replace("OK_STATUS", "200")
        + "function request() counter = counter + 1 "
        "return wrk.format('GET', paths[(counter % #paths) + 1]) end\n"
        + (f"function delay() return math.random(0, {round(2 * think_ms)}) end\n" if think_ms else "")
    )


def wrk_write_script(token: str) -> str:
    """Lua for wrk: each request posts a new private dataset (no pid: the hub makes one)."""
    body = (
        json.dumps(dataset_body(0, published=False))
        .replace("run 0", "run RUN")
        .replace("/data/bench/", "/data/bench/RUN-")
    )
    return (
        WRK_LUA.replace("OK_STATUS", "201")
        + f"template = {_lua_string(body)}\n"
        + "function request() counter = counter + 1 "
        "local b = string.gsub(template, 'RUN', id .. '-' .. counter) "
        "return wrk.format('POST', '/api/v3/datasets', "
        f"{{['Content-Type'] = 'application/json', ['Authorization'] = 'Bearer {token}'}}, b) end\n"
    )


def run_wrk(
    base: str, script: str, connections: int, duration: float, tmp: Path
) -> tuple[dict[str, float], Tally]:
    """wrk with this script for ``duration`` seconds; /healthz timed once a second from a thread."""
    lua = tmp / f"wrk-{uuid.uuid4().hex[:6]}.lua"
    lua.write_text(script)
    health, stop = Tally(), threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=base, timeout=TIMEOUT) as c:
            while not stop.wait(1.0):
                start = time.perf_counter()
                try:
                    r = c.get("/healthz")
                    health.add(time.perf_counter() - start, r.status_code == 200, str(r.status_code))
                except httpx.HTTPError as exc:
                    health.add(time.perf_counter() - start, False, type(exc).__name__)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    try:
        done = subprocess.run(
            ["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration:.0f}s", "--timeout", f"{TIMEOUT:.0f}s",
             "-s", str(lua), base],
            capture_output=True, text=True, check=False, timeout=duration + 120,
        )  # fmt: skip
    finally:
        stop.set()
        thread.join()
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no result: {done.stdout[-500:]} {done.stderr[-500:]}")
    return {k: float(v) for k, v in (f.split("=") for f in line.split()[1:])}, health


def wrk_row(label: str, what: str, clients: int, r: dict[str, float], rate: float, note: str) -> list[str]:
    errors = int(r["bad"] + r["sockerr"])
    detail = f" (non-2xx {int(r['bad'])}, socket {int(r['sockerr'])})" if errors else ""
    return [label, what, str(clients), str(int(r["requests"])), f"{rate:.1f}", f"{r['p50']:.0f}",
            f"{r['p95']:.0f}", f"{r['p99']:.0f}", f"{r['max']:.0f}", f"{errors}{detail}", note]  # fmt: skip


# --- one database ---------------------------------------------------------------------------------------


def run_one(kind: str, args: argparse.Namespace) -> list[list[str]]:
    rows: list[list[str]] = []
    workers = args.pg_workers if kind == "postgresql" else args.sqlite_workers
    tmp = Path(tempfile.mkdtemp(prefix=f"halric-load-{kind}-"))
    url, pg_name = make_database(kind, tmp)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "halric-bench"
    cache.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ, "HALRIC_DATA_DIR": str(tmp), "HALRIC_DATABASE_URL": url, "HALRIC_CACHE_DIR": str(cache),
        "HALRIC_SECRET_KEY": "bench-" + uuid.uuid4().hex, "HALRIC_CATALOG_PID_PREFIX": "PID.bench",
    }  # fmt: skip
    hub = None
    try:
        token = prepare(args.halric, env)
        hub = Hub(args.halric, env, workers, tmp / "server.log")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=hub.base, headers=headers, timeout=60) as c:
            pids = [
                _created(c.post("/api/v3/datasets", json=dataset_body(n, published=True))) for n in range(200)
            ]
            warm = ["/", "/registry", "/api/catalog/search?q=crystal"]
            if "reads" in args.only:  # the matchmaking model in each worker (first time: its index too)
                warm += ["/match?question=crystal"] * 2 * workers
            for path in warm:
                c.get(path, timeout=900)
        hub.settle()
        label = f"{kind}, {workers} worker{'s' if workers > 1 else ''}"
        for think in args.think if "reads" in args.only else []:
            rows += read_rows(label, hub, pids, think, args)
        if "writes" in args.only and args.client == "wrk":
            print(f"[{label}] writes (wrk): {args.writers} connections for {args.write_duration:.0f} s ...",
                  file=sys.stderr)  # fmt: skip
            before = count_datasets(hub.base, token)
            cpu, machine = hub.cpu_seconds(), machine_cpu()
            r, health = run_wrk(hub.base, wrk_write_script(token), args.writers, args.write_duration, tmp)
            cpu = hub.cpu_seconds() - cpu
            usage = cpu_note(machine, int(r["ok"]))
            stored = count_datasets(hub.base, token) - before
            acked = int(r["ok"])
            in_flight = "ok" if acked <= stored <= acked + args.writers else "MISMATCH"
            note = (
                f"acknowledged {acked}, stored {stored} (wrk drops up to {args.writers} answers in flight "
                f"when it stops: {in_flight}); hub CPU {cpu / max(1, acked) * 1000:.1f} ms/write, "
                f"{cpu / r['seconds']:.2f} cores; {usage}"
            )
            rows.append(
                wrk_row(
                    label, "writes (wrk): POST /api/v3/datasets", args.writers, r, acked / r["seconds"], note
                )
            )
            rows.append(_row(label, "writes: /healthz (1/s)", 1, health, len(health.times) / r["seconds"]))
        elif "writes" in args.only:
            n_writers = args.writers
            print(f"[{label}] writes: {n_writers} x {args.writes} ...", file=sys.stderr)
            before = count_datasets(hub.base, token)
            cpu, machine = hub.cpu_seconds(), machine_cpu()
            tally, elapsed, health = asyncio.run(writes(hub.base, token, n_writers, args.writes))
            cpu = hub.cpu_seconds() - cpu
            acked = len(tally.times) - tally.errors
            usage = cpu_note(machine, acked)
            stored = count_datasets(hub.base, token) - before
            rows.append(_row(label, "writes: POST /api/v3/datasets", n_writers, tally, acked / elapsed,
                             note=f"acknowledged {acked}, stored {stored}; hub CPU {cpu / max(1, acked) * 1000:.1f} ms/write; {usage}"))  # fmt: skip
            rows.append(_row(label, "writes: /healthz (1/s)", 1, health, len(health.times) / elapsed))
    finally:
        if hub is not None:
            hub.stop()
            errors = [
                ln
                for ln in (tmp / "server.log").read_text().splitlines()
                if "Traceback" in ln or " 500 " in ln
            ]
            if errors:
                print(
                    f"[{kind}] server log has {len(errors)} error lines: {tmp / 'server.log'}",
                    file=sys.stderr,
                )
        drop_database(pg_name)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return rows


def read_verdict(rate: float, p95: float, errors: int) -> str:
    """The issue's read target: at least 150 answers a second with p95 at most 150 ms and no error."""
    met = rate >= 150 and p95 <= 150 and errors == 0
    return f"target ≥ 150 req/s, p95 ≤ 150 ms, 0 errors: {'PASS' if met else 'MISS'}"


def read_rows(
    label: str, hub: Hub, pids: list[str], think: float, args: argparse.Namespace
) -> list[list[str]]:
    """One read load against ``hub``: users pausing about ``think`` ms between pages (0: no pause)."""
    how = f"pausing 0–{2 * think:.0f} ms" if think else "no pause (saturation)"
    rows: list[list[str]] = []
    if args.client == "wrk":
        print(
            f"[{label}] reads (wrk): {args.users} connections, {how}, {args.duration:.0f} s ...",
            file=sys.stderr,
        )
        cpu, machine = hub.cpu_seconds(), machine_cpu()
        r, health = run_wrk(
            hub.base, wrk_read_script(pids, think), args.users, args.duration, Path(hub.log.name).parent
        )
        cpu = hub.cpu_seconds() - cpu
        rate = r["requests"] / r["seconds"]
        note = (f"hub CPU {cpu / max(1, r['requests']) * 1000:.1f} ms/request, {cpu / r['seconds']:.2f} cores; "
                f"{cpu_note(machine, r['requests'])}")  # fmt: skip
        if think:
            note = read_verdict(rate, r["p95"], int(r["bad"] + r["sockerr"])) + "; " + note
        rows.append(wrk_row(label, f"reads (wrk), {how}: all reads", args.users, r, rate, note))
        rows.append(_row(label, "reads: /healthz (1/s)", 1, health, len(health.times) / r["seconds"]))
        return rows
    print(f"[{label}] reads: {args.users} users, {how}, {args.duration:.0f} s ...", file=sys.stderr)
    cpu = hub.cpu_seconds()
    tallies, elapsed = asyncio.run(reads(hub.base, pids, args.users, args.duration, think))
    cpu = hub.cpu_seconds() - cpu
    everything = Tally()
    for name, t in tallies.items():
        if not name.startswith("/healthz"):
            everything.times += t.times
            everything.errors += t.errors
    n = len(everything.times)
    note = f"hub CPU {cpu / max(1, n) * 1000:.1f} ms/request"
    if think:
        note = read_verdict(n / elapsed, pct(everything.times, 95), everything.errors) + "; " + note
    rows.append(_row(label, f"reads, {how}: all reads", args.users, everything, n / elapsed, note=note))
    for name, t in tallies.items():
        rows.append(_row(label, f"reads: {name}", args.users, t, len(t.times) / elapsed))
    return rows


def _row(label: str, what: str, clients: int, t: Tally, rate: float, note: str = "") -> list[str]:
    errs = str(t.errors) + (
        f" ({', '.join(f'{k}: {v}' for k, v in sorted(t.statuses.items()))})" if t.statuses else ""
    )
    return [label, what, str(clients), str(len(t.times)), f"{rate:.1f}",
            f"{statistics.median(t.times) * 1000:.0f}" if t.times else "-",
            f"{pct(t.times, 95):.0f}", f"{pct(t.times, 99):.0f}",
            f"{max(t.times) * 1000:.0f}" if t.times else "-", errs, note]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", nargs="+", default=["postgresql", "sqlite"], choices=["postgresql", "sqlite"])
    ap.add_argument("--only", nargs="+", default=["reads", "writes"], choices=["reads", "writes"])
    ap.add_argument("--users", type=int, default=50, help="concurrent readers")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of reading (for each --think)")
    ap.add_argument("--think", type=float, nargs="+", default=[200.0, 0.0],
                    help="mean pause of a reader between pages, ms (uniform 0 to twice this); 0: no pause")  # fmt: skip
    ap.add_argument("--writers", type=int, default=20, help="concurrent writers")
    ap.add_argument("--writes", type=int, default=50, help="datasets each writer posts")
    ap.add_argument("--write-duration", type=float, default=20.0, help="seconds of writing (wrk only)")
    ap.add_argument("--client", choices=["wrk", "httpx"], default="wrk" if shutil.which("wrk") else "httpx",
                    help="load generator (default: wrk when it is installed)")  # fmt: skip
    ap.add_argument("--pg-workers", type=int, default=2)
    ap.add_argument("--sqlite-workers", type=int, default=1)
    ap.add_argument("--halric", default=shutil.which("halric") or str(Path(sys.executable).parent / "halric"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directory (server log)")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the hub and drop the database on kill
    rows: list[list[str]] = []
    load_before = os.getloadavg()[0]
    for kind in args.db:
        rows += run_one(kind, args)
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "unknown CPU")  # fmt: skip
    print(f"Machine: {os.cpu_count()} CPUs ({cpu}); load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after (load generator {args.client} on the same machine).\n")  # fmt: skip
    head = [
        "hub",
        "load",
        "clients",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "errors",
        "note",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
