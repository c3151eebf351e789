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
            # the scheduler's HTTP server (health checks) would take port 8787, or warn on stderr that
            # another cluster holds it — which breaks the one-line error of the CLI: a free port instead
            scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
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


def worker_count(client: Any) -> int:
    """Workers of the cluster (1 for in-process work)."""
    if client is None:
        return 1
    return max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})) or 1)


def batches(
    items: list[Any], size_of: Callable[[Any], int], workers: int, *, max_bytes: int = 512 << 20
) -> list[list[Any]]:
    """Group items (largest first) into tasks of several files, so the per-task cost of the cluster
    (a scheduler round trip, a few milliseconds) is paid per batch, not per file. Batches stay small
    enough that every worker gets about four of them, so the work still spreads evenly, a crash loses
    little finished work, and progress moves steadily."""
    if not items:
        return []
    parts = workers * 4
    limit_bytes = min(max_bytes, max(1, sum(size_of(i) for i in items) // parts))
    limit_files = min(64, max(1, -(-len(items) // parts)))
    out: list[list[Any]] = [[]]
    held = 0
    for item in items:
        if out[-1] and (held + size_of(item) > limit_bytes or len(out[-1]) >= limit_files):
            out.append([])
            held = 0
        out[-1].append(item)
        held += size_of(item)
    return out


def run(
    fn: Callable[..., dict[str, Any] | list[dict[str, Any]]],
    jobs: Iterable[tuple[Any, ...]],
    on_result: Callable[[dict[str, Any]], None],
    *,
    client: Any = None,
    in_flight_per_worker: int = 3,
) -> None:
    """Call ``fn(*job)`` for every job; ``on_result`` receives each result as it comes (each item, when
    ``fn`` answers a list for a batch job whose second element is the list of paths).

    With Dask at most ``in_flight_per_worker`` tasks per worker are queued, so a million-file folder does
    not build a million futures. A task lost with its worker comes back as ``{"path": …, "error": …}``.
    Without Dask the jobs run one after the other in this process (ingest without Dask does not come here:
    ``tasks.process_stream``).
    """
    jobs = iter(jobs)

    def deliver(result: dict[str, Any] | list[dict[str, Any]]) -> None:
        for r in result if isinstance(result, list) else [result]:
            on_result(r)

    if client is None:
        for job in jobs:
            deliver(fn(*job))
        return
    from distributed import as_completed

    limit = worker_count(client) * in_flight_per_worker + 1
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
            error = f"task failed on the cluster: {' '.join(str(exc).split())[:200]}"
            paths = job[1] if isinstance(job[1], list) else [job[1]]
            result = [{"path": p, "error": error} for p in paths]
        fut.release()
        deliver(result)
        nxt = next(jobs, None)
        if nxt is not None:
            ac.add(submit(nxt))
