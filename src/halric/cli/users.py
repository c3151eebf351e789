"""``halric user`` and ``halric token``: accounts from scripts."""

from __future__ import annotations

import json
import sys

import typer

from halric.cli.common import console, database, fail, settings

app = typer.Typer(help="Accounts: add, list, set password.", no_args_is_help=True)
token_app = typer.Typer(help="Personal API tokens.", no_args_is_help=True)


def _read_password(password_stdin: bool) -> str:
    if not password_stdin:
        fail("give the password on standard input with --password-stdin")
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        fail("no password on standard input")
    return value


@app.command("add")
def add(
    username: str = typer.Argument(..., help="The new user name."),
    email: str = typer.Option(..., "--email", help="E-mail address."),
    role: list[str] = typer.Option(["applicant"], "--role", help="Role (repeat for several)."),
    group: list[str] = typer.Option([], "--group", help="Group (repeat for several)."),
    full_name: str = typer.Option("", "--name", help="Full name."),
    organisation: str | None = typer.Option(
        None, "--organisation", help="Organisation id from the registry."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Create an account."""
    from halric.accounts import service
    from halric.accounts.schemas import NewUser
    from halric.core.actor import system_actor

    password = _read_password(password_stdin)
    data = NewUser(
        username=username,
        email=email,
        password=password,
        roles=role,
        groups=group,
        full_name=full_name,
        organisation_id=organisation,
    )
    db = database()
    with db.session() as s:
        user = service.create_user(
            s, system_actor(), data, min_password_length=settings().password_min_length
        )
        console.print(f"Created user {user.username} (id {user.id}) with roles {', '.join(user.role_names)}.")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List accounts."""
    from rich.table import Table

    from halric.accounts import service

    db = database()
    with db.session() as s:
        users = [service.to_out(u) for u in service.list_users(s)]
    if as_json:
        print(json.dumps([u.model_dump() for u in users], indent=2))
        return
    table = Table("id", "user name", "e-mail", "roles", "groups", "active")
    for u in users:
        table.add_row(
            str(u.id),
            u.username,
            u.email,
            ", ".join(u.roles),
            ", ".join(u.groups),
            "yes" if u.is_active else "no",
        )
    console.print(table)


@app.command("passwd")
def passwd(
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Set a user's password (administrators, on the server)."""
    from sqlalchemy import func, select

    from halric.accounts import service
    from halric.accounts.models import User
    from halric.core.actor import system_actor

    password = _read_password(password_stdin)
    db = database()
    with db.session() as s:
        user = s.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if user is None:
            fail(f"no user named {username!r}")
        service.set_password(s, system_actor(), user, password, min_length=settings().password_min_length)
    console.print(f"Password of {username} changed.")


@token_app.command("create")
def token_create(
    username: str = typer.Argument(...),
    name: str = typer.Option("cli", "--name", help="A name to recognise the token by."),
    days: int = typer.Option(365, "--days", min=1, max=3650, help="Days until it expires."),
) -> None:
    """Create a personal API token for a user (printed once)."""
    from sqlalchemy import func, select

    from halric.accounts import service
    from halric.accounts.models import User
    from halric.core.actor import system_actor

    db = database()
    with db.session() as s:
        user = s.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if user is None:
            fail(f"no user named {username!r}")
        token, _ = service.create_api_token(s, system_actor(), user, name, days=days)
    print(token)
