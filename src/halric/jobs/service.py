"""Jobs as rows: enqueue inside the caller's transaction, hand over after commit, claim, finish, retry.

Enqueueing only adds a row to the caller's session. When that session commits, the rows it added are
handed to the broker (``after_commit``); when it rolls back they never existed, so nothing is sent. A row
that could not be handed over (process killed between commit and send, broker down) stays ``pending``
and the worker's relay sends it later: a committed job is never lost.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound
from halric.core.timeutil import utcnow
from halric.jobs.models import ACTIVE, STATES, Job

log = logging.getLogger("halric.jobs")

_SESSION_KEY = "halric_jobs"
# connection pool -> function sending job ids to the broker; set by whoever runs a queue in this process.
# Keyed by the pool: sessions may be bound to the engine or to a copy of it with execution options
# (core.db's writer bind), and both share the pool.
_senders: weakref.WeakKeyDictionary[Any, Callable[[list[int]], None]] = weakref.WeakKeyDictionary()


def attach(engine: Engine, send: Callable[[list[int]], None]) -> None:
    """Hand jobs committed through ``engine`` (or a copy of it with options) to ``send`` after commit."""
    _senders[engine.pool] = send


def detach(engine: Engine) -> None:
    _senders.pop(engine.pool, None)


def sender(engine: Engine) -> Callable[[list[int]], None] | None:
    return _senders.get(engine.pool)


def writer(engine: Engine) -> Engine:
    """The engine marked for writing (on SQLite such transactions queue on the hub's writer lock)."""
    from halric.core.db import WRITE

    return engine.execution_options(**{WRITE: True})


def actor_dict(actor: Actor) -> dict[str, Any]:
    d = asdict(actor)
    d["roles"], d["groups"] = sorted(actor.roles), sorted(actor.groups)
    return d


def actor_from(d: dict[str, Any], fallback: str = "worker") -> Actor:
    """The requester, as the job acts for them (never with the system's powers: via is ``worker``)."""
    if not d:
        return Actor(user_id=None, username=fallback, roles=frozenset({"admin"}), via="worker")
    return Actor(
        user_id=d.get("user_id"),
        username=str(d.get("username") or fallback),
        roles=frozenset(d.get("roles") or ()),
        groups=frozenset(d.get("groups") or ()),
        organisation=d.get("organisation"),
        ip=d.get("ip"),
        via="worker",
    )


def enqueue(
    s: Session,
    actor: Actor,
    kind: str,
    args: dict[str, Any] | None = None,
    *,
    key: str | None = None,
    schedule: str | None = None,
    max_attempts: int = 6,
    dedupe: bool = False,
) -> Job:
    """Add a job to the caller's unit of work. With ``key``, a job with that key already stored is
    returned instead (a repeated request enqueues once); with ``dedupe``, so is a job of the same kind
    and arguments that has not finished. A job asked for by a person is audited."""
    from halric.jobs.tasks import HANDLERS

    if kind not in HANDLERS:
        raise InvalidInput(f"kind: no job called {kind!r}", field="kind")
    if key is not None:
        found = s.scalar(select(Job).where(Job.key == key))
        if found is not None:
            return found
    if dedupe:
        for found in s.scalars(select(Job).where(Job.kind == kind, Job.state.in_(ACTIVE))):
            if (found.args or {}) == (args or {}):
                return found
    job = Job(
        kind=kind,
        args=args or {},
        key=key,
        schedule=schedule,
        state="pending",
        max_attempts=max_attempts,
        requested_by=actor.username[:150],
        actor=actor_dict(actor),
        created_at=utcnow(),
    )
    if key is not None:
        try:
            with s.begin_nested():
                s.add(job)
        except IntegrityError:  # another process stored the same key meanwhile
            found = s.scalar(select(Job).where(Job.key == key))
            assert found is not None
            return found
    else:
        s.add(job)
    s.flush()
    if schedule is None:
        audit.record(s, actor, "enqueue", "job", job.id, {"kind": kind, "args": args or {}})
    s.info.setdefault(_SESSION_KEY, []).append(job.id)
    return job


@event.listens_for(Session, "after_commit")
def _after_commit(s: Session) -> None:
    ids = s.info.pop(_SESSION_KEY, None)
    if not ids:
        return
    try:
        send = _senders.get(s.get_bind().pool)  # type: ignore[union-attr]
    except Exception:  # pragma: no cover - unbound session
        send = None
    if send is None:
        return  # no queue in this process: the worker's relay picks the rows up
    try:
        send(list(ids))
    except Exception:  # the rows stay pending; the relay sends them
        log.warning("could not hand jobs %s to the broker; the relay will", ids, exc_info=True)


@event.listens_for(Session, "after_rollback")
def _after_rollback(s: Session) -> None:
    s.info.pop(_SESSION_KEY, None)


def take_for_sending(engine: Engine, ids: Iterable[int]) -> list[int]:
    """Mark ``pending`` jobs ``queued``; returns those this caller must send (exactly one caller does)."""
    taken = []
    with engine.begin() as conn:
        for jid in ids:
            res = conn.execute(
                update(Job)
                .where(Job.id == jid, Job.state == "pending")
                .values(state="queued", queued_at=utcnow())
            )
            if res.rowcount == 1:
                taken.append(jid)
    return taken


def put_back(engine: Engine, ids: Iterable[int]) -> None:
    """The broker refused: the jobs go back to ``pending`` for the relay."""
    with engine.begin() as conn:
        conn.execute(update(Job).where(Job.id.in_(list(ids)), Job.state == "queued").values(state="pending"))


def due_for_relay(engine: Engine, *, stale_after: timedelta, limit: int = 500) -> list[int]:
    """Jobs to (re)send: pending ones, and running ones whose worker vanished (older than ``stale_after``)."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            update(Job)
            .where(Job.state == "running", Job.started_at < now - stale_after)
            .values(state="pending", progress="worker lost; sent again")
        )
        return list(conn.scalars(select(Job.id).where(Job.state == "pending").order_by(Job.id).limit(limit)))


def claim(engine: Engine, job_id: int, *, stale_after: timedelta) -> bool:
    """Start a job: true for exactly one worker while it is not done, dead or running elsewhere."""
    now = utcnow()
    with engine.begin() as conn:
        res = conn.execute(
            update(Job)
            .where(
                Job.id == job_id,
                or_(
                    Job.state.in_(("pending", "queued", "retrying")),
                    (Job.state == "running") & (Job.started_at < now - stale_after),
                ),
            )
            .values(
                state="running",
                started_at=now,
                attempts=Job.attempts + 1,
                next_attempt_at=None,
                progress=None,
            )
        )
        return res.rowcount == 1


def release(engine: Engine, ids: Iterable[int]) -> int:
    """Jobs a stopping worker could not finish go back to ``pending`` (the next relay sends them)."""
    ids = list(ids)
    if not ids:
        return 0
    with engine.begin() as conn:
        res = conn.execute(
            update(Job)
            .where(Job.id.in_(ids), Job.state == "running")
            .values(state="pending", attempts=Job.attempts - 1, progress="worker stopped; sent again")
        )
        return int(res.rowcount or 0)


def set_progress(engine: Engine, job_id: int, text: str) -> None:
    with engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(progress=text[:500]))


def finish(engine: Engine, job_id: int, result: dict[str, Any] | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(state="done", finished_at=utcnow(), result=result, last_error=None)
        )


def failed(engine: Engine, job_id: int, error: str, *, retry_in: timedelta | None) -> None:
    """A failed attempt: ``retrying`` after ``retry_in``, or ``dead`` when ``retry_in`` is None."""
    now = utcnow()
    values: dict[str, Any] = {"last_error": error[:4000]}
    if retry_in is None:
        values.update(state="dead", finished_at=now, next_attempt_at=None)
    else:
        values.update(state="retrying", next_attempt_at=now + retry_in)
    with engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(**values))


# --- reading and the admin's actions ----------------------------------------------------------------------


def job_dict(j: Job) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.isoformat().replace("+00:00", "Z") if v else None

    return {
        "id": j.id,
        "kind": j.kind,
        "args": j.args or {},
        "state": j.state,
        "attempts": j.attempts,
        "max_attempts": j.max_attempts,
        "requested_by": j.requested_by,
        "schedule": j.schedule,
        "progress": j.progress,
        "last_error": j.last_error,
        "result": j.result,
        "created_at": iso(j.created_at),
        "started_at": iso(j.started_at),
        "finished_at": iso(j.finished_at),
        "next_attempt_at": iso(j.next_attempt_at),
    }


def get(s: Session, job_id: int) -> Job:
    job = s.get(Job, job_id)
    if job is None:
        raise NotFound(f"No job {job_id}.")
    return job


def list_jobs(
    s: Session, *, state: str | None = None, kind: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Job], int]:
    if state is not None and state not in STATES:
        raise InvalidInput(f"state: give one of {', '.join(STATES)}", field="state")
    q = select(Job)
    if state:
        q = q.where(Job.state == state)
    if kind:
        q = q.where(Job.kind == kind)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = list(s.scalars(q.order_by(Job.id.desc()).limit(limit).offset(offset)))
    return rows, total


def counts(s: Session) -> dict[str, int]:
    found = dict(s.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    return {st: int(found.get(st, 0)) for st in STATES}


def retry(s: Session, actor: Actor, job_id: int, *, max_attempts: int | None = None) -> Job:
    """Send a dead job again with a fresh set of attempts (admins); audited."""
    if not actor.has_role("admin"):
        from halric.core.errors import PermissionDenied

        raise PermissionDenied("Only administrators retry jobs.")
    job = get(s, job_id)
    if job.state != "dead":
        raise Conflict(f"Job {job_id} is {job.state}; only jobs in the dead-letter list are retried.")
    job.state = "pending"
    job.attempts = 0
    if max_attempts is not None:
        job.max_attempts = max_attempts
    job.finished_at = None
    job.next_attempt_at = None
    job.progress = "retried by " + actor.username
    audit.record(
        s, actor, "retry", "job", job.id, {"kind": job.kind, "last_error": (job.last_error or "")[:500]}
    )
    s.flush()
    s.info.setdefault(_SESSION_KEY, []).append(job.id)
    return job


def waiting_since(s: Session, *, longer_than: timedelta = timedelta(minutes=2)) -> datetime | None:
    """When the oldest job still waiting for a worker was created, if it has waited ``longer_than``."""
    oldest = s.scalar(select(func.min(Job.created_at)).where(Job.state.in_(("pending", "queued"))))
    if oldest is not None and oldest < utcnow() - longer_than:
        return oldest
    return None


def active_for_schedule(s: Session, schedule: str) -> bool:
    return bool(s.scalar(select(func.count()).where(Job.schedule == schedule, Job.state.in_(ACTIVE))))


def forget_addresses(s: Session, *, before: datetime) -> int:
    """Remove the requester's client address from jobs created before ``before`` (the retention period
    of addresses); the jobs themselves go after ``HALRIC_JOB_KEEP_DAYS``."""
    n = 0
    q = select(Job).where(Job.created_at < before, Job.actor["ip"].as_string().is_not(None))
    for job in s.scalars(q):
        job.actor = {**job.actor, "ip": None}
        n += 1
    return n


def purge_finished(s: Session, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete jobs done longer ago than ``older_than`` (dead jobs stay until retried or handled)."""
    cutoff = (now or utcnow()) - older_than
    res = s.execute(delete(Job).where(Job.state == "done", Job.finished_at < cutoff))
    return int(res.rowcount or 0)
