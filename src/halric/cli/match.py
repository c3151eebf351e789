"""``halric match``: from a research question to techniques, instruments and contacts."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

from halric.cli.common import console, database, fail, settings


def _read_batch(path: Path) -> list[dict]:
    if not path.is_file():
        fail(f"--batch: {path} is not a readable file")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            fail(f"{path.name} line {n}: not valid JSON ({exc.msg})")
        if not isinstance(obj, dict) or "id" not in obj or not isinstance(obj.get("question"), str):
            fail(f'{path.name} line {n}: each line needs an "id" and a "question" text')
        items.append(obj)
    return items


def _matcher(s, cache_dir: Path, method: str):  # type: ignore[no-untyped-def]
    """The matcher, saying so on the terminal while the one-time preparation runs (normally `halric init`)."""
    from halric.match import service

    if not sys.stderr.isatty():
        return service.get_matcher(s, cache_dir=cache_dir, method=method)
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} passages"),
                  console=console, transient=True) as progress:  # fmt: skip
        task = progress.add_task("Preparing matchmaking (once; `halric init` does this ahead)", total=None)

        def step(n: int) -> None:
            progress.advance(task, n)

        return service.get_matcher(s, cache_dir=cache_dir, method=method, progress=step)


def match(
    question: str | None = typer.Argument(None, help="Your research question in plain words."),
    country: str | None = typer.Option(
        None, "--country", help="Where you want the work done: SE, DK, DE or NO."
    ),
    top: int = typer.Option(5, "--top", help="How many techniques to list (1–20)."),
    organisation: str | None = typer.Option(
        None, "--organisation", help="Only instruments of this organisation id."
    ),
    operational_only: bool = typer.Option(False, "--operational-only", help="Only instruments in operation."),
    access_route: str | None = typer.Option(
        None, "--access-route", help="e.g. proprietary, peer-reviewed, service."
    ),
    sample_type: str | None = typer.Option(
        None, "--sample-type", help="e.g. crystal, solution, tissue, human."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the full answer as JSON."),
    batch: Path | None = typer.Option(None, "--batch", help="JSON lines file of {id, question, country?}."),
    method: str = typer.Option("combined", "--method", help="combined (default), lexical or embedding."),
) -> None:
    """Find techniques, instruments and people for a research question."""
    from halric.match import service
    from halric.match.service import MatchRequest

    if method not in ("combined", "lexical", "embedding"):
        fail("--method: use combined, lexical or embedding")
    if (question is None) == (batch is None):
        fail("give either a QUESTION or --batch FILE")
    items = _read_batch(batch) if batch else []
    reqs = []
    for obj in items or [{"id": None, "question": question, "country": country}]:
        try:
            reqs.append(
                (
                    obj["id"],
                    MatchRequest(
                        obj["question"],
                        obj.get("country") or country,
                        top,
                        organisation,
                        operational_only,
                        access_route,
                        sample_type,
                    ).validated(),
                )
            )
        except Exception as exc:  # InvalidInput: say which line
            where = f"line with id {obj['id']!r}: " if batch else ""
            fail(where + getattr(exc, "detail", str(exc)))
    service.preload_in_background(embeddings=method != "lexical")
    st = settings()
    cache_dir = st.cache_path
    db = database()
    with db.session() as s:
        matcher = _matcher(s, cache_dir, method)
        if batch:
            from rich.progress import Progress

            from halric.match.engine import Constraints

            matcher.query("warm-up: protein structure", Constraints())  # part of start-up, not of any answer

            with Progress(console=console, transient=True, disable=not sys.stderr.isatty()) as progress:
                task = progress.add_task("matching", total=len(reqs))
                for qid, req in reqs:
                    t0 = time.perf_counter()
                    ans = matcher.query(req.question, req.constraints(), top=req.top)
                    elapsed = (time.perf_counter() - t0) * 1000
                    sys.stdout.write(
                        json.dumps(service.batch_line(qid, ans, elapsed), ensure_ascii=False) + "\n"
                    )
                    progress.advance(task)
            db.dispose()
            return
        _, req = reqs[0]
        if req.organisation:
            from halric.registry.service import get_organisation

            get_organisation(s, req.organisation)
        ans = matcher.query(req.question, req.constraints(), top=req.top)
        out = service.answer_dict(ans, service.ambassadors(s, ans.preferred_country))
    db.dispose()
    if as_json:
        print(json.dumps({"question": req.question, **out}, ensure_ascii=False, indent=1))
        return
    _print(out)


def _title(t: dict) -> str:
    local = t.get("local_label")
    return f"{local} ({t['label']})" if local and local != t["label"] else t["label"]


def _print(out: dict) -> None:
    from rich.panel import Panel

    if out["no_good_match"]:
        console.print(f"[yellow]{out['message']}[/]")
    for n, r in enumerate(out["results"], start=1):
        t = r["technique"]
        lines = [r["why"]]
        if t.get("local_summary") and t.get("summary_language") != "en":
            lines.append(t["local_summary"])
        if t.get("cannot"):
            lines.append(f"[dim]Cannot: {t['cannot']}[/]")
        if r.get("in_preferred_country") is False and r["instruments"]:
            lines.append(
                f"  [yellow]Not offered in {out['preferred_country']}: these are elsewhere in the region.[/]"
            )
        for i in r["instruments"][:5]:
            status = "" if i["status"] == "operational" else f" [yellow]({i['status']})[/]"
            lines.append(f"  • {i['name']} — {i['facility']}, {i['city']} ({i['country']}){status}")
        if len(r["instruments"]) > 5:
            lines.append(f"  … and {len(r['instruments']) - 5} more")
        if not r["instruments"]:
            lines.append("  [dim]No instrument in the region matches your constraints.[/]")
        console.print(
            Panel("\n".join(lines), title=f"{n}. {_title(t)}  [dim]{r['score']:.2f}[/]", title_align="left")
        )
    if out["consider_as_well"]:
        console.print(
            "Consider as well: "
            + "; ".join(f"{c['technique']['label']} ({c['reason']})" for c in out["consider_as_well"])
        )
    for a in out["ambassadors"]:
        console.print(f"Ambassador: {a['name']} ({', '.join(a['countries'])}) {a.get('email') or ''}")
