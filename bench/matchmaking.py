"""Matchmaking benchmark: quality per language and speed, for the combined method and two baselines.

    python bench/matchmaking.py [--repeat N] [--quick]

One run, side by side, for lexical-only, embeddings-only and combined:

- quality per language (sv, da, de, no = nb + nn, en) and overall on the hub's own multilingual
  development questions (bench/data/matchmaking-multilingual-dev.jsonl), on the held-out questions
  written at the same time and never used to tune the vocabulary (…-heldout.jsonl), and on the shared
  English development set (../shared/eval/matchmaking-dev.jsonl, when present): hit@1, hit@3, loc@3;
- per-question latency p50/p95 in batch mode (after start-up, over N passes);
- cold start: wall time of a fresh `halric match "QUESTION"` process with the prepared cache (what a
  person at the shell waits), and, for the default method, the first web answer after the server
  process starts (what `make run` shows), both after `halric init` has prepared matchmaking;
- the one-time preparation itself (index + passage embeddings, as `halric init` does it on a machine
  whose shared embedding cache is empty).

Scoring follows ../shared/eval/score_matchmaking.py (imported when present). Builds a throw-away SQLite
hub with the shipped registry. Prints Markdown tables; asserts nothing. Timing on a shared machine is
noisy: compare methods within one run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
# shared/ sits beside the checkout (../shared), or two levels up for a worktree under wt/
SHARED = next((p / "shared" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared" / "eval").is_dir()),
              ROOT.parent / "shared")  # fmt: skip
SETS = {
    "dev": DATA / "matchmaking-multilingual-dev.jsonl",
    "held-out": DATA / "matchmaking-multilingual-heldout.jsonl",
    "held-out-2": DATA / "matchmaking-multilingual-heldout2.jsonl",
    "held-out-3": DATA / "matchmaking-multilingual-heldout3.jsonl",
    "held-out-4": DATA / "matchmaking-multilingual-heldout4.jsonl",
    "held-out-5": DATA / "matchmaking-multilingual-heldout5.jsonl",
    "held-out-6": DATA / "matchmaking-multilingual-heldout6.jsonl",
    "held-out-7": DATA / "matchmaking-multilingual-heldout7.jsonl",
    "held-out-8": DATA / "matchmaking-multilingual-heldout8.jsonl",
    "held-out-9": DATA / "matchmaking-multilingual-heldout9.jsonl",
    "held-out-10": DATA / "matchmaking-multilingual-heldout10.jsonl",
    "held-out-11": DATA / "matchmaking-multilingual-heldout11.jsonl",
    "held-out-12": DATA / "matchmaking-multilingual-heldout12.jsonl",
    "held-out-13": DATA / "matchmaking-multilingual-heldout13.jsonl",
    "held-out-14": DATA / "matchmaking-multilingual-heldout14.jsonl",
    "held-out-15": DATA / "matchmaking-multilingual-heldout15.jsonl",
    "held-out-16": DATA / "matchmaking-multilingual-heldout16.jsonl",
    "held-out-17": DATA / "matchmaking-multilingual-heldout17.jsonl",
    "held-out-18": DATA / "matchmaking-multilingual-heldout18.jsonl",
    "held-out-19": DATA / "matchmaking-multilingual-heldout19.jsonl",
    "held-out-20": DATA / "matchmaking-multilingual-heldout20.jsonl",
    "held-out-21": DATA / "matchmaking-multilingual-heldout21.jsonl",
    "held-out-22": DATA / "matchmaking-multilingual-heldout22.jsonl",
    "held-out-23": DATA / "matchmaking-multilingual-heldout23.jsonl",
    "held-out-24": DATA / "matchmaking-multilingual-heldout24.jsonl",
    "held-out-25": DATA / "matchmaking-multilingual-heldout25.jsonl",
    "held-out-26": DATA / "matchmaking-multilingual-heldout26.jsonl",
    "held-out-27": DATA / "matchmaking-multilingual-heldout27.jsonl",
    "held-out-28": DATA / "matchmaking-multilingual-heldout28.jsonl",
    "held-out-29": DATA / "matchmaking-multilingual-heldout29.jsonl",
    "held-out-30": DATA / "matchmaking-multilingual-heldout30.jsonl",
    "held-out-31": DATA / "matchmaking-multilingual-heldout31.jsonl",
    "held-out-32": DATA / "matchmaking-multilingual-heldout32.jsonl",
    "held-out-33": DATA / "matchmaking-multilingual-heldout33.jsonl",
    "held-out-34": DATA / "matchmaking-multilingual-heldout34.jsonl",
    "held-out-35": DATA / "matchmaking-multilingual-heldout35.jsonl",
    "held-out-36": DATA / "matchmaking-multilingual-heldout36.jsonl",
    "held-out-37": DATA / "matchmaking-multilingual-heldout37.jsonl",
    "held-out-38": DATA / "matchmaking-multilingual-heldout38.jsonl",
    "held-out-39": DATA / "matchmaking-multilingual-heldout39.jsonl",
    "held-out-40": DATA / "matchmaking-multilingual-heldout40.jsonl",
    "held-out-41": DATA / "matchmaking-multilingual-heldout41.jsonl",
    "held-out-42": DATA / "matchmaking-multilingual-heldout42.jsonl",
    "held-out-43": DATA / "matchmaking-multilingual-heldout43.jsonl",
    "held-out-44": DATA / "matchmaking-multilingual-heldout44.jsonl",
    "held-out-45": DATA / "matchmaking-multilingual-heldout45.jsonl",
    "held-out-46": DATA / "matchmaking-multilingual-heldout46.jsonl",
    "held-out-47": DATA / "matchmaking-multilingual-heldout47.jsonl",
    "held-out-48": DATA / "matchmaking-multilingual-heldout48.jsonl",
    "held-out-49": DATA / "matchmaking-multilingual-heldout49.jsonl",
    "en-shared": SHARED / "eval" / "matchmaking-dev.jsonl",
}
SCORER = SHARED / "eval" / "score_matchmaking.py"
METHODS = ("lexical", "embedding", "combined")
GROUPS = ("sv", "da", "de", "no", "en")
COLD_QUESTION = "Vi vill se hur våra proteiner veckas i lösning"


def _scorer():  # the shared scorer's rule; a copy of it when ../shared is absent
    if SCORER.is_file():
        spec = importlib.util.spec_from_file_location("score_matchmaking", SCORER)
        mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
        return mod.hits, mod.in_country

    def fold(t: str) -> str:
        return re.sub(r"[\s\-_/]+", " ", t.lower()).strip()

    def hits(result: dict, accept: list[str]) -> bool:
        t = result.get("technique") or {}
        names = [fold(n) for n in [t.get("label") or "", *(t.get("alt_labels") or [])] if n]
        return any(f" {fold(a)} " in f" {n} " for a in accept for n in names)

    def in_country(result: dict, country: str) -> bool:
        return any(
            (i.get("country") or "").upper() == country.upper() for i in result.get("instruments") or []
        )

    return hits, in_country


def group_of(q: dict) -> str:
    lang = q.get("lang", "en")
    return "no" if lang in ("nb", "nn") else lang


# --- worker: runs in a fresh process ---------------------------------------------------------------------


def worker(method: str, files: list[Path], out: Path, repeat: int) -> None:
    from halric.core.db import Database
    from halric.core.settings import Settings
    from halric.match import service
    from halric.match.engine import Constraints

    st = Settings()
    db = Database(st.db_url)
    with db.session() as s:
        matcher = service.get_matcher(s, cache_dir=st.cache_path, method=method)
    matcher.query("warm-up question about protein structure", Constraints())
    answers: dict[str, dict] = {}
    latencies: dict[str, list[float]] = {}
    for f in files:
        items = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
        for r in range(repeat):
            for q in items:
                t = time.perf_counter()
                ans = matcher.query(q["question"], Constraints(country=q.get("country")), top=5)
                ms = (time.perf_counter() - t) * 1000
                latencies.setdefault(f"{f.name}:{group_of(q)}", []).append(ms)
                if r == 0:
                    line = service.batch_line(q["id"], ans, ms)
                    line["language"] = ans.language
                    answers[f"{f.name}:{q['id']}"] = line
    out.write_text(json.dumps({"method": matcher.method, "answers": answers, "latencies": latencies}))


# --- main ------------------------------------------------------------------------------------------------


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p * len(values)) - 1))]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cold_cli(env: dict, method: str) -> float:
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "halric.cli.main", "match", COLD_QUESTION, "--json", "--method", method],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - t


def first_web_answer(env: dict, timeout: float = 120.0) -> float:
    """Seconds from starting `halric serve` to the first matchmaking answer over HTTP."""
    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "halric.cli.main", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    body = json.dumps({"question": COLD_QUESTION}).encode()
    try:
        while time.perf_counter() - t0 < timeout:
            try:
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/match",
                    data=body,
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - t0
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        return float("nan")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="passes over the questions for the latency figures")
    ap.add_argument("--quick", action="store_true", help="one pass, no cold-start processes")
    ap.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.files, args.out, args.repeat)
        return
    hits, in_country = _scorer()
    sets = {name: path for name, path in SETS.items() if path.is_file()}
    questions = {
        name: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for name, path in sets.items()
    }
    with tempfile.TemporaryDirectory(prefix="halric-bench-") as tmp:
        # no shared embedding cache: the preparation figure is what a fresh machine pays once
        env = {**os.environ, "HALRIC_DATA_DIR": tmp, "HALRIC_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
               "HALRIC_SHARED_CACHE_DIR": ""}  # fmt: skip
        env.pop("HALRIC_ADMIN_PASSWORD", None)
        for cmd in (["db", "upgrade"], ["registry", "load"]):
            subprocess.run(
                [sys.executable, "-m", "halric.cli.main", *cmd], env=env, check=True, capture_output=True
            )
        prep = [sys.executable, "-c", "from halric.core.db import Database; from halric.core.settings import Settings;"
                "from halric.match import service; st = Settings();"
                "s = Database(st.db_url).session().__enter__(); service.prepare(s, cache_dir=st.cache_path)"]  # fmt: skip
        t = time.perf_counter()
        subprocess.run(prep, env=env, check=True, capture_output=True)
        prepare_s = time.perf_counter() - t
        results: dict[str, dict] = {}
        cold: dict[str, float] = {}
        for method in METHODS:
            out = Path(tmp) / f"{method}.json"
            subprocess.run([sys.executable, __file__, "--worker", method, "--out", str(out), "--repeat",
                            str(1 if args.quick else args.repeat), "--files", *map(str, sets.values())],
                           env=env, check=True, capture_output=True)  # fmt: skip
            results[method] = json.loads(out.read_text())
            if not args.quick:
                cold[method] = min(cold_cli(env, method) for _ in range(2))
        web = float("nan") if args.quick else first_web_answer(env)

    label = {"lexical": "lexical-only", "embedding": "embeddings-only", "combined": "combined"}
    print(f"Preparation (index + passage embeddings, as `halric init`): {prepare_s:.1f} s")
    if not args.quick:
        print(f"First web answer after the server process starts (combined): {web:.1f} s")
        print("`halric match` cold, wall: " + ", ".join(f"{label[m]} {cold[m]:.1f} s" for m in METHODS))
    for name, qs in questions.items():
        fname = sets[name].name
        print()
        print(
            f"### {name}: {sets[name].relative_to(ROOT.parent) if ROOT.parent in sets[name].parents else fname}"
        )
        print()
        print("| group | n | method | hit@1 | hit@3 | loc@3 | p50 ms | p95 ms |")
        print("|---|---|---|---|---|---|---|---|")
        groups = [g for g in GROUPS if any(group_of(q) == g for q in qs)]
        for g in [*groups, "all"] if len(groups) > 1 else groups:
            sub = [q for q in qs if g == "all" or group_of(q) == g]
            for method in METHODS:
                res = results[method]
                h1 = h3 = lt = lok = 0
                for q in sub:
                    rs = res["answers"][f"{fname}:{q['id']}"]["results"]
                    h1 += bool(rs) and hits(rs[0], q["accept"])
                    h3 += any(hits(r, q["accept"]) for r in rs[:3])
                    if q.get("country"):
                        lt += 1
                        lok += any(hits(r, q["accept"]) and in_country(r, q["country"]) for r in rs[:3])
                lat = [x for k, v in res["latencies"].items() if k.startswith(fname) and
                       (g == "all" or k.endswith(f":{g}")) for x in v]  # fmt: skip
                loc = f"{lok / lt:.3f}" if lt else "–"
                print(f"| {g} | {len(sub)} | {label[method]} | {h1 / len(sub):.3f} | {h3 / len(sub):.3f} | {loc} | "
                      f"{statistics.median(lat):.1f} | {_pct(lat, 0.95):.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
