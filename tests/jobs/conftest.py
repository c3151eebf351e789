"""Queue fixtures: the real brokers (Redis, RabbitMQ) with a namespace of their own per test module, a real
`halric worker` process, a stand-in PaNOSC site to harvest and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conftest import IN_CI
from halric.core.settings import Settings

REDIS_URL = os.environ.get("HALRIC_TEST_REDIS", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("HALRIC_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2F")

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(url: str) -> bool:
    from urllib.parse import urlparse

    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 0), timeout=2):
            return True
    except OSError:
        return False


def need(url: str) -> None:
    if _reachable(url):
        return
    if IN_CI:
        pytest.fail(f"the broker at {url.split('@')[-1]} is required when CI=true but is not reachable")
    pytest.skip(f"broker not reachable at {url.split('@')[-1]} (set CI=true to make this a failure)")


def namespace() -> str:
    return "halric_t_" + uuid.uuid4().hex[:10]


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def job_state(db: Any, job_id: int) -> Any:
    from halric.jobs.models import Job

    with db.session() as s:
        return s.get(Job, job_id)


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


def delete_rabbit_queues(ns: str) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    ch = conn.channel()
    for suffix in ("_jobs", "_jobs.DQ", "_jobs.XQ"):
        ch.queue_delete(ns + suffix)
    conn.close()


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


class StandInSite:
    """A PaNOSC search API answering /Datasets with a fixed list (a site to harvest)."""

    def __init__(self, datasets: list[dict[str, Any]]) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                skip = 0
                if "filter=" in self.path:
                    from urllib.parse import parse_qs, urlparse

                    flt = json.loads(parse_qs(urlparse(self.path).query)["filter"][0])
                    skip = int(flt.get("skip") or 0)
                body = json.dumps(site.datasets[skip:] if self.path.startswith("/Datasets") else {}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.datasets = datasets
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
