"""Matchmaking benchmark: quality on a question set and speed, for the combined method and two baselines.

    python bench/matchmaking.py [QUESTIONS.jsonl] [--repeat N]

Defaults to ../shared/eval/matchmaking-dev.jsonl. Builds a throw-away SQLite hub with the shipped registry,
then for each method (combined, BM25-only "lexical", embedding-only) runs the batch in a fresh process
and scores it with the shared scorer (shared/eval/score_matchmaking.py). Prints a Markdown table:
hit@1, hit@3, loc@3, per-question latency p50/p95 after start-up, start-up time and peak resident memory.
Not a test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = ROOT.parent / "shared" / "eval" / "matchmaking-dev.jsonl"
SCORER = ROOT.parent / "shared" / "eval" / "score_matchmaking.py"
METHODS = ("combined", "lexical", "embedding")


def worker(method: str, questions: Path, out: Path, repeat: int) -> None:
    """Runs in its own process: start-up, then the batch; writes answers and prints timing JSON."""
    t0 = time.perf_counter()
    from halric.core.db import Database
    from halric.core.settings import Settings
    from halric.match import service
    from halric.match.engine import Constraints

    st = Settings()
    db = Database(st.db_url)
    with db.session() as s:
        matcher = service.get_matcher(s, cache_dir=st.cache_path, method=method)
    matcher.query("warm-up question about protein structure", Constraints())
    startup = time.perf_counter() - t0
    items = [json.loads(line) for line in questions.read_text().splitlines() if line.strip()]
    latencies = []
    with out.open("w") as fh:
        for r in range(repeat):
            for q in items:
                t = time.perf_counter()
                ans = matcher.query(q["question"], Constraints(country=q.get("country")), top=5)
                ms = (time.perf_counter() - t) * 1000
                latencies.append(ms)
                if r == 0:
                    fh.write(json.dumps(service.batch_line(q["id"], ans, ms)) + "\n")
    latencies.sort()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "method": matcher.method, "startup_s": round(startup, 2), "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[max(0, int(0.95 * len(latencies)) - 1)], 1), "rss_mb": round(rss_mb),
        "n": len(latencies),
    }))  # fmt: skip


def score(questions: Path, answers: Path) -> dict:
    r = subprocess.run(
        [sys.executable, str(SCORER), str(questions), str(answers)], capture_output=True, text=True
    )
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", nargs="?", type=Path, default=DEFAULT_QUESTIONS)
    ap.add_argument("--repeat", type=int, default=4, help="passes over the questions for the latency figures")
    ap.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.questions, args.out, args.repeat)
        return
    with tempfile.TemporaryDirectory(prefix="halric-bench-") as tmp:
        env = {**os.environ, "HALRIC_DATA_DIR": tmp, "HALRIC_DATABASE_URL": f"sqlite:///{tmp}/bench.db"}
        env.pop("HALRIC_ADMIN_PASSWORD", None)
        for cmd in (["db", "upgrade"], ["registry", "load"]):
            subprocess.run(
                [sys.executable, "-m", "halric.cli.main", *cmd], env=env, check=True, capture_output=True
            )
        # build the passage-embedding cache once, as a running hub would have it
        subprocess.run([sys.executable, __file__, str(args.questions), "--worker", "combined", "--out", f"{tmp}/warm.jsonl",
                        "--repeat", "1"], env=env, check=True, capture_output=True)  # fmt: skip
        rows = []
        for method in METHODS:
            out = Path(tmp) / f"{method}.jsonl"
            r = subprocess.run([sys.executable, __file__, str(args.questions), "--worker", method, "--out", str(out),
                                "--repeat", str(args.repeat)], env=env, check=True, capture_output=True, text=True)  # fmt: skip
            timing = json.loads(r.stdout.strip().splitlines()[-1])
            rows.append({**timing, **score(args.questions, out), "label": method})
    print(
        f"Questions: {args.questions} ({rows[0]['questions']}); latency over {rows[0]['n']} queries per method"
    )
    print()
    print("| method | hit@1 | hit@3 | loc@3 | p50 ms | p95 ms | start-up s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    names = {"combined": "combined (BM25F + embeddings + names)", "lexical": "BM25-only baseline",
             "embedding": "embedding-only baseline"}  # fmt: skip
    for r in rows:
        print(f"| {names[r['label']]} | {r['hit@1']:.3f} | {r['hit@3']:.3f} | {r['loc@3']:.3f} | {r['p50_ms']} | "
              f"{r['p95_ms']} | {r['startup_s']} | {r['rss_mb']} |")  # fmt: skip
    base = next(r for r in rows if r["label"] == "lexical")
    comb = next(r for r in rows if r["label"] == "combined")
    print()
    print(f"hit@3 gain of combined over BM25-only: {comb['hit@3'] - base['hit@3']:+.3f}; "
          f"hit@1 gain: {comb['hit@1'] - base['hit@1']:+.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
