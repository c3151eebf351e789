"""Streaming checksums: BLAKE3, XXH3-128 and SHA-256, several in one read of the file."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterable
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


def _buffer(size: int) -> Any:
    """One read buffer per thread, reused for every file, on transparent huge pages where the kernel
    offers them (``madvise`` mode): copying from the page cache into it is up to twice as fast."""
    buf = getattr(_local, "buf", None)
    if buf is None or len(buf) != size:
        import mmap

        buf = mmap.mmap(-1, size)
        if hasattr(mmap, "MADV_HUGEPAGE"):
            with contextlib.suppress(OSError):
                buf.madvise(mmap.MADV_HUGEPAGE)
        _local.buf = buf
    return buf


def hash_file(
    path: str | Path, algorithms: Iterable[str] = (DEFAULT_ALGORITHM,), chunk: int = CHUNK
) -> tuple[dict[str, str], int]:
    """Hash a file in one streaming pass; memory stays at one chunk whatever the file size.

    Returns ({algorithm: hex digest}, bytes read).
    """
    hashers = {a: new_hasher(a) for a in algorithms}
    buf = _buffer(chunk)
    view = memoryview(buf)
    total = 0
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            part = view[:n]
            for h in hashers.values():
                h.update(part)
            total += n
    return {a: h.hexdigest() for a, h in hashers.items()}, total
