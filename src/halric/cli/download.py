"""``halric download``: copy a catalogued dataset's files out of the serving roots, verified against the
catalog's checksums, with the same checks and audit as the web downloads (run on the hub's machine)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer

from halric.cli.common import console, database, fail, settings

CHUNK = 8 * 1024 * 1024


def _actor(s: Any, token: str | None) -> Any:
    from halric.accounts import service as accounts
    from halric.core.actor import system_actor

    if not token:
        return system_actor("download")
    user = accounts.resolve_api_token(s, token)
    if user is None:
        fail("--token: the API token is invalid, expired or revoked")
    return accounts.actor_for(user, via="cli")


def _copy(served: Any, target: Path) -> bool | None:
    """Copy one file; True/False: the recorded checksum matched or not; None: nothing to compare."""
    from halric.catalog.files import algorithm_name
    from halric.ingest.hashing import ALGORITHMS, new_hasher

    alg = algorithm_name(served.entry.algorithm)
    hasher = new_hasher(alg) if alg in ALGORITHMS and served.entry.chk else None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    size = 0
    with open(served.real_path, "rb") as src, open(partial, "wb") as dst:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if hasher is not None:
                hasher.update(chunk)
            dst.write(chunk)
    ok = None if hasher is None else hasher.hexdigest() == served.entry.chk.strip().lower()
    if ok is False or size != served.entry.size:
        partial.unlink()
        fail(
            f"{served.entry.path}: the copy does not match the catalog "
            f"({'size' if size != served.entry.size else alg + ' checksum'} differs); nothing was kept"
        )
    os.replace(partial, target)
    return ok


def download(
    pid: str = typer.Argument(..., help="Dataset pid."),
    file: str | None = typer.Option(None, "--file", help="One file, as listed; default: every file."),
    out: Path = typer.Option(
        Path("."), "--out", help="Folder to copy into; files keep their relative paths."
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        help="Act as the owner of this hub API token (their read rights apply). "
        "Default: maintenance rights, as every command run on the hub's machine.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace files that exist in OUT."),
    as_json: bool = typer.Option(False, "--json", help="Print the copied files as JSON."),
) -> None:
    """Copy a dataset's files (or one with --file) into OUT, checking each against the catalog."""
    from halric.catalog import files

    serving = files.Serving.from_settings(settings())
    db = database()
    try:
        with db.session() as s:
            actor = _actor(s, token)
            if file is not None:
                served = [files.resolve(s, actor, pid, file, serving)]
                files.record_download(s, actor, pid, file, size=served[0].stat.st_size)
            else:
                served = files.resolve_all(s, actor, pid, serving)
                files.record_download(
                    s, actor, pid, files.WHOLE_DATASET, size=sum(f.stat.st_size for f in served)
                )
    finally:
        db.dispose()
    targets = [(f, out / str(files.relative_path(f.entry.path))) for f in served]
    existing = [str(t) for _, t in targets if t.exists()]
    if existing and not overwrite:
        fail(
            f"--out: {existing[0]} exists ({len(existing)} file(s) in all); use --overwrite or another folder"
        )
    done = []
    for f, target in targets:
        ok = _copy(f, target)
        done.append({"path": f.entry.path, "size": f.entry.size, "algorithm": f.entry.algorithm,
                     "verified": ok, "to": str(target)})  # fmt: skip
        if not as_json:
            state = "checksum ok" if ok else "no checksum recorded"
            console.print(f"{f.entry.path}  {f.entry.size} bytes  {state}", highlight=False)
    if as_json:
        print(json.dumps({"pid": pid, "out": str(out), "files": done}))
