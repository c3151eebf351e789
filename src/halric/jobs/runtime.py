"""A running worker: Dramatiq's worker threads, the outbox relay and the scheduler.

``halric worker`` runs one against the broker of ``HALRIC_BROKER_URL``. Without a broker, ``halric serve``
runs one inside the web process on Dramatiq's in-process StubBroker (the single-machine fallback); the
relay then also picks up jobs committed by other processes (``halric`` commands), through the table.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from halric.core.db import Database
from halric.core.settings import Settings
from halric.jobs import service
from halric.jobs.queue import Queue

log = logging.getLogger("halric.jobs")


class Runtime:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        threads: int | None = None,
        scheduler: bool = True,
        relay_seconds: float = 2.0,
    ) -> None:
        self.settings = settings
        self.db = db
        self.queue = Queue(settings, db)
        self.threads = threads or settings.worker_threads
        self.scheduler = scheduler
        self.relay_seconds = relay_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._worker = None

    def start(self) -> None:
        from dramatiq import Worker

        self.queue.attach()
        self._worker = Worker(self.queue.broker, worker_threads=self.threads, worker_timeout=500)
        self._worker.start()
        self._loop("halric-relay", self.relay_seconds, self.relay_once)
        if self.scheduler:
            self._loop("halric-scheduler", self.settings.scheduler_tick_seconds, self.schedule_once)
        log.info(
            "worker started: broker %s, queue %s, %s thread(s), scheduler %s",
            self.queue.kind, self.queue.queue_name, self.threads, "on" if self.scheduler else "off",
        )  # fmt: skip

    def _loop(self, name: str, every: float, fn: Callable[[], object]) -> None:
        def run() -> None:
            while not self._stop.is_set():
                try:
                    fn()
                except Exception:
                    log.warning("%s: failed; trying again in %.0f s", name, every, exc_info=True)
                self._stop.wait(every)

        t = threading.Thread(target=run, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def relay_once(self) -> int:
        """Send the jobs still pending (committed while no broker was reachable, or by another process)."""
        ids = service.due_for_relay(self.queue.engine, stale_after=self.queue.stale_after)
        return self.queue.send(ids) if ids else 0

    def schedule_once(self) -> list[int]:
        from halric.jobs.schedule import tick

        added = tick(self.db, self.settings)
        if added:
            log.info("scheduler: enqueued job(s) %s", added)
        return added

    def stop(self, timeout_ms: int = 10_000) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        if self._worker is not None:
            self._worker.stop(timeout=timeout_ms)
        unfinished = service.release(self.queue.engine, set(self.queue.running))
        if unfinished:
            log.warning("worker stopped with %s job(s) unfinished; they will run again", unfinished)
        self.queue.close()
        log.info("worker stopped")
