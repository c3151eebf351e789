"""Run per-file tasks in this process or on Dask distributed, with bounded memory and a callback.

``workers=0`` runs in-process (no cluster). ``workers=N`` starts a LocalCluster of N single-threaded
worker processes. ``scheduler="tcp://host:port"`` uses an existing cluster; its workers must have
halric installed and see the files under the same paths.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from halric.core.errors import InvalidInput


@contextmanager
def dask_client(workers: int, scheduler: str | None, memory_limit: str = "1GiB") -> Iterator[Any]:
    """A distributed Client, or None for in-process work."""
    if scheduler is None and workers == 0:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler:
        if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise InvalidInput("scheduler: give the address as tcp://HOST:PORT", field="scheduler")
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise InvalidInput(f"scheduler: cannot reach {scheduler} ({exc})", field="scheduler") from exc
        try:
            yield client
        finally:
            client.close()
        return
    if workers < 0:
        raise InvalidInput("workers: use 0 (in this process) or a positive number", field="workers")
    import dask

    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536; that setting makes glibc map and zero fresh
    # pages for every read buffer, and streaming hashes ran 2–5× slower with it on the reference machine.
    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=memory_limit,
            silence_logs=logging.ERROR,
        )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def run(
    fn: Callable[..., dict[str, Any]],
    jobs: Iterable[tuple[Any, ...]],
    on_result: Callable[[dict[str, Any]], None],
    *,
    client: Any = None,
    in_flight_per_worker: int = 3,
) -> None:
    """Call ``fn(*job)`` for every job; ``on_result`` receives each result as it comes.

    With Dask at most ``in_flight_per_worker`` tasks per worker are queued, so a million-file folder does
    not build a million futures. A task lost with its worker comes back as ``{"path": …, "error": …}``.
    """
    jobs = iter(jobs)
    if client is None:
        for job in jobs:
            on_result(fn(*job))
        return
    from distributed import as_completed

    nworkers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})) or 1)
    limit = nworkers * in_flight_per_worker + 1
    args_of: dict[str, tuple[Any, ...]] = {}

    def submit(job: tuple[Any, ...]) -> Any:
        fut = client.submit(fn, *job, pure=False)
        args_of[fut.key] = job
        return fut

    first = [submit(j) for _, j in zip(range(limit), jobs, strict=False)]
    ac = as_completed(first)
    for fut in ac:
        job = args_of.pop(fut.key)
        try:
            result = fut.result()
        except Exception as exc:  # the worker died (KilledWorker) or the task could not run
            result = {
                "path": job[1],
                "error": f"task failed on the cluster: {' '.join(str(exc).split())[:200]}",
            }
        fut.release()
        on_result(result)
        nxt = next(jobs, None)
        if nxt is not None:
            ac.add(submit(nxt))
