"""``halric serve --workers 2``: a listening socket per worker (cli/workers.py), connections spread over
both, a worker that dies replaced, SIGTERM stops everything, a taken port refused in one line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from tests.support.jobs import wait_for
from tests.support.net import free_port

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SO_REUSEPORT spreading is Linux's"
)


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "HALRIC_DATA_DIR": str(tmp_path), "HALRIC_SECRET_KEY": "w" * 40}
    env.pop("HALRIC_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "halric.cli.main", "db", "upgrade"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    return env


def _exited(p: psutil.Process) -> bool:
    """Whether ``p`` has exited (a zombie waiting to be reaped has closed its sockets too)."""
    try:
        return p.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _workers(parent: psutil.Process) -> list[psutil.Process]:
    """The live worker processes (a killed one stays a zombie until the server reaps it)."""
    found = []
    for child in parent.children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def _wait_healthy(base: str, proc: subprocess.Popen) -> None:
    for _ in range(600):
        assert proc.poll() is None, "the server stopped"
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not answer")


def test_two_workers_share_the_connections_and_survive_a_killed_worker(env: dict[str, str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "halric.cli.main", "serve", "--port", str(port),
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_healthy(base, proc)
        parent = psutil.Process(proc.pid)
        workers = _workers(parent)
        assert len(workers) == 2
        for w in workers:  # each worker listens on its own socket
            assert any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in w.net_connections("tcp")
            )
        # 40 connections opened at once (all connected before any is used, as a proxy's pool or a load
        # test does) and kept alive: both workers must hold a fair share
        conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(40)]
        try:
            for c in conns:
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            for c in conns:
                assert c.recv(65536).startswith(b"HTTP/1.1 200")
            held = [
                sum(1 for c in w.net_connections("tcp") if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)
                for w in workers
            ]  # fmt: skip
        finally:
            for c in conns:
                c.close()
        assert sum(held) == 40, held
        assert min(held) >= 8, held  # a shared socket often gave one worker 30 of 40 and more

        # a worker killed outright is replaced, and the port keeps answering meanwhile
        os.kill(workers[0].pid, signal.SIGKILL)
        # connections the kernel had already queued on the killed worker's own socket die with it (nothing can
        # answer them); from the moment it is gone every new connection must be answered by the other worker
        wait_for(lambda: _exited(workers[0]), timeout=10, what="the killed worker to exit")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = _workers(parent)
            if len(now) == 2 and workers[0].pid not in {w.pid for w in now}:
                break
            assert httpx.get(base + "/healthz", timeout=5).status_code == 200
            time.sleep(0.2)
        else:
            raise AssertionError("the killed worker was not replaced")
        _wait_healthy(base, proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert not [w for w in workers[1:] if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]


def test_a_port_in_use_is_refused_in_one_line(env: dict[str, str]) -> None:
    with socket.socket() as other:  # another program's socket, without SO_REUSEPORT
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "halric.cli.main", "serve", "--port", str(port), "--workers",
                            "2"], env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and f"Cannot listen on 127.0.0.1:{port}" in lines[0], r.stderr
