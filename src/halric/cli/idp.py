"""``halric idp``: the OpenID Connect providers people sign in with, and group rules for their claims."""

from __future__ import annotations

import json
import sys

import typer

from halric.cli.common import console, database, fail, settings

app = typer.Typer(
    help="Identity providers (OpenID Connect: LS Login, MyAccessID, ORCID…) and group rules.",
    no_args_is_help=True,
)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Short name used in URLs, e.g. lslogin (lower-case, digits, '-')."),
    issuer: str | None = typer.Argument(
        None,
        help="The provider's issuer URL (discovery at ISSUER/.well-known/openid-configuration). "
        "Optional with --preset.",
    ),
    client_id: str = typer.Option(
        ..., "--client-id", help="The client id the provider registered for the hub."
    ),
    client_secret_stdin: bool = typer.Option(
        False, "--client-secret-stdin", help="Read the client secret from standard input (stored encrypted)."
    ),
    scopes: str | None = typer.Option(
        None, "--scopes", help="Scopes to ask for, space-separated (openid is added)."
    ),
    groups_claim: str | None = typer.Option(
        None, "--groups-claim", help="The claim holding the person's groups, e.g. eduperson_entitlement."
    ),
    display_name: str | None = typer.Option(None, "--display-name", help="Shown on the sign-in button."),
    preset: str | None = typer.Option(
        None, "--preset", help="lslogin, myaccessid or orcid: issuer, scopes, groups claim and name for it."
    ),
) -> None:
    """Let people sign in with an OpenID provider."""
    from halric.accounts import idp
    from halric.core.actor import system_actor

    if not client_secret_stdin:
        fail("give the client secret on standard input with --client-secret-stdin")
    secret = sys.stdin.readline().strip()
    if not secret:
        fail("no client secret on standard input")
    db = database()
    try:
        with db.session() as s:
            row = idp.add_provider(
                s, system_actor("idp"), idp.secret_box(settings().signing_key), name=name, issuer=issuer,
                client_id=client_id, client_secret=secret, scopes=scopes, groups_claim=groups_claim,
                display_name=display_name, preset=preset,
            )  # fmt: skip
            base = settings().base_url.rstrip("/")
            console.print(
                f"Added {row.display_name} ({row.name}) at {row.issuer}. Register this redirect URI with the "
                f"provider: {base}/signin/oidc/{row.name}/callback (and {base}/ after sign-out).",
                highlight=False,
            )
    finally:
        db.dispose()


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the identity providers (never their secrets)."""
    from halric.accounts import idp

    db = database()
    try:
        with db.session() as s:
            rows = [
                {"name": p.name, "display_name": p.display_name, "issuer": p.issuer, "client_id": p.client_id,
                 "scopes": p.scopes, "groups_claim": p.groups_claim, "preset": p.preset}
                for p in idp.list_providers(s)
            ]  # fmt: skip
    finally:
        db.dispose()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("No identity providers.")
    for r in rows:
        console.print(
            f"{r['name']}\t{r['display_name']}\t{r['issuer']}\tclient {r['client_id']}\tscopes '{r['scopes']}'"
            f"\tgroups {r['groups_claim'] or '-'}",
            highlight=False,
        )


@app.command("remove")
def remove(name: str = typer.Argument(..., help="The provider's short name.")) -> None:
    """Stop offering a provider (linked identities are kept and work again if it is added back)."""
    from halric.accounts import idp
    from halric.core.actor import system_actor

    db = database()
    try:
        with db.session() as s:
            linked = idp.remove_provider(s, system_actor("idp"), name)
    finally:
        db.dispose()
    console.print(f"Removed {name} ({linked} linked identities kept).", highlight=False)


@app.command("check")
def check(name: str = typer.Argument(..., help="The provider's short name.")) -> None:
    """Ask the provider now for its configuration and signing keys (as a sign-in would)."""
    from halric.accounts import idp, oidc

    db = database()
    try:
        with db.session() as s:
            row = idp.get_provider(s, name)
            issuer, display, scopes = row.issuer, row.display_name, row.scopes
    finally:
        db.dispose()
    try:
        found = oidc.probe(issuer, display, scopes)
    except oidc.ProviderUnavailable as exc:
        fail(exc.detail)
    console.print(
        f"{display} answers: sign-in page {found.authorization_endpoint}, {found.keys} signing key(s)"
        f"{', sign-out at the provider offered' if found.end_session else ''}.",
        highlight=False,
    )
    if found.missing_scopes:
        console.print(f"Scopes the provider does not list as supported: {' '.join(found.missing_scopes)}.")


@app.command("map")
def map_(
    claim: str = typer.Argument(..., help="The claim to read, e.g. eduperson_entitlement or groups."),
    value: str = typer.Argument(
        ..., help="The value (or list entry) to match; end with * to match a prefix."
    ),
    group: str = typer.Argument(..., help="The hub group to grant."),
    provider: str | None = typer.Option(None, "--provider", help="Only for this provider (default: any)."),
) -> None:
    """Grant a hub group to whoever signs in with a claim value (applied at every sign-in)."""
    from halric.accounts import idp
    from halric.core.actor import system_actor

    db = database()
    try:
        with db.session() as s:
            rule = idp.add_rule(
                s, system_actor("idp"), provider=provider, claim=claim, value=value, group=group
            )
            rid = rule.id
    finally:
        db.dispose()
    console.print(f"Rule {rid}: {claim} = {value} → group {group}.", highlight=False)


@app.command("rules")
def rules(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the group rules."""
    from halric.accounts import idp

    db = database()
    try:
        with db.session() as s:
            rows = [
                {
                    "id": r.id,
                    "provider": r.provider,
                    "claim": r.claim,
                    "value": r.value,
                    "group": r.group_name,
                }
                for r in idp.list_rules(s)
            ]
    finally:
        db.dispose()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for r in rows:
        console.print(
            f"{r['id']}\t{r['provider'] or 'any'}\t{r['claim']} = {r['value']}\t→ {r['group']}",
            highlight=False,
        )


@app.command("unmap")
def unmap(rule_id: int = typer.Argument(..., help="The rule's id (halric idp rules).")) -> None:
    """Remove a group rule (takes effect at each person's next sign-in)."""
    from halric.accounts import idp
    from halric.core.actor import system_actor

    db = database()
    try:
        with db.session() as s:
            idp.remove_rule(s, system_actor("idp"), rule_id)
    finally:
        db.dispose()
    console.print(f"Removed rule {rule_id}.", highlight=False)
