"""Periodic jobs, run by the worker's scheduler instead of cron.

Each schedule has a name, an interval and a job. Time is cut into slots of the interval; a tick enqueues
the schedule's job once per slot, under the key ``schedule:<name>:<slot>``. The key is unique in the
jobs table, so several schedulers (several workers, several web processes) enqueue each slot once. A
schedule whose previous job has not finished yet is skipped, so a stopped worker does not pile up work,
and so is one with nothing to do (no mail waiting, no DOI registration queued).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.core.actor import system_actor
from halric.core.db import Database
from halric.core.settings import Settings
from halric.core.timeutil import utcnow


@dataclass(frozen=True)
class Schedule:
    name: str
    every_seconds: int
    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    # when set, the job is enqueued only if there is work for it (keeps the job list free of empty runs)
    has_work: Callable[[Session], bool] | None = None


def _mail_waiting(s: Session) -> bool:
    from halric.calls.mail import pending

    return bool(pending(s, limit=1))


def _dois_queued(s: Session) -> bool:
    from halric.catalog.published import queued_count

    return queued_count(s) > 0


def _visits_due(s: Session) -> bool:
    from halric.calls.visits import has_due

    return has_due(s)


def schedules(db: Database, settings: Settings) -> list[Schedule]:
    """The periodic jobs of this hub: fixed ones from the settings, and one harvest per site."""
    from halric.federation.models import Site

    out = [
        Schedule("mail", settings.schedule_mail_seconds, "mail.send", has_work=_mail_waiting),
        Schedule("embargo", settings.schedule_embargo_seconds, "catalog.release_embargoed"),
        Schedule("doi", settings.schedule_doi_seconds, "catalog.register_dois", has_work=_dois_queued),
        Schedule("purge", settings.schedule_purge_seconds, "db.purge"),
        Schedule("visits", settings.schedule_visits_seconds, "visits.due", has_work=_visits_due),
    ]
    with db.session() as s:
        rows = s.execute(
            select(Site.name, Site.harvest_interval_minutes).where(
                Site.enabled.is_(True), Site.mode == "harvest"
            )
        ).all()
    for name, minutes in rows:
        every = (settings.harvest_interval_minutes if minutes is None else minutes) * 60
        out.append(Schedule(f"harvest:{name}", every, "federation.harvest", {"site": name}))
    return [x for x in out if x.every_seconds > 0]


def tick(db: Database, settings: Settings, now: datetime | None = None) -> list[int]:
    """Enqueue the periodic jobs that are due; returns the ids of the jobs added."""
    from halric.jobs import service

    now = now or utcnow()
    added = []
    actor = system_actor("scheduler", via="worker")
    for sc in schedules(db, settings):
        slot = int(now.timestamp() // sc.every_seconds)
        key = f"schedule:{sc.name}:{slot}"
        with db.session() as s:
            if service.active_for_schedule(s, sc.name):
                continue
            if sc.has_work is not None and not sc.has_work(s):
                continue
            job = service.enqueue(
                s,
                actor,
                sc.kind,
                sc.args,
                key=key,
                schedule=sc.name,
                max_attempts=settings.job_max_retries + 1,
            )
            if job.key == key and job.state == "pending" and job.id in s.info.get("halric_jobs", []):
                added.append(job.id)
    return added
