"""``halric serve`` and ``halric init``."""

from __future__ import annotations

import secrets

import typer

from halric.cli.common import console, database, fail, settings


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
    trusted_proxies: str | None = typer.Option(
        None,
        "--trusted-proxies",
        help="Reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated addresses or "
        "networks). Default: HALRIC_TRUSTED_PROXIES, else none.",
    ),
) -> None:
    """Serve the hub over HTTP. Refuses to start on an out-of-date database schema."""
    import os

    import uvicorn

    if trusted_proxies is not None:
        os.environ["HALRIC_TRUSTED_PROXIES"] = trusted_proxies  # read by every worker's settings
    db = database()  # raises SchemaOutOfDate with the fixing command
    db.dispose()
    os.environ["HALRIC_MATCH_PRELOAD"] = (
        "1"  # the app loads matchmaking while it starts, not on the first question
    )
    st = settings()
    console.print(
        f"HALRIC Hub on http://{host}:{port}/  (database: {st.db_url.split('@')[-1]}, workers: {workers})"
    )
    options = {
        "proxy_headers": False,  # the app itself believes X-Forwarded-* only from HALRIC_TRUSTED_PROXIES
        "log_level": "info",
        "timeout_graceful_shutdown": 10,
        "timeout_keep_alive": 75,  # longer than a proxy keeps an idle upstream connection: it closes first
    }
    from halric.cli import workers as processes

    if workers > 1 and processes.available():
        # a listening socket per worker: the kernel spreads connections over them (halric/cli/workers.py)
        try:
            code = processes.serve(host, port, workers, options)
        except OSError as exc:
            fail(f"Cannot listen on {host}:{port}: {exc.strerror or exc}.")
        raise typer.Exit(code)
    uvicorn.run(
        "halric.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=60,  # a worker importing the app on a busy machine is not dead
        **options,  # type: ignore[arg-type]
    )


def _prepare_matchmaking(db, st) -> None:  # type: ignore[no-untyped-def]
    """Build the matchmaking index and passage embeddings now, so the first question is answered at once."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from halric.match import service as matching

    with (
        db.session() as s,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress,  # fmt: skip
    ):
        task = progress.add_task("Preparing matchmaking", total=None)

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        m = matching.prepare(s, cache_dir=st.cache_path, progress=step)
    console.print(
        f"Matchmaking ready ({m.method}; {len(m.docs)} techniques, languages: en, {', '.join(sorted(m.languages))})."
    )


def init(
    skip_seed: bool = typer.Option(False, "--skip-seed", help="Do not load the registry seed data."),
) -> None:
    """Create or upgrade the database, load seed data, and create a first admin if there is none."""
    from halric.accounts import service
    from halric.accounts.schemas import NewUser
    from halric.cli.db import upgrade
    from halric.core.actor import system_actor

    upgrade()
    db = database()
    if not skip_seed:
        from halric.seed import load_seed

        load_seed(db, console)
    st = settings()
    _prepare_matchmaking(db, st)
    with db.session() as s:
        if service.count_admins(s) == 0:
            password = st.admin_password or secrets.token_urlsafe(12)
            service.create_user(
                s,
                system_actor("init"),
                NewUser(
                    username="admin", email="admin@localhost.localdomain", password=password, roles=["admin"]
                ),
                min_password_length=st.password_min_length,
            )
            if st.admin_password:
                console.print(
                    "Created the first admin account 'admin' with the password from HALRIC_ADMIN_PASSWORD."
                )
            else:
                console.print(
                    f"Created the first admin account. Sign in as [bold]admin[/] with password [bold]{password}[/] and change it on your account page."
                )
    db.dispose()
    from pathlib import Path

    from halric.catalog.folders import default_download_root

    data = Path(default_download_root(st.data_dir))
    if not data.exists():
        data.mkdir(parents=True)
        console.print(
            f"Made {data} for experiment data: catalogued files under it can be downloaded by those who "
            "may read their dataset (HALRIC_DOWNLOAD_ROOTS chooses other folders)."
        )
