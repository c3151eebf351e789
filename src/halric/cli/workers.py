"""Several server processes, each with its own listening socket on the same port (``SO_REUSEPORT``).

uvicorn's ``--workers`` binds one socket in the parent and shares it: every worker waits on it and the
first to wake takes the connection — and then, with uvloop, every other connection waiting too. Kept-alive
connections stay where they landed, so a burst of new connections (a proxy's upstream pool filling, a
load test starting) often went three to one to the worker that happened to be awake, and that worker
queued while the other idled (measured: 75 % of 50 connections on one of two workers, read p95 doubled).
With a socket per worker in one ``SO_REUSEPORT`` group, the kernel spreads new connections over the
workers by their address and port, whatever each worker is doing; this is what nginx's ``reuseport``
does.

:func:`serve` runs ``workers`` processes (spawned, each building the app from the environment as
``halric.web.asgi`` does) and keeps them running: a worker that exits is started again, unless it
failed before serving (then the configuration is broken and the server stops with that worker's exit
code) or the server is stopping. SIGINT/SIGTERM stop the workers (each finishes its requests, as
uvicorn does on shutdown) and then the server. Linux only; elsewhere ``halric serve`` uses uvicorn's
own ``--workers``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

__all__ = ["available", "bind", "serve"]

log = logging.getLogger("halric.serve")
STARTUP_FAILURE = 3  # uvicorn's exit code for a worker that could not start serving
_spawn = multiprocessing.get_context("spawn")


def available() -> bool:
    """Whether this system spreads connections over sockets bound with ``SO_REUSEPORT`` (Linux 3.9+)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bind(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host:port`` in the port's ``SO_REUSEPORT`` group."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:  # pragma: no cover - a child process
    import uvicorn

    config = uvicorn.Config("halric.web.asgi:app", host=host, port=port, **options)
    try:
        sock = bind(host, port, config.backlog)
    except OSError as exc:
        print(f"halric serve: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def serve(host: str, port: int, workers: int, options: dict[str, Any]) -> int:
    """Run ``workers`` server processes on ``host:port`` until SIGINT/SIGTERM; the exit code.

    Raises OSError when the address cannot be bound (in use by another program, not this machine's)."""
    # held (bound, never listening) until the end: the port stays ours between worker restarts, and a
    # port of 0 becomes one port that every worker then binds
    anchor = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    anchor.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    anchor.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        anchor.bind((host, port))
    except OSError:
        anchor.close()
        raise
    port = anchor.getsockname()[1]
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}

    def start() -> Any:
        p = _spawn.Process(target=_worker, args=(host, port, options), daemon=False)
        p.start()
        return p

    procs = [start() for _ in range(workers)]
    code = 0
    try:
        while not stopping.wait(0.5):
            for i, p in enumerate(procs):
                if p.is_alive():
                    continue
                if p.exitcode == STARTUP_FAILURE:
                    log.error("a worker could not start serving (exit code %s); stopping", p.exitcode)
                    code = STARTUP_FAILURE
                    stopping.set()
                    break
                log.warning("worker %s exited (code %s); starting another", p.pid, p.exitcode)
                time.sleep(1)  # a worker that dies at once does not spin the machine
                procs[i] = start()
    finally:
        for p in procs:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signal.SIGTERM)
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
                p.join()
        anchor.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
