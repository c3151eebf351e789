"""``halric user export`` and ``halric user erase``: the person's own data (GDPR) from the server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from halric.cli.common import console, database, fail, settings


def _by_email(s, email: str):  # type: ignore[no-untyped-def]
    from halric.accounts.service import find_by_email

    return find_by_email(s, email)


def export(
    email: str = typer.Argument(..., help="E-mail address of the account."),
    out: Path = typer.Option(
        ..., "--out", help="File to write the JSON document to (made readable by you only)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace the file if it exists."),
) -> None:
    """Write everything the hub holds about a person to a JSON file (audited), e.g. to answer their
    request when they cannot sign in."""
    from halric.core.actor import system_actor
    from halric.gdpr.export import export_person

    if out.exists() and not force:
        fail(f"--out: {out} exists already; give --force to replace it")
    if not out.parent.is_dir():
        fail(f"--out: the folder {out.parent} does not exist")
    st = settings()
    db = database()
    try:
        with db.session() as s:
            user = _by_email(s, email)
            doc = export_person(s, system_actor(), user.id, site_name=st.site_name)
            data = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
    finally:
        db.dispose()
    console.print(f"Wrote everything the hub holds about {doc['about']['username']} to {out}.")


def erase(
    email: str = typer.Argument(..., help="E-mail address of the account to erase."),
    successor: str = typer.Option(
        ...,
        "--successor",
        help="E-mail address of the active account that takes over its applications and data.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON."),
) -> None:
    """Erase an account: its applications, datasets, proposals and samples go to the successor; its
    personal data is removed or pseudonymised; one transaction, audited. Cannot be undone."""
    from halric.core.actor import system_actor
    from halric.gdpr.erase import erase_account

    st = settings()
    db = database()
    try:
        with db.session() as s:
            user = _by_email(s, email)
            heir = _by_email(s, successor)
            done = erase_account(
                s,
                system_actor(),
                user.id,
                heir.id,
                secret=st.signing_key,
                confirm_email=email,
                base_url=st.base_url,
            )
            summary = done.summary()
    finally:
        db.dispose()
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    given = ", ".join(
        f"{v if not isinstance(v, list) else len(v)} {k}" for k, v in summary["handed_over"].items() if v
    )
    console.print(
        f"Erased account {summary['user_id']}; it is now {summary['pseudonym']}. "
        f"{summary['successor']} took over: {given or 'nothing'}."
    )
