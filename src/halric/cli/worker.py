"""``halric worker`` (runs background jobs and their schedules) and ``halric jobs`` (list, retry, run)."""

from __future__ import annotations

import json

import typer

from halric.cli.common import console, database, fail, settings

jobs_app = typer.Typer(help="Background jobs: list them, retry dead ones, enqueue one.", no_args_is_help=True)


def worker(
    threads: int | None = typer.Option(
        None, "--threads", min=1, max=64, help="Jobs run at once (default: HALRIC_WORKER_THREADS)."
    ),
    scheduler: bool = typer.Option(
        True,
        "--scheduler/--no-scheduler",
        help="Also enqueue the periodic jobs (mail, harvests, embargo, DOIs, purge).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log Dramatiq's own messages too."),
) -> None:
    """Run the queue's workers until stopped (Ctrl-C or SIGTERM): each job is logged as it starts,
    progresses and ends. Uses HALRIC_BROKER_URL; without it, jobs are taken from the database table."""
    import logging
    import signal
    import threading

    from halric.jobs.runtime import Runtime

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("dramatiq").setLevel(logging.INFO if verbose else logging.WARNING)
    logging.getLogger("pika").setLevel(logging.WARNING)
    st = settings()
    db = database()
    rt = Runtime(st, db, threads=threads, scheduler=scheduler)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if not st.broker_url:
        console.print(
            "No HALRIC_BROKER_URL: running jobs from the database on an in-process broker "
            "(fine on one machine; set a broker for several).",
            highlight=False,
        )
    rt.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        rt.stop(timeout_ms=60_000)  # running jobs get a minute to finish
        db.dispose()


@jobs_app.command("list")
def list_(
    state: str | None = typer.Option(
        None, "--state", help="pending, queued, running, retrying, done or dead."
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=10000),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List jobs, newest first (--state dead: the dead-letter list)."""
    from halric.jobs import service

    db = database()
    try:
        with db.session() as s:
            rows, total = service.list_jobs(s, state=state, limit=limit)
            items = [service.job_dict(j) for j in rows]
            counts = service.counts(s)
    finally:
        db.dispose()
    if as_json:
        print(json.dumps({"total": total, "counts": counts, "items": items}, indent=1))
        return
    console.print(" ".join(f"{k} {v}" for k, v in counts.items()), highlight=False)
    for j in items:
        err = (j["last_error"] or "").split("\n")[0][:80]
        console.print(
            f"{j['id']:>6} {j['state']:<9} {j['attempts']}/{j['max_attempts']} {j['kind']:<26} {j['requested_by']:<12} {err}",
            highlight=False,
        )


@jobs_app.command("retry")
def retry(job_id: int = typer.Argument(..., help="A job of the dead-letter list.")) -> None:
    """Send a dead job again (audited)."""
    from halric.core.actor import system_actor
    from halric.jobs import service

    st = settings()
    db = database()
    try:
        with db.session() as s:
            service.retry(s, system_actor("jobs"), job_id, max_attempts=st.job_max_retries + 1)
    finally:
        db.dispose()
    console.print(f"Job {job_id} queued again; a worker runs it.")


@jobs_app.command("enqueue")
def enqueue(
    kind: str = typer.Argument(
        ...,
        help="mail.send, federation.harvest, catalog.release_embargoed, catalog.register_dois or db.purge.",
    ),
    args: str = typer.Option("{}", "--args", help='Arguments as JSON, e.g. {"site": "maxiv"}.'),
) -> None:
    """Queue one job now (a worker runs it)."""
    from halric.core.actor import system_actor
    from halric.jobs import service

    try:
        parsed = json.loads(args)
    except json.JSONDecodeError as exc:
        fail(f"--args: not valid JSON ({exc.msg})")
    if not isinstance(parsed, dict):
        fail("--args: give a JSON object")
    st = settings()
    db = database()
    try:
        with db.session() as s:
            job = service.enqueue(s, system_actor("jobs"), kind, parsed, max_attempts=st.job_max_retries + 1)
            jid = job.id
    finally:
        db.dispose()
    console.print(f"Job {jid} queued; a worker runs it.")
