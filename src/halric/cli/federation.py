"""``halric sites`` (connected catalogs: add, list, remove, check, harvest) and ``halric search``."""

from __future__ import annotations

import json
import sys

import typer

from halric.cli.common import console, database, fail, settings

sites_app = typer.Typer(help="Connected catalogs: other hubs, SciCat and PaNOSC sites.", no_args_is_help=True)


def _box():  # type: ignore[no-untyped-def]
    from halric.federation.crypto import TokenBox

    return TokenBox(settings().signing_key)


def _group_map(items: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            fail(f"--group-map: write SITE_GROUP=HUB_GROUP[,HUB_GROUP], got {item!r}")
        remote, hub = item.split("=", 1)
        out.setdefault(remote.strip(), []).extend(g.strip() for g in hub.split(",") if g.strip())
    return out


@sites_app.command("add")
def add(
    name: str = typer.Argument(..., help="Short name shown with every result, e.g. maxiv."),
    url: str = typer.Argument(
        ..., help="Base address of the hub, the SciCat instance or the PaNOSC search API."
    ),
    kind: str = typer.Option(..., "--kind", help="A registered kind of site: hub, scicat or panosc."),
    token: str | None = typer.Option(None, "--token", help="Service token for the site (stored encrypted)."),
    timeout: float = typer.Option(5.0, "--timeout", help="Seconds to wait for the site (0.1–120)."),
    mode: str = typer.Option("live", "--mode", help="live (ask on every search) or harvest (local index)."),
    group_map: list[str] = typer.Option(
        [],
        "--group-map",
        help="SITE_GROUP=HUB_GROUP[,HUB_GROUP]: who at the hub sees the site's private records.",
    ),
    description: str = typer.Option("", "--description", help="What the site holds."),
    harvest_every: int | None = typer.Option(
        None,
        "--harvest-every",
        min=0,
        max=525_600,
        help="Minutes between scheduled harvests (harvest mode; default HALRIC_HARVEST_INTERVAL_MINUTES, 0: never).",
    ),
) -> None:
    """Register a site."""
    from halric.core.actor import system_actor
    from halric.federation import service

    data = service.validate(
        {"name": name, "url": url, "kind": kind, "timeout": timeout, "mode": mode,
         "group_map": _group_map(group_map), "description": description,
         "harvest_interval_minutes": harvest_every}
    )  # fmt: skip
    db = database()
    try:
        with db.session() as s:
            service.add_site(s, system_actor("sites"), _box(), data, token=token)
    finally:
        db.dispose()
    console.print(f"Added site {data.name} ({data.kind}, {data.mode}) at {data.url}.", highlight=False)


@sites_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the registered sites with their health and harvest state."""
    from halric.federation import service

    db = database()
    try:
        with db.session() as s:
            counts = service.record_counts(s)
            rows = [service.site_dict(x, records=counts.get(x.id, 0)) for x in service.list_sites(s)]
    finally:
        db.dispose()
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    if not rows:
        console.print(
            "No site registered. Add one with `halric sites add NAME URL --kind hub|scicat|panosc`."
        )
    for r in rows:
        contact = (r["last_contact"] or "never")[:19].replace("T", " ")
        console.print(
            f"{r['name']:<16} {r['kind']:<7} {r['mode']:<8} {r['status']:<8} last contact {contact}  "
            f"{r['harvest']['records']} harvested  {r['url']}",
            highlight=False,
        )


@sites_app.command("remove")
def remove(name: str = typer.Argument(..., help="The site's name.")) -> None:
    """Remove a site, its harvested records and users' tokens for it."""
    from halric.core.actor import system_actor
    from halric.federation import service

    db = database()
    try:
        with db.session() as s:
            service.remove_site(s, system_actor("sites"), name)
    finally:
        db.dispose()
    console.print(f"Removed site {name}.", highlight=False)


@sites_app.command("check")
def check(
    names: list[str] = typer.Argument(None, help="Sites to check (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Ask each site whether it answers, and store its health."""
    from halric.federation import service

    db = database()
    try:
        with db.session() as s:
            sites = [service.get_site(s, n) for n in names] if names else service.list_sites(s)
            rows = service.check_health(s, _box(), sites)
    finally:
        db.dispose()
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    for r in rows:
        console.print(
            f"{r['name']:<16} {r['status']:<8} {r['elapsed_ms']:>8.1f} ms  {r['message'] or ''}",
            highlight=False,
        )


@sites_app.command("harvest")
def harvest(
    names: list[str] = typer.Argument(
        None, help="Sites to harvest (default: every enabled site in harvest mode)."
    ),
    full: bool = typer.Option(False, "--full", help="Read everything again, not only what changed."),
    page_size: int = typer.Option(200, "--page-size", min=1, max=5000, help="Records per request."),
    max_pages: int | None = typer.Option(
        None, "--max-pages", min=1, help="Stop after this many pages (resume later)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Harvest sites into the local index: incremental, resumable, safe to run from cron."""
    from halric.core.actor import system_actor
    from halric.federation.harvest import harvest_all

    db = database()
    try:
        rows = harvest_all(
            db,
            system_actor("harvest"),
            _box(),
            names or None,
            full=full,
            page_size=page_size,
            max_pages=max_pages,
        )
    finally:
        db.dispose()
    if as_json:
        print(json.dumps(rows, indent=1))
    else:
        if not rows:
            console.print("No site in harvest mode. Name sites to harvest, or add them with --mode harvest.")
        for r in rows:
            console.print(
                f"{r['site']:<16} {r['status']:<8} {r['added']} added, {r['updated']} updated, {r['removed']} removed "
                f"in {r['pages']} page(s), {r.get('elapsed_ms', 0):.0f} ms  {r.get('message') or ''}",
                highlight=False,
            )
    if any(r["status"] == "error" for r in rows):
        fail("; ".join(f"{r['site']}: {r['message']}" for r in rows if r["status"] == "error"))


def search(
    text: str = typer.Argument(..., help="Words to find."),
    federated: bool = typer.Option(False, "--federated", help="Search every connected site as well."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: {results: [...], sites: [...]}."),
    token: str | None = typer.Option(
        None,
        "--token",
        help="A hub API token: that user's rights (and site tokens) apply. Anonymous without it.",
    ),
    limit: int = typer.Option(25, "--limit", min=1, max=200, help="Results to print."),
    no_local: bool = typer.Option(False, "--no-local", help="Leave out the hub's own catalog."),
) -> None:
    """Search the hub's catalog, and with --federated every connected catalog at once."""
    from halric.core.actor import ANONYMOUS
    from halric.federation import search as federated_search

    if not text.strip():
        fail("TEXT: give words to search for")
    st = settings()
    db = database()
    try:
        actor = ANONYMOUS
        if token:
            from halric.accounts import service as accounts

            with db.session() as s:
                user = accounts.resolve_api_token(s, token)
                if user is None:
                    fail("--token: the token is invalid, expired or revoked")
                actor = accounts.actor_for(user, via="cli")
        res = federated_search.search(
            db, actor, _box(), text, limit=limit, include_local=not no_local,
            sites=None if federated else [], base_url=st.base_url.rstrip("/"),
        )  # fmt: skip
    finally:
        db.dispose()
    for n in res["notices"]:
        sys.stderr.write(f"halric: notice: {n['text']}\n")
    if as_json:
        print(json.dumps({"results": res["results"], "sites": res["sites"]}, ensure_ascii=False, indent=1))
        return
    for site in res["sites"]:
        console.print(
            f"[dim]{site['name']}: {site['status']} in {site['elapsed_ms']:.0f} ms[/]", highlight=False
        )
    if not res["results"]:
        console.print("No dataset you may see matches.")
    for r in res["results"]:
        console.print(
            f"{r['score']:.2f}  [{r['site']}] {r['title']}\n      {r['pid']}  {r.get('url') or ''}",
            highlight=False,
        )
