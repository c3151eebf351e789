"""``halric user`` and ``halric token``: accounts from scripts."""

from __future__ import annotations

import json
import sys

import typer

from halric.cli.common import console, database, fail, settings

app = typer.Typer(
    help="Accounts: add, list, edit, set password; export or erase a person's data.", no_args_is_help=True
)
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
        from halric.projects.service import sync_all

        sync_all(s, system_actor())  # a facility account joins the projects of its organisation
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


@app.command("edit")
def edit(
    username: str = typer.Argument(..., help="The account to change."),
    role: list[str] = typer.Option(None, "--role", help="Set the roles (repeat; replaces all roles)."),
    add_role: list[str] = typer.Option(None, "--add-role", help="Add a role (repeat)."),
    remove_role: list[str] = typer.Option(None, "--remove-role", help="Remove a role (repeat)."),
    group: list[str] = typer.Option(None, "--group", help="Set the groups (repeat; replaces all groups)."),
    add_group: list[str] = typer.Option(None, "--add-group", help="Add a group (repeat)."),
    remove_group: list[str] = typer.Option(None, "--remove-group", help="Remove a group (repeat)."),
    email: str | None = typer.Option(None, "--email", help="New e-mail address."),
    full_name: str | None = typer.Option(None, "--name", help="New full name."),
    organisation: str | None = typer.Option(
        None, "--organisation", help="Organisation id from the registry ('' clears it)."
    ),
    active: bool | None = typer.Option(None, "--active/--inactive", help="Activate or deactivate."),
    as_json: bool = typer.Option(False, "--json", help="Print the account as JSON afterwards."),
) -> None:
    """Change an account's roles, groups, e-mail, name, organisation or status (audited)."""
    from halric.accounts import service
    from halric.accounts.roles import normalise_role
    from halric.accounts.schemas import UserUpdate
    from halric.core.actor import system_actor

    if role and (add_role or remove_role):
        fail("give either --role or --add-role/--remove-role, not both")
    if group and (add_group or remove_group):
        fail("give either --group or --add-group/--remove-group, not both")
    db = database()
    with db.session() as s:
        user = service.find_user(s, username)
        fields: dict[str, object] = {}
        if role:
            fields["roles"] = role
        elif add_role or remove_role:
            try:
                drop = {normalise_role(r) for r in remove_role or []}
            except ValueError as exc:
                fail(f"--remove-role: {exc}")
            fields["roles"] = [r for r in user.role_names if r not in drop] + list(add_role or [])
        if group:
            fields["groups"] = group
        elif add_group or remove_group:
            drop_g = set(remove_group or [])
            fields["groups"] = [g for g in user.group_names if g not in drop_g] + list(add_group or [])
        if email is not None:
            fields["email"] = email
        if full_name is not None:
            fields["full_name"] = full_name
        if organisation is not None:
            fields["organisation_id"] = organisation or None
        if active is not None:
            fields["is_active"] = active
        if not fields:
            fail("nothing to change: give --role, --group, --email, --name, --organisation or --active")
        user = service.update_user(s, system_actor(), user.id, UserUpdate(**fields))
        from halric.projects.service import sync_all

        sync_all(s, system_actor())  # who is a project's facility contact may have changed
        out = service.to_out(user)
    if as_json:
        print(json.dumps(out.model_dump(), indent=2))
    else:
        console.print(
            f"{out.username}: roles {', '.join(out.roles)}; groups {', '.join(out.groups) or '—'}; "
            f"{'active' if out.is_active else 'inactive'}."
        )


@app.command("passwd")
def passwd(
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Set a user's password (administrators, on the server)."""
    from halric.accounts import service
    from halric.core.actor import system_actor

    password = _read_password(password_stdin)
    db = database()
    with db.session() as s:
        user = service.find_user(s, username)
        service.set_password(s, system_actor(), user, password, min_length=settings().password_min_length)
    console.print(f"Password of {username} changed.")


@token_app.command("create")
def token_create(
    username: str = typer.Argument(...),
    name: str = typer.Option("cli", "--name", help="A name to recognise the token by."),
    days: int = typer.Option(365, "--days", min=1, max=3650, help="Days until it expires."),
) -> None:
    """Create a personal API token for a user (printed once)."""
    from halric.accounts import service
    from halric.core.actor import system_actor

    db = database()
    with db.session() as s:
        user = service.find_user(s, username)
        token, _ = service.create_api_token(s, system_actor(), user, name, days=days)
    print(token)
