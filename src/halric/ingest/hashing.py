"""Streaming checksums: BLAKE3, XXH3-128 and SHA-256, several in one read of the file."""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import stat
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

FAST = ("blake3", "xxh3-128")
ALGORITHMS = ("blake3", "xxh3-128", "sha256")
DEFAULT_ALGORITHM = "blake3"
CHUNK = 8 * 1024 * 1024


def check_algorithm(name: str) -> str:
    from halric.core.errors import InvalidInput

    n = name.lower().replace("_", "-")
    n = {"xxh3": "xxh3-128", "xxh128": "xxh3-128", "sha-256": "sha256", "b3": "blake3"}.get(n, n)
    if n not in ALGORITHMS:
        raise InvalidInput(
            f"hash: {name!r} is not supported; use one of {', '.join(ALGORITHMS)}", field="hash"
        )
    return n


def new_hasher(name: str) -> Any:
    if name == "blake3":
        from blake3 import blake3

        return blake3()
    if name == "xxh3-128":
        import xxhash

        return xxhash.xxh3_128()
    if name == "sha256":
        return hashlib.sha256()
    raise ValueError(name)


_local = threading.local()


def _buffer(size: int, name: str = "buf") -> Any:
    """One read buffer per thread (and ``name``), reused for every file, on transparent huge pages where
    the kernel offers them (``madvise`` mode): copying from the page cache into it is up to twice as
    fast."""
    buf = getattr(_local, name, None)
    if buf is None or len(buf) != size:
        buf = mmap.mmap(-1, size)
        if hasattr(mmap, "MADV_HUGEPAGE"):
            with contextlib.suppress(OSError):
                buf.madvise(mmap.MADV_HUGEPAGE)
        setattr(_local, name, buf)
    return buf


_PREAD = hasattr(os, "preadv")
_readers: ThreadPoolExecutor | None = None
_readers_lock = threading.Lock()


def _reader_pool() -> ThreadPoolExecutor:
    """Threads that read the next chunk of a file while its hashing thread hashes this one (one read in
    flight per hashing thread; more hashing threads than readers only wait their turn)."""
    global _readers
    with _readers_lock:
        if _readers is None:
            _readers = ThreadPoolExecutor(max(4, os.cpu_count() or 1), thread_name_prefix="halric-read-ahead")
        return _readers


def _hash_read_ahead(fd: int, hashers: list[Any], chunk: int) -> int:
    """Hash a file of more than one chunk with two buffers: a reader thread copies chunk k+1 from the
    page cache (``preadv``, GIL released) while this thread hashes chunk k (GIL released too). The copy
    is about a fifth of a SHA-256 read-and-hash loop's time (page cache 7 GB/s, loop 1.5 GB/s on the
    reference machine), so SHA-256 (always read: it is slower mapped) ran 1.15× as fast and BLAKE3 read
    instead of mapped 1.5×. Memory: two chunks per hashing thread."""
    bufs = (_buffer(chunk), _buffer(chunk, "ahead"))
    views = (memoryview(bufs[0]), memoryview(bufs[1]))
    pool = _reader_pool()
    pending = pool.submit(os.preadv, fd, [bufs[0]], 0)
    i = total = 0
    try:
        while True:
            n = pending.result()
            if not n:
                return total
            nxt = pool.submit(os.preadv, fd, [bufs[1 - i]], total + n)
            pending = nxt
            part = views[i][:n]
            for h in hashers:
                h.update(part)
            total += n
            i = 1 - i
    finally:
        # never leave a read in flight into a buffer (or a descriptor) the caller is about to reuse
        with contextlib.suppress(Exception):
            pending.result()


MAP_WINDOW = 32 * 1024 * 1024
MAP_MIN = 4 * 1024 * 1024


def mappable(st: os.stat_result, settled_s: float | None, now: float | None = None) -> bool:
    """Whether a file may be hashed through memory mappings: a regular file not modified for ``settled_s``
    seconds (``None``: never). Recently written files are read: a writer may still rewrite them, and a file
    truncated while it is mapped and hashed stops the process with a bus error."""
    if settled_s is None or os.name != "posix" or not stat.S_ISREG(st.st_mode):
        return False
    return (time.time() if now is None else now) - st.st_mtime >= settled_s


def hash_file(
    path: str | Path,
    algorithms: Iterable[str] = (DEFAULT_ALGORITHM,),
    chunk: int = CHUNK,
    *,
    mapped: bool = False,
    size: int | None = None,
    read_ahead: bool = True,
) -> tuple[dict[str, str], int]:
    """Hash a file in one streaming pass; memory stays at one chunk (or one mapped window) whatever the
    file size.

    ``mapped`` (the file is ``mappable``) and only the fast hashes asked for: the hash reads the page cache
    directly instead of a copy, as ``b3sum`` does, and releases the GIL once per window or file instead of
    twice per chunk. BLAKE3 alone on a file under ``MAP_WINDOW`` bytes: one call that maps, hashes and
    unmaps without the GIL (``blake3.update_mmap``; 1 MiB files 1.2× as fast as reading, and no GIL
    hand-offs beside header work); larger files and XXH3-128 from ``MAP_MIN`` bytes: mappings of
    ``MAP_WINDOW`` bytes, the size looked at again before each (a file that shrank is not mapped past its
    end; the caller's size check reports the change). On the reference machine BLAKE3 ran 1.5× and
    XXH3-128 1.9–2.5× as fast as the read loop (docs/data-handling.md); SHA-256, bound by the hash, ran
    12 % slower mapped, so a hash that includes it is always read. ``size``: the file's size as the
    caller just saw it (returned as the byte count of a one-call BLAKE3 hash). A file of more than one
    chunk that is read, not mapped, is read ahead by another thread while this one hashes
    (``read_ahead=False``: one thread reads and hashes in turn, the bench's bare loop).

    Returns ({algorithm: hex digest}, bytes read).
    """
    hashers = {a: new_hasher(a) for a in algorithms}
    if mapped and all(a in FAST for a in hashers):
        if size is None:
            size = os.stat(path).st_size
        if list(hashers) == ["blake3"] and size < MAP_WINDOW:
            hashers["blake3"].update_mmap(path)
            return {"blake3": hashers["blake3"].hexdigest()}, size
        if size >= MAP_MIN:
            with open(path, "rb", buffering=0) as fh:
                total = _hash_mapped(fh.fileno(), list(hashers.values()))
            return {a: h.hexdigest() for a, h in hashers.items()}, total
    total = 0
    buf = _buffer(chunk)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        if read_ahead and _PREAD and os.fstat(fh.fileno()).st_size > chunk:
            total = _hash_read_ahead(fh.fileno(), list(hashers.values()), chunk)
            return {a: h.hexdigest() for a, h in hashers.items()}, total
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            part = view[:n]
            for h in hashers.values():
                h.update(part)
            total += n
    return {a: h.hexdigest() for a, h in hashers.items()}, total


_POPULATE = getattr(
    mmap, "MAP_POPULATE", 0
)  # Linux: the pages are faulted in by the mmap call (GIL released)


def _hash_mapped(fd: int, hashers: list[Any]) -> int:
    off = 0
    while True:
        size = os.fstat(fd).st_size
        if off >= size:
            return off
        n = min(MAP_WINDOW, size - off)
        m = mmap.mmap(fd, n, flags=mmap.MAP_SHARED | _POPULATE, prot=mmap.PROT_READ, offset=off)
        try:
            for h in hashers:
                h.update(m)
        finally:
            m.close()
        off += n
