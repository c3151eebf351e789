"""``halric registry``: validate, load and export the registry data files."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from halric.cli.common import console, database, fail

app = typer.Typer(
    help="Registry of organisations, infrastructures, instruments and techniques.", no_args_is_help=True
)

DATA_OPTION = typer.Option(
    None, "--data", help="Directory of registry files (default: the files shipped with the hub)."
)


def _data_dir(data: Path | None) -> Path:
    from halric.registry.loader import DATA_DIR

    if data is None:
        return DATA_DIR
    if not data.is_dir():
        fail(f"--data: {data} is not a directory")
    return data


@app.command("validate")
def validate(data: Path | None = DATA_OPTION) -> None:
    """Check the files without touching the database; lists every problem with file and field."""
    from halric.registry.loader import RegistryDataError, read_bundle

    try:
        b = read_bundle(_data_dir(data))
    except RegistryDataError as exc:
        for p in exc.problems:
            console.print(f"[red]✗[/] {p}", highlight=False)
        fail(f"{len(exc.problems)} problem(s) in the registry files")
    console.print(
        f"[green]✓[/] {len(b.organisations)} organisations, {len(b.infrastructures)} infrastructures, "
        f"{len(b.instruments)} instruments, {len(b.panet)} PaNET + {len(b.extension.techniques)} extension techniques."
    )


@app.command("load")
def load(data: Path | None = DATA_OPTION) -> None:
    """Validate, then upsert the files into the database (running it twice changes nothing)."""
    from halric.registry.loader import RegistryDataError, load_into

    db = database()
    try:
        report = load_into(db, _data_dir(data), console=console)
    except RegistryDataError as exc:
        for p in exc.problems:
            console.print(f"[red]✗[/] {p}", highlight=False)
        fail(f"{len(exc.problems)} problem(s) in the registry files; nothing was loaded")
    finally:
        db.dispose()
    if not report.changes:
        console.print("Nothing changed.")


@app.command("export")
def export(
    as_json: bool = typer.Option(True, "--json/--no-json", help="Print the registry as one JSON object."),
) -> None:
    """Print the whole registry as JSON (organisations, infrastructures, instruments, techniques)."""
    from halric.registry.service import export as do_export

    db = database()
    with db.session() as s:
        data = do_export(s)
    db.dispose()
    print(json.dumps(data, ensure_ascii=False, indent=1 if as_json else None))
