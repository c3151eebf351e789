"""What each kind of job does. Every handler is idempotent: running it twice changes nothing more than
running it once (the work it calls is itself safe from cron), so a retried or redelivered job is harmless.

A handler takes the job's context and its arguments and returns a small JSON-able summary, stored on the
job and printed by the worker. It raises to fail the attempt (the queue retries it with backoff).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from halric.core.actor import Actor, system_actor
from halric.core.db import Database
from halric.core.settings import Settings


@dataclass(frozen=True)
class Context:
    db: Database
    settings: Settings
    actor: Actor  # who asked (a scheduled job: the scheduler)
    job_id: int

    def progress(self, text: str) -> None:
        from halric.jobs.service import set_progress, writer

        set_progress(writer(self.db.engine), self.job_id, text)


class JobFailed(Exception):
    """The work reported a failure (the attempt is retried)."""


def send_mail(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """Deliver the mail outbox over SMTP. Messages that fail keep their own backoff in the outbox;
    the job fails (and is retried) only when the mail server could not be reached at all."""
    from halric.calls.mail import send_pending

    sent = failed = 0
    while True:
        with ctx.db.session() as s:
            n_sent, n_failed = send_pending(s, ctx.settings)
        sent, failed = sent + n_sent, failed + n_failed
        if n_sent == 0:
            break
        ctx.progress(f"{sent} sent, {failed} failed")
    if failed and not sent and args.get("strict"):
        raise JobFailed(f"{failed} message(s) could not be delivered; they stay in the outbox")
    return {"sent": sent, "failed": failed}


def harvest_site(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """Harvest one site (resumable: a retry goes on from the last page stored)."""
    from halric.federation.crypto import TokenBox
    from halric.federation.harvest import harvest

    def on_page(stats: dict[str, Any]) -> None:
        ctx.progress(f"page {stats['pages']}: {stats['added']} added, {stats['updated']} updated")

    site = str(args["site"])
    box = TokenBox(ctx.settings.signing_key)
    res = harvest(ctx.db, ctx.actor, box, site, full=bool(args.get("full")), on_page=on_page)
    if res["status"] == "error":
        raise JobFailed(f"harvest of {args['site']}: {res.get('message')}")
    return res


def release_embargoed(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    from halric.catalog import service

    with ctx.db.session() as s:
        pids = service.release_embargoed(s, system_actor("embargo", via="worker"))
    return {"released": len(pids), "pids": pids[:50]}


def register_dois(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """Register the DOIs whose registration was asked for while DataCite could not be reached."""
    from halric.catalog import published

    dois = [str(args["doi"])] if args.get("doi") else None
    done, problems = published.register_queued(ctx.db, system_actor("doi", via="worker"), dois)
    if problems:
        raise JobFailed("; ".join(f"{doi}: {msg}" for doi, msg in problems.items())[:2000])
    return {"registered": done}


def purge(
    s: Session, settings: Settings, actor: Actor, *, keep_mail_days: int | None = None
) -> dict[str, int]:
    """``halric db purge``: every retention period of the record of processing (docs/privacy.md) —
    expired sessions, stale counters and links, unconfirmed sign-ups, delivered mail, client addresses,
    finished jobs. ``keep_mail_days`` overrides ``HALRIC_RETENTION_MAIL_DAYS``."""
    from halric.accounts import service as accounts
    from halric.calls.mail import purge_sent
    from halric.core import audit
    from halric.core.timeutil import utcnow
    from halric.jobs import service as jobs

    now = utcnow()
    mail_days = settings.retention_mail_days if keep_mail_days is None else keep_mail_days
    counts = accounts.purge_expired(
        s,
        now=now,
        unconfirmed_after=timedelta(days=settings.retention_unconfirmed_days),
        sessions_after=timedelta(days=settings.retention_session_days),
    )
    counts["delivered_mail"] = purge_sent(s, older_than=timedelta(days=mail_days), now=now)
    counts["finished_jobs"] = jobs.purge_finished(
        s, older_than=timedelta(days=settings.job_keep_days), now=now
    )
    before = now - timedelta(days=settings.retention_address_days)
    counts["addresses"] = (
        audit.forget_addresses(s, before=before)
        + accounts.forget_addresses(s, before=before)
        + jobs.forget_addresses(s, before=before)
    )
    if any(counts.values()):
        audit.record(s, actor, "purge", "maintenance", None, counts)
    return counts


def purge_job(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    keep = args.get("keep_mail_days")
    with ctx.db.session() as s:
        return purge(
            s,
            ctx.settings,
            system_actor("purge", via="worker"),
            keep_mail_days=None if keep is None else int(keep),
        )


def visits_due(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """Access visits: reminders before confirmed visits, and feedback requests after them (each once)."""
    from halric.calls import visits

    with ctx.db.session() as s:
        return visits.send_due(s, ctx.settings.base_url)


HANDLERS: dict[str, Callable[[Context, dict[str, Any]], dict[str, Any] | None]] = {
    "mail.send": send_mail,
    "federation.harvest": harvest_site,
    "catalog.release_embargoed": release_embargoed,
    "catalog.register_dois": register_dois,
    "db.purge": purge_job,
    "visits.due": visits_due,
}
