"""``halric db``: create, migrate and inspect the schema."""

from __future__ import annotations

import typer

from halric.cli.common import console, database, settings

app = typer.Typer(
    help="Database: schema upgrade and status, search index, purge of expired records.", no_args_is_help=True
)


@app.command("upgrade")
def upgrade() -> None:
    """Create the schema or migrate it to the version this hub needs."""
    from halric.migrations import current_revision, head_revision
    from halric.migrations import upgrade as run_upgrade

    st = settings()
    if st.db_url.startswith("sqlite"):
        st.ensure_data_dir()
    db = database(check=False)
    before = current_revision(db.engine)
    run_upgrade(st.db_url)
    after = head_revision()
    db.dispose()
    if before == after:
        console.print(f"Database already at revision {after}.")
    else:
        console.print(f"Database upgraded from {before or 'empty'} to {after}.")


@app.command("status")
def status() -> None:
    """Show the schema revision of the database and the one this hub needs."""
    from halric.migrations import current_revision, head_revision

    db = database(check=False)
    have, need = current_revision(db.engine), head_revision()
    db.dispose()
    console.print(
        f"database: {have or 'empty'}; needed: {need}; {'up to date' if have == need else 'run `halric db upgrade`'}"
    )
    if have != need:
        raise typer.Exit(1)


@app.command("reindex-search")
def reindex_search() -> None:
    """Rebuild the full-text indexes of the catalog and of harvested records (SQLite) or create
    PostgreSQL's trigram indexes if missing."""
    from halric.catalog.fulltext import reindex
    from halric.cli.common import fail
    from halric.federation.models import RECORD_WORDS

    db = database()
    try:
        done = reindex(db.engine)
        harvested = RECORD_WORDS.reindex(db.engine)
        from halric.catalog.searchcache import invalidate

        invalidate(db.engine)  # cached search answers may rest on the old index: drop them everywhere
    except RuntimeError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    console.print(f"Catalog search index: {done}.")
    console.print(f"Harvested records search index: {harvested}.")


@app.command("purge")
def purge(
    keep_mail_days: int | None = typer.Option(
        None,
        "--keep-mail-days",
        min=0,
        max=36500,
        help="Keep delivered mail this many days (default: HALRIC_RETENTION_MAIL_DAYS, 90).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Apply the retention periods (docs/privacy.md): delete expired sessions, stale sign-in counters,
    expired e-mail links, unconfirmed sign-ups, old delivered mail and finished jobs, and remove old client
    addresses (safe from cron; the worker also runs it daily)."""
    import json

    from halric.core.actor import system_actor
    from halric.jobs.tasks import purge as run_purge

    st = settings()
    db = database()
    try:
        with db.session() as s:
            counts = run_purge(s, st, system_actor("purge"), keep_mail_days=keep_mail_days)
    finally:
        db.dispose()
    if json_out:
        print(json.dumps(counts))
    else:
        mail_days = st.retention_mail_days if keep_mail_days is None else keep_mail_days
        console.print(
            f"Deleted {counts['sessions']} expired session(s), {counts['login_failures']} stale sign-in "
            f"failure counter(s), {counts['email_links']} expired e-mail link(s), "
            f"{counts['unconfirmed_accounts']} sign-up(s) never confirmed within "
            f"{st.retention_unconfirmed_days} days, {counts['delivered_mail']} delivered mail(s) older than "
            f"{mail_days} days and {counts['finished_jobs']} finished job(s); removed the client address "
            f"from {counts['addresses']} record(s) older than {st.retention_address_days} days."
        )
