"""The Dramatiq side: the broker from ``HALRIC_BROKER_URL``, one actor that runs a job row, and sending.

One actor (``<namespace>_job``) takes a job id. It claims the row (so a message delivered twice runs
the job once), runs the handler, and records the outcome. A failed attempt raises Dramatiq's ``Retry``
with an exponential backoff (``HALRIC_JOB_MIN_BACKOFF_SECONDS`` doubling up to ``…_MAX_…``); the last
one raises ``JobDead``, which Dramatiq moves to the broker's dead-letter queue while the row becomes
``dead`` (the list an admin sees at ``/admin/jobs``).
"""

from __future__ import annotations

import logging
import time
import traceback
from datetime import timedelta
from typing import Any

from halric.core.db import Database
from halric.core.errors import InvalidInput, NotFound, PermissionDenied
from halric.core.settings import Settings
from halric.jobs import service

log = logging.getLogger("halric.jobs")


class JobDead(Exception):
    """The last attempt failed: Dramatiq dead-letters the message (no retry)."""


# errors that another attempt cannot mend (bad arguments, a site removed, no permission): dead at once
PERMANENT = (NotFound, InvalidInput, PermissionDenied)


def make_broker(settings: Settings) -> Any:
    """A Dramatiq broker for the URL (redis://, rediss://, amqp://, amqps://) or an in-process StubBroker."""
    from dramatiq.middleware import CurrentMessage

    url = settings.broker_url
    if not url:
        from dramatiq.brokers.stub import StubBroker

        broker = StubBroker()
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url, namespace=settings.broker_namespace)
    elif url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    else:
        raise InvalidInput(
            "HALRIC_BROKER_URL: give redis://HOST:PORT/DB or amqp://USER:PASSWORD@HOST:PORT/VHOST",
            field="broker_url",
        )
    broker.add_middleware(CurrentMessage())
    return broker


def backoff(settings: Settings, attempt: int) -> timedelta:
    """Wait after failed attempt number ``attempt`` (1, 2, …): min · 2^(attempt-1), at most max."""
    seconds = min(settings.job_max_backoff_seconds, settings.job_min_backoff_seconds * 2 ** (attempt - 1))
    return timedelta(seconds=seconds)


class Queue:
    """The broker, the job actor and the sending side; a worker (runtime.Runtime) consumes it."""

    def __init__(self, settings: Settings, db: Database) -> None:
        import dramatiq

        self.settings = settings
        self.db = db
        self.engine = service.writer(db.engine)  # the job table's own updates are short writes
        self.broker = make_broker(settings)
        self.queue_name = f"{settings.broker_namespace}_jobs"
        self.stale_after = timedelta(seconds=settings.job_time_limit_seconds + 300)
        self.running: set[int] = set()  # jobs this process is running now
        self.actor = dramatiq.actor(
            self._run,
            actor_name=f"{settings.broker_namespace}_job",
            queue_name=self.queue_name,
            broker=self.broker,
            max_retries=10_000,  # the job row counts attempts; JobDead ends them
            throws=(JobDead,),
            time_limit=settings.job_time_limit_seconds * 1000,
        )

    @property
    def kind(self) -> str:
        url = self.settings.broker_url or ""
        return "redis" if url.startswith(("redis", "unix")) else "rabbitmq" if url else "in-process"

    def send(self, ids: list[int]) -> int:
        """Hand jobs to the broker (only those still ``pending``); returns how many were sent."""
        sent = 0
        for jid in service.take_for_sending(self.engine, ids):
            try:
                self.actor.send(jid)
            except Exception:
                service.put_back(self.engine, [jid])
                raise
            sent += 1
        return sent

    def attach(self) -> None:
        """Send jobs committed through this database right after their commit."""
        service.attach(self.db.engine, self.send)

    def close(self) -> None:
        service.detach(self.db.engine)
        self.broker.close()

    # --- the worker's side ------------------------------------------------------------------------------

    def _run(self, job_id: int) -> None:
        from dramatiq import Retry
        from dramatiq.middleware import Interrupt

        from halric.jobs.models import Job
        from halric.jobs.tasks import HANDLERS, Context

        engine = self.engine
        if not service.claim(engine, job_id, stale_after=self.stale_after):
            log.info("job %s: already taken, done or dead; message dropped", job_id)
            return
        with self.db.session() as s:
            job = s.get(Job, job_id)
            assert job is not None
            kind, args, attempt, max_attempts = job.kind, dict(job.args or {}), job.attempts, job.max_attempts
            actor = service.actor_from(job.actor)
        log.info("job %s %s: attempt %s of %s started", job_id, kind, attempt, max_attempts)
        start = time.perf_counter()
        self.running.add(job_id)
        try:
            handler = HANDLERS.get(kind)
            if handler is None:
                raise JobDead(f"no handler for job kind {kind!r} in this version of the hub")
            result = handler(Context(self.db, self.settings, actor, job_id), args)
        except (Exception, Interrupt) as exc:
            error = f"{type(exc).__name__}: {exc}".strip()
            final = isinstance(exc, (JobDead, *PERMANENT)) or attempt >= max_attempts
            wait = None if final else backoff(self.settings, attempt)
            service.failed(engine, job_id, error + "\n\n" + traceback.format_exc(limit=8), retry_in=wait)
            if final:
                log.error("job %s %s: attempt %s failed, dead-lettered: %s", job_id, kind, attempt, error)
                raise JobDead(error) from None
            log.warning(
                "job %s %s: attempt %s failed (%s); retry in %.1f s", job_id, kind, attempt, error,
                wait.total_seconds(),
            )  # fmt: skip
            raise Retry(error, delay=int(wait.total_seconds() * 1000)) from None
        finally:
            self.running.discard(job_id)
        elapsed = time.perf_counter() - start
        service.finish(engine, job_id, result)
        log.info("job %s %s: done in %.2f s %s", job_id, kind, elapsed, result or "")
