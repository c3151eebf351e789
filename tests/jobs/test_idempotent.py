"""Jobs may run twice (a redelivered message, cron beside the scheduler): the work must not happen twice."""

from __future__ import annotations

import threading
import time

from halric.core.actor import system_actor


def test_two_mail_senders_at_once_send_each_message_once(db, settings, mailbox):
    from halric.calls.mail import queue, send_pending

    st = settings.model_copy(update={"smtp_port": mailbox.port})
    subject = "Only once " + str(time.monotonic_ns())
    with db.session() as s:
        queue(s, "once@example.org", subject, "One message, two senders.")
    first_claimed = threading.Event()
    results: dict[str, tuple[int, int]] = {}

    def first() -> None:
        with db.session() as s:
            results["first"] = send_pending(s, st)
            first_claimed.set()
            time.sleep(0.5)  # still in its transaction when the second sender tries

    def second() -> None:
        first_claimed.wait(10)
        with db.session() as s:
            results["second"] = send_pending(s, st)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results["first"] == (1, 0) and results["second"] == (0, 0)
    assert sum(subject in m for m in mailbox.received) == 1


def test_a_job_claimed_once_however_often_its_message_comes(db, settings):
    from datetime import timedelta

    from halric.jobs import service
    from halric.jobs.models import Job

    with db.session() as s:
        job_id = service.enqueue(s, system_actor("test"), "db.purge", {}).id
    stale = timedelta(minutes=30)
    assert service.claim(db.engine, job_id, stale_after=stale) is True
    assert service.claim(db.engine, job_id, stale_after=stale) is False  # running elsewhere
    service.finish(db.engine, job_id, {"ok": 1})
    assert service.claim(db.engine, job_id, stale_after=stale) is False  # done
    # a worker that vanished mid-job: after the time limit the job may be taken again
    assert service.claim(db.engine, job_id, stale_after=timedelta(0)) is False  # done stays done
    with db.session() as s:
        job2 = service.enqueue(s, system_actor("test"), "db.purge", {}).id
    assert service.claim(db.engine, job2, stale_after=stale) is True
    time.sleep(0.05)
    assert service.claim(db.engine, job2, stale_after=timedelta(0)) is True
    # a worker stopping mid-job puts it back for the relay, without counting the attempt
    assert service.release(db.engine, [job2]) == 1
    with db.session() as s:
        j = s.get(Job, job2)
        assert (j.state, j.attempts) == ("pending", 1)
    assert service.release(db.engine, [job_id]) == 0  # done stays done


def test_the_jobs_page_warns_when_no_worker_takes_jobs(client, db, make_user):
    from datetime import timedelta

    from tests.support.accounts import signin

    from halric.core.timeutil import utcnow
    from halric.jobs.models import Job

    admin = make_user(roles=["admin"])
    signin(client, admin)
    assert 'id="jobs-waiting"' not in client.get("/admin/jobs?state=done").text
    with db.session() as s:
        s.add(Job(kind="db.purge", state="pending", requested_by="t", max_attempts=1,
                  created_at=utcnow() - timedelta(minutes=10)))  # fmt: skip
    page = client.get("/admin/jobs?state=pending")
    assert 'id="jobs-waiting"' in page.text and "Is a worker running?" in page.text
    # the first view is the dead-letter list when it holds anything; "All" shows every state
    with db.session() as s:
        dead = Job(kind="mail.send", state="dead", requested_by="t", max_attempts=1, last_error="boom")
        s.add(dead)
        s.flush()
        dead_id = dead.id
    first = client.get("/admin/jobs").text
    assert f'id="job-{dead_id}"' in first and "pending" not in first.split('id="jobs"')[1]
    assert "<td>pending" in client.get("/admin/jobs?state=").text
    # bad input answers 4xx, never 500
    assert client.get("/admin/jobs?state=nonsense").status_code == 400
    assert client.get("/api/admin/jobs/397425804300448235520").status_code == 422


def test_two_schedulers_enqueue_a_slot_once(db, settings):
    """Several workers (or web processes) run the scheduler: each periodic job goes in once per slot,
    even when two of them insert it at the same moment."""
    from halric.jobs import service
    from halric.jobs.models import Job
    from halric.jobs.schedule import tick

    key = "schedule:race-test:1"
    got: dict[str, int] = {}
    first_in = threading.Event()

    def first() -> None:
        with db.session() as s:
            got["first"] = service.enqueue(
                s, system_actor("a"), "db.purge", {}, key=key, schedule="race-test"
            ).id
            first_in.set()
            time.sleep(0.5)  # not committed yet when the second one inserts

    def second() -> None:
        first_in.wait(10)
        with db.session() as s:
            got["second"] = service.enqueue(
                s, system_actor("b"), "db.purge", {}, key=key, schedule="race-test"
            ).id

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert got["first"] == got["second"]
    with db.session() as s:
        assert len(s.query(Job).filter(Job.key == key).all()) == 1
    # the scheduler's tick: one job per schedule and slot
    from datetime import timedelta

    from halric.core.timeutil import utcnow

    st = settings.model_copy(update={"schedule_mail_seconds": 0, "schedule_purge_seconds": 3600})
    now = utcnow()
    first_ids = tick(db, st, now=now)
    assert len(first_ids) == 1
    assert tick(db, st, now=now) == []  # its job has not run yet: skipped
    service.finish(db.engine, first_ids[0], {})
    assert tick(db, st, now=now) == []  # done, but this slot had its run
    assert len(tick(db, st, now=now + timedelta(seconds=3600))) == 1  # the next slot
    # a schedule with nothing to do (no mail waiting) adds no job; with mail waiting it does
    from halric.calls.mail import pending, queue

    st = settings.model_copy(update={"schedule_mail_seconds": 60, "schedule_purge_seconds": 0})
    with db.session() as s:
        assert pending(s) == []
    assert tick(db, st) == []
    with db.session() as s:
        queue(s, "tick@example.org", "Waiting", "for the scheduler")
    (mail_job,) = tick(db, st)
    with db.session() as s:
        assert s.get(Job, mail_job).kind == "mail.send"
