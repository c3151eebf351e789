"""Matchmaking ranking variants measured on first answers: each held-out set against the data it first met.

    python bench/matchmaking_first_answers.py [--from 6] [--variants today,before-session-20,...] [--method lexical] [--json OUT]

The held-out sets in bench/data were each written before a round of vocabulary work and answered once on
the data of that moment; the rounds after them mended the data until most of their questions pass. On
today's data they no longer tell whether a change to the *ranking* would help a question nobody has
tuned for. This benchmark rebuilds, for every set from held-out-N on (default 6: the earlier ones came
with data or code changes in the same commit), the registry data of the commit that added the set
(`git archive`), loads it into a throw-away SQLite hub, and answers the set with today's code under
each ranking variant. It prints, per variant, hit@1 / hit@3 / loc@3 over all those first answers and how
many questions it wins and loses against the first variant.

Needs the git history (a full clone). Passage embeddings are cached per data state under --cache
(default: a directory in the system temp dir), so a second run only pays for the answers. Prints
Markdown; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import matchmaking as mm  # noqa: E402  (the sets and the scorer of the main matchmaking bench)

DATA_PATH = "src/halric/registry/data"


@dataclass
class Variant:
    """A ranking setting, each value absolute; what a variant leaves out stays as the code has it."""

    name: str
    weights: dict[str, float] = field(default_factory=dict)  # engine.WEIGHTS overrides
    fields: dict[str, float] = field(default_factory=dict)  # index.FIELD_WEIGHTS overrides
    k1: float | None = None
    b: float | None = None
    idf_power: float | None = None  # index.IDF_POWER


VARIANTS = {
    v.name: v
    for v in (
        Variant("today"),
        # the ranking until session 20: embedding 0.3, plain BM25 IDF, b 0.75
        Variant("before-session-20", weights={"embedding": 0.3}, idf_power=1.0, b=0.75),
        Variant("embedding-0.3", weights={"embedding": 0.3}),
        Variant("embedding-1.0", weights={"embedding": 1.0}),
        Variant("idf^1", idf_power=1.0),
        Variant("idf^0.7", idf_power=0.7),
        Variant("bm25-b-0.75", b=0.75),
        Variant("bm25-b-0.3", b=0.3),
        Variant("bm25-k1-2", k1=2.0),
        Variant("answers-0.5", fields={"answers": 0.5}),
        Variant("lay-terms-1", fields={"lay": 1.0}),
        Variant("summary-2", fields={"summary": 2.0}),
    )
}


def first_commit(path: Path) -> str:
    """The commit that added a file (the oldest in its history)."""
    out = subprocess.run(
        ["git", "log", "--diff-filter=A", "--format=%H", "--", str(path.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    if not out:
        raise SystemExit(f"{path.name}: not in the git history (a full clone is needed)")
    return out[-1]


def extract_data(commit: str, into: Path) -> Path:
    blob = subprocess.run(
        ["git", "archive", "--format=tar", commit, DATA_PATH], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / DATA_PATH


def snapshot_of(data_dir: Path, work: Path) -> dict[str, Any]:
    """The registry export of one data state, through a throw-away SQLite hub (as `halric registry load`)."""
    from halric.core.db import Database
    from halric.migrations import upgrade
    from halric.registry.loader import load_into
    from halric.registry.service import export

    url = f"sqlite:///{(work / 'state.db').as_posix()}"
    upgrade(url)
    db = Database(url)
    load_into(db, data_dir)
    with db.session() as s:
        return export(s)


@contextmanager
def applied(v: Variant) -> Iterator[None]:
    from halric.match import engine, index

    saved = (dict(engine.WEIGHTS), dict(index.FIELD_WEIGHTS), index.K1, index.B, index.IDF_POWER)
    engine.WEIGHTS.update(v.weights)
    index.FIELD_WEIGHTS.update(v.fields)
    index.K1 = v.k1 if v.k1 is not None else index.K1
    index.B = v.b if v.b is not None else index.B
    index.IDF_POWER = v.idf_power if v.idf_power is not None else index.IDF_POWER
    try:
        yield
    finally:
        engine.WEIGHTS.clear()
        engine.WEIGHTS.update(saved[0])
        index.FIELD_WEIGHTS.clear()
        index.FIELD_WEIGHTS.update(saved[1])
        index.K1, index.B, index.IDF_POWER = saved[2], saved[3], saved[4]


def answer_set(
    questions: list[dict[str, Any]], snapshot: dict[str, Any], languages: Any, cache: Path, v: Variant,
    hits: Callable[..., bool], in_country: Callable[..., bool], method: str = "combined",
) -> dict[str, tuple[bool, bool, bool | None]]:  # fmt: skip
    from halric.match import service
    from halric.match.engine import Constraints, Matcher

    with applied(v):
        m = Matcher(snapshot, cache_dir=cache, method=method, languages=languages)
        out = {}
        for q in questions:
            ans = m.query(q["question"], Constraints(country=q.get("country")), top=5)
            rs = service.batch_line(q["id"], ans, 0.0)["results"]
            h1 = bool(rs) and hits(rs[0], q["accept"])
            h3 = any(hits(r, q["accept"]) for r in rs[:3])
            loc = (
                any(hits(r, q["accept"]) and in_country(r, q["country"]) for r in rs[:3])
                if q.get("country") else None
            )  # fmt: skip
            out[q["id"]] = (h1, h3, loc)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="start", type=int, default=6, help="first held-out set (default 6)")
    ap.add_argument("--to", dest="end", type=int, default=None, help="last held-out set (default: all)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, first is the baseline")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "halric-first-answers-cache")
    ap.add_argument("--method", choices=("combined", "lexical"), default="combined",
                    help="lexical: what `pip install .` without the embeddings extra ranks by")  # fmt: skip
    ap.add_argument("--json", type=Path, help="write every answer's hit@1/hit@3/loc@3 per variant here")
    args = ap.parse_args()
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s): {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    sets = sorted(
        ((int(m[1]), p) for name, p in mm.SETS.items() if (m := re.fullmatch(r"held-out-(\d+)", name))),
    )
    sets = [
        (n, p) for n, p in sets if n >= args.start and (args.end is None or n <= args.end) and p.is_file()
    ]
    if not sets:
        raise SystemExit("no held-out sets in that range")

    from halric.registry.loader import read_languages

    hits, in_country = mm._scorer()
    args.cache.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, tuple[bool, bool, bool | None]]] = {n: {} for n in names}
    t0 = time.perf_counter()
    for i, (n, path) in enumerate(sets, 1):
        commit = first_commit(path)
        questions = [
            json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        with tempfile.TemporaryDirectory(prefix="halric-state-") as tmp:
            data_dir = extract_data(commit, Path(tmp))
            snapshot = snapshot_of(data_dir, Path(tmp))
            languages = read_languages(data_dir)
            for name in names:
                got = answer_set(
                    questions, snapshot, languages, args.cache, VARIANTS[name], hits, in_country, args.method
                )
                results[name].update({f"held-out-{n}:{k}": v for k, v in got.items()})
        print(f"held-out-{n} (data of {commit[:7]}): done, {i}/{len(sets)}, {time.perf_counter() - t0:.0f} s",
              file=sys.stderr, flush=True)  # fmt: skip

    base = results[names[0]]
    print(f"First answers of held-out-{sets[0][0]} … held-out-{sets[-1][0]} ({len(base)} questions), each on "
          f"the registry data of the commit that added its set; today's code, {args.method} ranking.\n")  # fmt: skip
    print(f"| variant | hit@1 | hit@3 | loc@3 | better / worse than {names[0]} |")
    print("|---|---|---|---|---|")
    for name in names:
        r = results[name]
        h1 = sum(x[0] for x in r.values()) / len(r)
        h3 = sum(x[1] for x in r.values()) / len(r)
        locs = [x[2] for x in r.values() if x[2] is not None]
        loc = f"{sum(locs) / len(locs):.3f}" if locs else "–"

        def rank(x: tuple[bool, bool, bool | None]) -> tuple[bool, bool, bool]:
            return (x[0], x[1], bool(x[2]))

        better = sum(rank(r[k]) > rank(base[k]) for k in r)
        worse = sum(rank(r[k]) < rank(base[k]) for k in r)
        print(f"| {name} | {h1:.3f} | {h3:.3f} | {loc} | +{better} / −{worse} |")
    if args.json:
        args.json.write_text(json.dumps({n: {k: list(v) for k, v in r.items()} for n, r in results.items()}))


if __name__ == "__main__":
    main()
