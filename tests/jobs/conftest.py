"""Queue fixtures: the real brokers (Redis, RabbitMQ) with a namespace of their own per test module, a real
`halric worker` process, a stand-in PaNOSC site to harvest and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.jobs import REDIS_URL, StandInSite, namespace, need
from tests.support.net import free_port

from halric.core.settings import Settings

# small backoffs and ticks: a test waits seconds, not minutes
FAST = {
    "job_min_backoff_seconds": 0.3,
    "job_max_backoff_seconds": 2.0,
    "job_max_retries": 2,
    "scheduler_tick_seconds": 0.3,
    "schedule_mail_seconds": 1,
    "schedule_embargo_seconds": 0,
    "schedule_doi_seconds": 0,
    "schedule_purge_seconds": 0,
    "harvest_interval_minutes": 0,
}


@pytest.fixture(scope="module")
def redis_ns() -> Iterator[str]:
    need(REDIS_URL)
    ns = namespace()
    yield ns
    import redis

    r = redis.Redis.from_url(REDIS_URL)
    for key in r.scan_iter(f"{ns}*"):
        r.delete(key)
    r.close()


@pytest.fixture(scope="module")
def settings(
    db_url: str, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path, redis_ns: str
) -> Settings:
    """The module's settings with the Redis broker: requests hand their jobs to it after commit."""
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=db_url,
        secret_key="test-secret-" + uuid.uuid4().hex,
        cache_dir=cache_dir,
        broker_url=REDIS_URL,
        broker_namespace=redis_ns,
        **FAST,
    )


@pytest.fixture(scope="module")
def site() -> Iterator[StandInSite]:
    s = StandInSite(
        [
            {"pid": f"10.5555/job-{i}", "title": f"Queued harvest record {i}", "isPublic": True}
            for i in range(3)
        ]
    )
    yield s
    s.close()


class Mailbox:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.received: list[str] = []
        box = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                box.received.append(envelope.content.decode("utf8", "replace"))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    m = Mailbox()
    yield m
    m.close()


@pytest.fixture(scope="module")
def worker(settings: Settings, db: Any, mailbox: Mailbox) -> Iterator[subprocess.Popen[bytes]]:
    """A real `halric worker` process on the module's database and broker namespace (with the scheduler)."""
    env = {
        **os.environ,
        "HALRIC_DATABASE_URL": settings.db_url,
        "HALRIC_DATA_DIR": str(settings.data_dir),
        "HALRIC_SECRET_KEY": settings.signing_key,
        "HALRIC_BROKER_URL": settings.broker_url or "",
        "HALRIC_BROKER_NAMESPACE": settings.broker_namespace,
        "HALRIC_SMTP_PORT": str(mailbox.port),
        **{f"HALRIC_{k.upper()}": str(v) for k, v in FAST.items()},
    }
    log = (Path(settings.data_dir) / "worker.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "halric.cli.main", "worker", "--threads", "2"], env=env, stdout=log, stderr=log
    )
    text = ""
    for _ in range(200):
        text = (Path(settings.data_dir) / "worker.log").read_text()
        if "worker started" in text or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert "worker started" in text, text
    yield proc
    proc.terminate()
    proc.wait(timeout=30)
    log.close()
