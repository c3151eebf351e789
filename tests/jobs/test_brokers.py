"""The same queue on RabbitMQ, and the in-process fallback used when no broker is configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.jobs import AMQP_URL, delete_rabbit_queues, job_state, namespace, need, wait_for
from tests.support.net import free_port

from halric.core.actor import system_actor


def _runtime(db, settings, **update):
    from halric.jobs.runtime import Runtime

    st = settings.model_copy(update={"schedule_mail_seconds": 0, **update})
    rt = Runtime(st, db, threads=2, relay_seconds=0.2)
    rt.start()
    return rt


@pytest.fixture()
def rabbit_ns() -> Iterator[str]:
    need(AMQP_URL)
    ns = namespace()
    yield ns
    delete_rabbit_queues(ns)


def test_rabbitmq_runs_retries_and_dead_letters(db, settings, rabbit_ns):
    import pika

    from halric.federation import service as sites
    from halric.federation.crypto import TokenBox
    from halric.jobs import service

    with db.session() as s:
        body = {
            "name": "rabbit-down",
            "url": f"http://127.0.0.1:{free_port()}",
            "kind": "panosc",
            "mode": "harvest",
        }
        sites.add_site(s, system_actor("test"), TokenBox(settings.signing_key), sites.validate(body))
    rt = _runtime(db, settings, broker_url=AMQP_URL, broker_namespace=rabbit_ns)
    try:
        with db.session() as s:
            ok = service.enqueue(s, system_actor("test"), "db.purge", {}, max_attempts=3).id
            bad = service.enqueue(
                s, system_actor("test"), "federation.harvest", {"site": "rabbit-down"}, max_attempts=3
            ).id
        assert wait_for(lambda: job_state(db, ok).state == "done", what="the purge job")
        dead = wait_for(lambda: (j := job_state(db, bad)).state == "dead" and j, what="the dead letter")
        assert dead.attempts == 3 and "could not reach the site" in dead.last_error
    finally:
        rt.stop()
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        xq = conn.channel().queue_declare(f"{rabbit_ns}_jobs.XQ", passive=True)
        assert xq.method.message_count >= 1  # Dramatiq's dead-letter queue holds the message too
    finally:
        conn.close()


def test_without_a_broker_jobs_run_in_process(db, settings):
    from halric.core.db import Database
    from halric.jobs import service

    rt = _runtime(db, settings, broker_url=None)
    other = Database(settings.db_url)  # as a `halric` command in another process would write it
    try:
        assert rt.queue.kind == "in-process"
        with db.session() as s:
            here = service.enqueue(s, system_actor("test"), "db.purge", {}).id
        with other.session() as s:
            there = service.enqueue(s, system_actor("test"), "db.purge", {}).id
        for jid in (here, there):
            assert wait_for(lambda jid=jid: job_state(db, jid).state == "done", what=f"job {jid}")
    finally:
        other.dispose()
        rt.stop()
