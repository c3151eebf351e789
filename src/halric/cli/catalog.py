"""``halric catalog``: embargo release (for cron), embargo policy per proposal, DataCite checks."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from halric.cli.common import console, database, fail

app = typer.Typer(help="Experiment-data catalog: embargo and published data.", no_args_is_help=True)


@app.command("release-embargoed")
def release_embargoed(
    dry_run: bool = typer.Option(False, "--dry-run", help="List what is due without publishing it."),
    as_json: bool = typer.Option(False, "--json", help="Print the released pids as JSON."),
) -> None:
    """Publish every dataset whose embargo has ended. Idempotent and audited: safe to run from cron."""
    from halric.catalog import embargo, service
    from halric.core.actor import system_actor

    db = database()
    try:
        with db.session() as s:
            pids = embargo.due(s) if dry_run else service.release_embargoed(s, system_actor("embargo"))
    finally:
        db.dispose()
    if as_json:
        print(json.dumps({"released" if not dry_run else "due": pids}))
        return
    verb = "due for release" if dry_run else "released"
    console.print(f"{len(pids)} dataset(s) {verb}.")
    for pid in pids:
        console.print(f"  {pid}", highlight=False)


@app.command("embargo-policy")
def embargo_policy(
    proposal: str = typer.Argument(..., help="Proposal (pilot project) id."),
    years: int | None = typer.Option(None, "--years", min=0, max=100, help="Embargo years after creation."),
    never_release: bool = typer.Option(
        False, "--never-release", help="Proprietary work: its datasets are never released automatically."
    ),
) -> None:
    """Set a proposal's embargo policy and recompute the embargo of its unpublished datasets."""
    from halric.catalog.collections import set_proposal_policy
    from halric.core.actor import system_actor

    if years is None and not never_release:
        fail("give --years N or --never-release")
    db = database()
    try:
        with db.session() as s:
            n = set_proposal_policy(
                s, system_actor("catalog"), proposal, years=years, never_release=never_release
            )
    finally:
        db.dispose()
    console.print(f"Policy of {proposal} set; {n} unpublished dataset(s) updated.")


@app.command("datacite-validate")
def datacite_validate(path: Path = typer.Argument(..., help="A DataCite 4.x JSON document.")) -> None:
    """Check a DataCite JSON document against the DataCite 4.5 schema shipped with the hub."""
    from halric.catalog import datacite

    if not path.is_file():
        fail(f"{path} is not a readable file")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        fail(f"{path.name}: not valid JSON ({exc.msg})")
    found = datacite.problems(doc)
    for p in found:
        console.print(f"[red]✗[/] {p}", highlight=False)
    if found:
        fail(f"{len(found)} problem(s) against the DataCite schema")
    console.print("[green]✓[/] valid DataCite 4.5 metadata")
