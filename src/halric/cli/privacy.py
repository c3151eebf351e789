"""``halric pseudonymise`` and ``halric guard``: patient data, checked and pseudonymised where it lives.

Neither command talks to the hub or its database: the key and the data stay on the hospital's machine.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from halric.cli.common import console, fail


def pseudonymise(
    src: Path = typer.Argument(..., metavar="IN", help="A file or folder with personal identifiers."),
    dst: Path = typer.Argument(..., metavar="OUT", help="A new folder (or file name) for the result."),
    key_file: Path = typer.Option(..., "--key-file", help="The hospital's secret key (never sent anywhere)."),
    new_key: bool = typer.Option(False, "--new-key", help="Create KEY_FILE with a new random key first."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Copy IN to OUT with national identity numbers and DICOM patient data replaced by keyed pseudonyms.

    The same key gives the same pseudonym for the same person in every file and run; without the key
    nobody can tell whose it is. OUT is checked by the same guard the hub runs at ingest.
    """
    from rich.progress import Progress

    from halric.privacy.pseudonym import new_key_file, pseudonymise, read_key

    if new_key:
        new_key_file(key_file)
    key = read_key(key_file)
    with Progress(transient=True, console=console) as bar:
        task = bar.add_task("pseudonymising", total=None)
        report = pseudonymise(src, dst, key, on_file=lambda _rel: bar.advance(task))
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
    else:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.replaced.items())) or "none found"
        console.print(
            f"{report.files} file(s) written to {dst}; {report.changed_files} changed; replaced: {kinds}"
        )
    if report.remaining:
        for f in report.remaining[:20]:
            console.print(f"  still found: {f.describe()}")
        fail(f"{len(report.remaining)} identifier(s) could not be replaced; see the list above")


def guard(
    path: Path = typer.Argument(..., help="A file or folder to check before it is ingested."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """Check files for personal identifiers the way `halric ingest` does (kinds and places, never values)."""
    from halric.privacy.scan import scan_file

    if not path.exists():
        fail(f"path: {path} does not exist")
    files = (
        [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    )
    base = path.parent if path.is_file() else path
    findings = [f for p in files for f in scan_file(p, p.relative_to(base).as_posix())]
    if as_json:
        console.print_json(json.dumps({"files": len(files), "findings": [f.as_dict() for f in findings]}))
    else:
        for f in findings:
            console.print(f.describe(), highlight=False)
        console.print(f"{len(files)} file(s) checked, {len(findings)} finding(s)")
    if findings:
        raise typer.Exit(1)
