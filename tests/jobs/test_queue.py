"""Background jobs on the real Redis broker, run by a real `halric worker` process, on both databases:
a request's job runs after its commit; a failing job retries with backoff, lands in the dead-letter list,
and an admin sees it and sends it again; a rolled-back transaction enqueues nothing; a committed job
that was never handed to the broker is sent by the relay; the scheduler delivers the mail outbox."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.support.accounts import bearer, csrf_from, signin
from tests.support.jobs import REDIS_URL, job_state, wait_for
from tests.support.net import free_port

from halric.core.actor import system_actor


@pytest.fixture(scope="module")
def people(db, worker):
    """An admin and a coordinator (made once per module)."""
    import uuid

    from halric.accounts import service
    from halric.accounts.schemas import NewUser

    names = {}
    with db.session() as s:
        for role in ("admin", "coordinator"):
            name = f"{role[:5]}{uuid.uuid4().hex[:6]}"
            service.create_user(
                s,
                system_actor("test"),
                NewUser(
                    username=name, email=f"{name}@example.org", password="correct-horse-battery", roles=[role]
                ),
            )
            names[role] = name
    return names


def _add_site(db, settings, name: str, url: str) -> None:
    from halric.federation import service
    from halric.federation.crypto import TokenBox

    with db.session() as s:
        body = {"name": name, "url": url, "kind": "panosc", "mode": "harvest"}
        service.add_site(s, system_actor("test"), TokenBox(settings.signing_key), service.validate(body))


def _redis():
    import redis

    return redis.Redis.from_url(REDIS_URL)


def test_a_requested_harvest_runs_in_the_worker_after_commit(client, db, settings, site, people):
    from halric.federation.models import HarvestedRecord

    _add_site(db, settings, "standin", site.url)
    h = bearer(db, people["coordinator"])
    r = client.post("/api/federation/sites/standin/harvest", headers=h)
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    assert job["kind"] == "federation.harvest" and job["args"] == {"site": "standin"}
    assert job["requested_by"] == people["coordinator"]
    done = wait_for(lambda: (j := job_state(db, job["id"])).state == "done" and j, what="the harvest job")
    assert done.attempts == 1 and done.result["added"] == 3
    assert done.progress == "page 1: 3 added, 0 updated"  # the worker reported the pages as it went
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(HarvestedRecord)) == 3
    # the admin API shows it; the audit log names who asked, and the harvest ran as them
    admin = bearer(db, people["admin"])
    got = client.get(f"/api/admin/jobs/{job['id']}", headers=admin).json()
    assert got["state"] == "done" and got["result"]["status"] == "done"
    assert client.get(f"/api/admin/jobs/{job['id']}", headers=h).status_code == 403
    events = client.get("/api/admin/audit", params={"entity_id": "standin"}, headers=admin).json()["items"]
    assert any(e["action"] == "harvest" and e["actor"] == people["coordinator"] for e in events)
    # asking again while nothing runs makes a new job; the page form queues one too
    signin(client, people["coordinator"])
    page = client.get("/federation/sites/standin")
    r = client.post(
        "/federation/sites/standin/harvest", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert r.status_code == 303 and "Harvest+queued+as+job" in r.headers["location"]


def test_a_failing_job_retries_with_backoff_then_an_admin_retries_it(client, db, settings, site, people):
    _add_site(db, settings, "down", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    h = bearer(db, people["coordinator"])
    job_id = client.post("/api/federation/sites/down/harvest", headers=h).json()["job"]["id"]
    dead = wait_for(lambda: (j := job_state(db, job_id)).state == "dead" and j, what="the dead letter")
    assert dead.attempts == 3 == dead.max_attempts  # HALRIC_JOB_MAX_RETRIES=2
    assert "could not reach the site" in dead.last_error
    # two waits of 0.3 s and 0.6 s (exponential) lie between the first attempt and the last
    assert (dead.finished_at - dead.created_at).total_seconds() >= 0.9
    # Dramatiq moved the message to the broker's dead-letter queue as well
    assert _redis().zcard(f"{settings.broker_namespace}:{settings.broker_namespace}_jobs.XQ") >= 1

    admin = people["admin"]
    api = client.get("/api/admin/jobs", params={"state": "dead"}, headers=bearer(db, admin)).json()
    assert api["counts"]["dead"] >= 1 and [x["id"] for x in api["items"]] == [job_id]
    signin(client, admin)
    page = client.get("/admin/jobs")
    assert page.status_code == 200
    assert f'id="job-{job_id}"' in page.text and "could not reach the site" in page.text
    assert f'action="/admin/jobs/{job_id}/retry"' in page.text
    assert 'href="/admin/jobs"' in client.get("/dashboard").text  # linked from the admin area

    # the site comes back; the admin sends the job again from the page and it runs
    from halric.federation.models import Site

    with db.session() as s:
        s.scalar(select(Site).where(Site.name == "down")).url = site.url
    r = client.post(
        f"/admin/jobs/{job_id}/retry", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert r.status_code == 303
    done = wait_for(lambda: (j := job_state(db, job_id)).state == "done" and j, what="the retried job")
    assert done.attempts == 1 and done.last_error is None
    events = client.get(
        "/api/admin/audit", params={"entity_id": str(job_id), "action": "retry"}, headers=bearer(db, admin)
    ).json()["items"]
    assert [e["actor"] for e in events] == [admin]
    # only dead jobs are sent again
    r = client.post(f"/api/admin/jobs/{job_id}/retry", headers=bearer(db, admin))
    assert r.status_code == 409 and "dead-letter" in r.json()["detail"]


def test_a_rolled_back_transaction_enqueues_nothing(client, db, settings, worker):
    """The unit of work a request gets (db.session()) with the app's queue attached, as in a request."""
    import uuid

    from halric.jobs import service
    from halric.jobs.models import Job

    handed: list[int] = []
    real = service.sender(db.engine)  # attached by the app while the client is open
    assert real is not None
    service.attach(db.engine, lambda ids: (handed.extend(ids), real(ids)))
    marker = uuid.uuid4().hex
    with pytest.raises(RuntimeError), db.session() as s:
        service.enqueue(s, system_actor("test"), "db.purge", {"marker": marker})
        raise RuntimeError("the request failed after asking for a job")
    with db.session() as s:
        rows = s.scalars(select(Job).where(Job.kind == "db.purge")).all()
        assert not [j for j in rows if (j.args or {}).get("marker") == marker]
    assert handed == []  # nothing went to the broker
    # the same request committing: its job is handed over right after the commit and runs
    with db.session() as s:
        job_id = service.enqueue(s, system_actor("test"), "db.purge", {"marker": marker}).id
        assert handed == []  # not before the commit
    assert handed == [job_id]
    assert wait_for(lambda: job_state(db, job_id).state == "done", what="the committed job")


def test_a_committed_job_not_handed_over_is_sent_by_the_relay(db, settings, worker):
    """A process with no broker (a `halric` command, or one killed right after commit) leaves the row
    pending; the worker's relay sends it."""
    from halric.core.db import Database
    from halric.jobs import service

    other = Database(settings.db_url)  # no queue attached to this engine
    try:
        with other.session() as s:
            job_id = service.enqueue(s, system_actor("test"), "db.purge", {}).id
        assert job_state(db, job_id).state in ("pending", "queued", "running", "done")
        done = wait_for(lambda: (j := job_state(db, job_id)).state == "done" and j, what="the relayed job")
        assert done.result is not None and "sessions" in done.result
    finally:
        other.dispose()


def test_the_scheduler_delivers_the_mail_outbox(db, mailbox, worker):
    from halric.calls.mail import queue
    from halric.calls.models import OutboxMessage
    from halric.jobs.models import Job

    with db.session() as s:
        msg = queue(s, "someone@example.org", "Queued by the test", "Hello from the outbox.")
        s.flush()
        msg_id = msg.id

    def delivered_by_a_scheduled_job():
        with db.session() as s:
            if s.get(OutboxMessage, msg_id).sent_at is None:
                return None
            return s.scalars(select(Job).where(Job.schedule == "mail", Job.state == "done")).all()

    runs = wait_for(
        lambda: (r := delivered_by_a_scheduled_job()) and any(j.result["sent"] for j in r) and r,
        what="the scheduled mail delivery",
    )
    assert any("Queued by the test" in m for m in mailbox.received)
    assert all(j.kind == "mail.send" and j.requested_by == "scheduler" for j in runs)
