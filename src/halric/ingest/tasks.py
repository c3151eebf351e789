"""The work done for one file, on a Dask worker or in-process: recognise, read headers, checksum.

Importable by workers (they need halric installed and the same view of the file system). Returns a
plain dict; never raises for a problem with the file itself — the problem is in ``error``.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

HDF5_NAMES = (".h5", ".hdf5", ".hdf", ".nxs", ".nx5", ".cxi", ".h5r")
_local = threading.local()
Hashed = tuple[os.stat_result, dict[str, str], int, os.stat_result]


def _hasher() -> ThreadPoolExecutor:
    """One hashing thread per calling thread (it keeps its read buffer from file to file)."""
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = ThreadPoolExecutor(1, thread_name_prefix="halric-hash")
    return pool


def _stat_hash_stat(full: Path, algorithms: list[str], chunk: int) -> Hashed:
    from halric.ingest.hashing import hash_file

    before = os.stat(full)
    checksums, nbytes = hash_file(full, algorithms, chunk)
    return before, checksums, nbytes, os.stat(full)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def process_file(
    root: str,
    path: str,
    algorithms: list[str],
    chunk: int,
    pause_s: float = 0.0,
    hashing: Future[Hashed] | None = None,
) -> dict[str, Any]:
    """Recognise, read headers, run the patient-data guard, checksum. ``hashing``: the checksum already
    under way on a helper thread (see ``process_files``); without it the file is hashed here."""
    from halric.ingest.formats import light_metadata, sniff

    full = Path(root) / path
    t0 = time.perf_counter()
    out: dict[str, Any] = {"path": path}
    try:
        st = os.stat(full)  # before the headers are read; compared with every later look at the file
        out["size"], out["mtime_ns"] = st.st_size, st.st_mtime_ns
        kind = sniff(full)
        metadata: dict[str, Any] = {}
        findings: list[dict[str, Any]] | None = None
        if kind == "hdf5":
            import h5py

            from halric.ingest.nexus import hdf5_metadata
            from halric.privacy.identifiers import mask
            from halric.privacy.scan import scan_hdf5, scan_name

            try:
                with h5py.File(full, "r") as f:  # one open for the metadata and the patient-data guard
                    metadata = hdf5_metadata(f)
                    findings = [x.as_dict() for x in scan_name(path) + scan_hdf5(f, mask(path))]
            except Exception as exc:  # truncated or damaged HDF5
                out["kind"] = "hdf5"
                out["error"] = f"damaged or truncated HDF5: {_one_line(exc)}"
                return out
            kind = metadata.get("format", "hdf5")
        elif full.suffix.lower() in HDF5_NAMES:
            out["kind"] = kind
            out["error"] = (
                f"named {full.suffix} but is not HDF5 (no HDF5 signature; truncated or another format)"
            )
            return out
        elif kind == "tiff":
            import tifffile

            from halric.privacy.identifiers import mask
            from halric.privacy.scan import scan_name, scan_tiff

            try:
                # an open file, not a path: tifffile resolves a path with realpath (a stat per folder)
                with open(full, "rb") as fh, tifffile.TiffFile(fh) as tif:  # metadata and guard
                    metadata = light_metadata(kind, tif)
                    findings = [x.as_dict() for x in scan_name(path) + scan_tiff(tif, mask(path))]
            except Exception as exc:
                metadata = {"format": kind, "problem": f"header not readable: {_one_line(exc)}"}
        elif kind != "plain":
            try:
                metadata = light_metadata(kind, full)
            except Exception as exc:
                metadata = {"format": kind, "problem": f"header not readable: {_one_line(exc)}"}
        before, checksums, nbytes, after = (hashing.result() if hashing else
                                            _stat_hash_stat(full, algorithms, chunk))  # fmt: skip
        end = os.stat(full)
        if any((x.st_size, x.st_mtime_ns) != (st.st_size, st.st_mtime_ns) for x in (before, after, end)) or (
            nbytes != st.st_size
        ):
            out["kind"] = kind
            out["error"] = (
                "the file changed while it was read; run the ingest again once writing has finished"
            )
            return out
        if pause_s:
            time.sleep(pause_s)  # test knob HALRIC_INGEST_PAUSE_PER_FILE_S
        if findings is None:
            from halric.privacy.scan import scan_file

            findings = [x.as_dict() for x in scan_file(full, path, kind)]
        out.update(kind=kind, metadata=metadata, checksums=checksums, findings=findings)
    except PermissionError as exc:
        out["error"] = f"permission denied ({_one_line(exc)})"
    except FileNotFoundError:
        out["error"] = "the file disappeared before it was read"
    except OSError as exc:
        out["error"] = f"unreadable: {_one_line(exc)}"
    out["seconds"] = time.perf_counter() - t0
    return out


def process_files(
    root: str, paths: list[str], algorithms: list[str], chunk: int, pause_s: float = 0.0
) -> list[dict[str, Any]]:
    """``process_file`` for a batch of files: one cluster task, one result per file.

    The checksums of the whole batch stream, file after file, on a helper thread while this thread reads
    the headers and runs the patient-data guard: the hashes release the GIL, so the header work (Python,
    holding the GIL) costs no time as long as the batch's hashing takes longer. The file is looked at
    (size, modification time) before its headers are read, before and after it is hashed, and at the
    end; any difference marks it as changed while read.
    """
    if len(paths) < 2:
        return [process_file(root, p, algorithms, chunk, pause_s) for p in paths]
    pool = _hasher()
    ahead = [pool.submit(_stat_hash_stat, Path(root) / p, algorithms, chunk) for p in paths]
    try:
        return [
            process_file(root, p, algorithms, chunk, pause_s, h) for p, h in zip(paths, ahead, strict=True)
        ]
    finally:
        for h in ahead:  # a file left early (damaged) or an error: let its hash finish before returning
            h.cancel() or h.exception()


def hash_only(root: str, path: str, algorithm: str, chunk: int) -> dict[str, Any]:
    """For ``halric verify``: size and one checksum, or an error."""
    from halric.ingest.hashing import hash_file

    full = Path(root) / path
    try:
        checksums, nbytes = hash_file(full, [algorithm], chunk)
        return {"path": path, "size": nbytes, "chk": checksums[algorithm]}
    except FileNotFoundError:
        return {"path": path, "error": "missing"}
    except PermissionError as exc:
        return {"path": path, "error": f"permission denied ({_one_line(exc)})"}
    except OSError as exc:
        return {"path": path, "error": f"unreadable: {_one_line(exc)}"}
