"""The work done for one file, on a Dask worker or in-process: recognise, read headers, checksum.

Importable by workers (they need halric installed and the same view of the file system). Returns a
plain dict; never raises for a problem with the file itself — the problem is in ``error``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HDF5_NAMES = (".h5", ".hdf5", ".hdf", ".nxs", ".nx5", ".cxi", ".h5r")
_local = threading.local()
Hashed = tuple[os.stat_result, dict[str, str], int, os.stat_result]


# How long a thread holding Python's lock keeps it while another thread waits for it (Python's default
# is 5 ms). A hash releases the lock for each chunk and needs it back between chunks; beside header work
# (Python code holding the lock) it waited up to 5 ms each time, for a chunk that BLAKE3 hashes in 2 ms
# and XXH3 in under 1 ms: hashing ran 3–20× slower than alone on the reference machine. At 0.2 ms it
# runs within a few per cent of alone, and the header work pays a few more thread switches.
SWITCH_INTERVAL_S = 0.0002
_switch_lock = threading.Lock()
_imports_lock = threading.Lock()
_imported = False


def _import_once() -> None:
    """Import the hub's modules the batches use, once per process, before any batch runs them on a thread.

    The imports inside the functions below keep this module light on a Dask worker, but two threads
    importing the submodules of one package for the first time at once can fail on Python 3.11
    (``KeyError: 'halric.privacy'`` from importlib, seen with ``--threads 2``); one thread imports them
    here while the others wait."""
    global _imported
    if _imported:
        return
    with _imports_lock:
        if not _imported:
            import halric.ingest.formats
            import halric.ingest.hashing
            import halric.ingest.nexus
            import halric.privacy.identifiers
            import halric.privacy.scan  # noqa: F401

            _imported = True


_switch_users = 0
_switch_saved = 0.005


@contextmanager
def quick_switching() -> Iterator[None]:
    """Python's thread switch interval at ``SWITCH_INTERVAL_S`` while any batch is being processed (the
    setting is per process: the first batch to start sets it, the last to finish restores it)."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, SWITCH_INTERVAL_S))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


def _hasher() -> ThreadPoolExecutor:
    """One hashing thread per calling thread (it keeps its read buffer from file to file)."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = ThreadPoolExecutor(1, thread_name_prefix="halric-hash")
    return pool


def _stat_hash_stat(
    full: Path, algorithms: list[str], chunk: int, map_settled_s: float | None = None
) -> Hashed:
    from halric.ingest.hashing import hash_file, mappable

    before = os.stat(full)
    mapped = mappable(before, map_settled_s)
    checksums, nbytes = hash_file(full, algorithms, chunk, mapped=mapped, size=before.st_size)
    return before, checksums, nbytes, os.stat(full)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


class _Head:
    """What ``process_file`` learnt before the checksum: the result so far, or a finished error result."""

    __slots__ = ("done", "findings", "full", "kind", "metadata", "out", "st", "t0")

    def __init__(self, out: dict[str, Any], full: Path, t0: float) -> None:
        self.out, self.full, self.t0 = out, full, t0
        self.st: os.stat_result | None = None
        self.kind = ""
        self.metadata: dict[str, Any] = {}
        self.findings: list[dict[str, Any]] | None = None
        self.done = False


def _os_error(out: dict[str, Any], exc: OSError) -> None:
    if isinstance(exc, PermissionError):
        out["error"] = f"permission denied ({_one_line(exc)})"
    elif isinstance(exc, FileNotFoundError):
        out["error"] = "the file disappeared before it was read"
    else:
        out["error"] = f"unreadable: {_one_line(exc)}"


def _head(root: str, path: str, full: Path | None = None) -> _Head:
    """Look at the file (size, modification time), recognise it, read its headers and run the
    patient-data guard on them; everything but the checksum."""
    from halric.ingest.formats import light_metadata, sniff

    full = Path(root) / path if full is None else full
    h = _Head({"path": path}, full, time.perf_counter())
    out = h.out
    try:
        h.st = st = os.stat(full)  # before the headers are read; compared with every later look at the file
        out["size"], out["mtime_ns"] = st.st_size, st.st_mtime_ns
        kind = sniff(full)
        metadata: dict[str, Any] = {}
        findings: list[dict[str, Any]] | None = None
        if kind == "hdf5":
            import h5py

            from halric.ingest.nexus import hdf5_metadata
            from halric.privacy.identifiers import mask
            from halric.privacy.scan import Hdf5Scan, scan_name

            try:
                with h5py.File(full, "r") as f:  # one open and one walk for the metadata and the guard
                    guard = Hdf5Scan(mask(path))
                    metadata = hdf5_metadata(f, guard)
                    findings = [x.as_dict() for x in scan_name(path) + guard.findings(f)]
            except Exception as exc:  # truncated or damaged HDF5
                out["kind"] = "hdf5"
                out["error"] = f"damaged or truncated HDF5: {_one_line(exc)}"
                h.done = True
                return h
            kind = metadata.get("format", "hdf5")
        elif full.suffix.lower() in HDF5_NAMES:
            out["kind"] = kind
            out["error"] = (
                f"named {full.suffix} but is not HDF5 (no HDF5 signature; truncated or another format)"
            )
            h.done = True
            return h
        elif kind == "tiff":
            from halric.ingest.formats import read_tiff_header
            from halric.privacy.identifiers import mask
            from halric.privacy.scan import scan_name, scan_tiff, scan_tiff_tags

            try:
                with open(full, "rb") as fh:
                    plain = read_tiff_header(fh)  # a plain TIFF's first IFD, without tifffile
                    if plain is not None:
                        metadata = plain.metadata
                        found = scan_name(path) + scan_tiff_tags(plain.text_tags, mask(path))
                    else:
                        import tifffile

                        fh.seek(0)  # tifffile takes an open file's position as the TIFF's start
                        # an open file, not a path: tifffile resolves a path with realpath (a stat per folder)
                        with tifffile.TiffFile(fh) as tif:  # metadata and guard
                            metadata = light_metadata(kind, tif)
                            found = scan_name(path) + scan_tiff(tif, mask(path))
                    findings = [x.as_dict() for x in found]
            except Exception as exc:
                metadata = {"format": kind, "problem": f"header not readable: {_one_line(exc)}"}
        elif kind != "plain":
            try:
                metadata = light_metadata(kind, full)
            except Exception as exc:
                metadata = {"format": kind, "problem": f"header not readable: {_one_line(exc)}"}
        if findings is None:
            from halric.privacy.scan import scan_file

            findings = [x.as_dict() for x in scan_file(full, path, kind)]
        h.kind, h.metadata, h.findings = kind, metadata, findings
    except OSError as exc:
        _os_error(out, exc)
        out["seconds"] = time.perf_counter() - h.t0
        h.done = True
    return h


def _finish(
    h: _Head,
    algorithms: list[str],
    chunk: int,
    pause_s: float,
    hashing: Future[Hashed] | None,
    map_settled_s: float | None = None,
) -> dict[str, Any]:
    """The checksum (already under way on the helper thread, or computed here) and the last look at the
    file; any difference from the first look marks the file as changed while read."""
    out = h.out
    if h.done:  # an error found before the checksum
        return out
    st = h.st
    assert st is not None
    try:
        before, checksums, nbytes, after = (hashing.result() if hashing else
                                            _stat_hash_stat(h.full, algorithms, chunk, map_settled_s))  # fmt: skip
        end = os.stat(h.full)
        if any((x.st_size, x.st_mtime_ns) != (st.st_size, st.st_mtime_ns) for x in (before, after, end)) or (
            nbytes != st.st_size
        ):
            out["kind"] = h.kind
            out["error"] = (
                "the file changed while it was read; run the ingest again once writing has finished"
            )
            return out
        if pause_s:
            time.sleep(pause_s)  # test knob HALRIC_INGEST_PAUSE_PER_FILE_S
        out.update(kind=h.kind, metadata=h.metadata, checksums=checksums, findings=h.findings)
    except OSError as exc:
        _os_error(out, exc)
    out["seconds"] = time.perf_counter() - h.t0
    return out


def process_file(
    root: str,
    path: str,
    algorithms: list[str],
    chunk: int,
    pause_s: float = 0.0,
    hashing: Future[Hashed] | None = None,
    map_settled_s: float | None = None,
) -> dict[str, Any]:
    """Recognise, read headers, run the patient-data guard, checksum. ``hashing``: the checksum already
    under way on a helper thread (see ``process_files``); without it the file is hashed here.
    ``map_settled_s``: see ``hashing.mappable``."""
    return _finish(_head(root, path), algorithms, chunk, pause_s, hashing, map_settled_s)


def process_files(
    root: str,
    paths: list[str],
    algorithms: list[str],
    chunk: int,
    pause_s: float = 0.0,
    map_settled_s: float | None = None,
) -> list[dict[str, Any]]:
    """``process_file`` for a batch of files: one cluster task, one result per file.

    The checksums of the whole batch stream, file after file, on a helper thread while this thread reads
    the headers and runs the patient-data guard of every file of the batch, without waiting for any
    checksum: the hashes release the GIL, so the header work (Python, holding the GIL) costs no time as
    long as the batch's hashing takes longer, whichever files the header work and the bytes sit in. The
    file is looked at (size, modification time) before its headers are read, before and after it is
    hashed, and at the end; any difference marks it as changed while read.
    """
    _import_once()
    if len(paths) < 2:
        return [process_file(root, p, algorithms, chunk, pause_s, None, map_settled_s) for p in paths]
    pool = _hasher()
    with quick_switching():
        top = Path(root)
        fulls = [top / p for p in paths]
        ahead = [pool.submit(_stat_hash_stat, full, algorithms, chunk, map_settled_s) for full in fulls]
        try:
            heads = [_head(root, p, full) for p, full in zip(paths, fulls, strict=True)]
            return [_finish(h, algorithms, chunk, pause_s, a) for h, a in zip(heads, ahead, strict=True)]
        finally:
            for a in ahead:  # a file left early (damaged) or an error: let its hash finish before returning
                a.cancel() or a.exception()


def process_stream(
    root: str,
    paths: list[str],
    algorithms: list[str],
    chunk: int,
    pause_s: float = 0.0,
    map_settled_s: float | None = None,
    *,
    hash_threads: int = 1,
    ahead: int | None = None,
) -> Iterator[dict[str, Any]]:
    """``process_file`` for every file of a folder in this process, one result per file in the order of
    ``paths``, each as soon as it is finished (no cluster: the ingest of a folder without Dask).

    The calling thread reads the headers and runs the patient-data guard of file after file while
    ``hash_threads`` helper threads checksum the files in the same order, at most ``ahead`` files (default
    16 per helper) beyond the oldest unfinished one. Header work holds the GIL, so one thread does all of
    it; the hashes release it, so the helpers run beside it and beside each other. Unlike batches, nothing
    waits at a batch's end: a helper that finishes a file takes the next, whichever helper is slower.
    """
    from collections import deque

    _import_once()
    top = Path(root)
    limit = ahead or 16 * max(1, hash_threads)
    window: deque[tuple[_Head, Future[Hashed]]] = deque()
    with (
        ThreadPoolExecutor(max(1, hash_threads), thread_name_prefix="halric-hash") as pool,
        quick_switching(),
    ):
        try:
            for p in paths:
                full = top / p
                hashing = pool.submit(_stat_hash_stat, full, algorithms, chunk, map_settled_s)
                window.append((_head(root, p, full), hashing))
                while window and (len(window) >= limit or window[0][1].done()):
                    h, done = window.popleft()
                    yield _finish(h, algorithms, chunk, pause_s, done)
            while window:
                h, done = window.popleft()
                yield _finish(h, algorithms, chunk, pause_s, done)
        finally:
            for _, left in window:  # stopped early (an error, or the caller closed the stream)
                left.cancel()


def hash_only(
    root: str, path: str, algorithm: str, chunk: int, map_settled_s: float | None = None
) -> dict[str, Any]:
    """For ``halric verify``: size and one checksum, or an error."""
    from halric.ingest.hashing import hash_file, mappable

    full = Path(root) / path
    try:
        st = os.stat(full)
        checksums, nbytes = hash_file(
            full, [algorithm], chunk, mapped=mappable(st, map_settled_s), size=st.st_size
        )
        return {"path": path, "size": nbytes, "chk": checksums[algorithm]}
    except FileNotFoundError:
        return {"path": path, "error": "missing"}
    except PermissionError as exc:
        return {"path": path, "error": f"permission denied ({_one_line(exc)})"}
    except OSError as exc:
        return {"path": path, "error": f"unreadable: {_one_line(exc)}"}
