"""The job queue's surroundings: the real brokers (Redis, RabbitMQ) with a namespace per test module,
waiting for a job, and a stand-in PaNOSC site to harvest."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tests.support.databases import IN_CI

REDIS_URL = os.environ.get("HALRIC_TEST_REDIS", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("HALRIC_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2F")


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


def delete_rabbit_queues(ns: str) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    ch = conn.channel()
    for suffix in ("_jobs", "_jobs.DQ", "_jobs.XQ"):
        ch.queue_delete(ns + suffix)
    conn.close()


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
