"""Data handling's settings, fields of the hub's one ``Settings`` (``HALRIC_*`` environment variables), and
what follows from them.

``HALRIC_DATA_ROOTS``: folders (separated by ``:``) that ``halric ingest``, ``verify``, ``compress`` and
``codecs advise`` may read or write. Default: the user's home folder, the hub's data directory and the
system's temporary folder. A path outside every root is refused.

``HALRIC_INGEST_JOURNAL_DIR``: where ingest journals live. Default: ``DATA_DIR/ingest-journals``.

``HALRIC_INGEST_CHUNK_MIB``: read size of the streaming hash (default 8 MiB).

``HALRIC_INGEST_MAP_SETTLED_S``: files of 4 MiB or more not modified for this many seconds (default 10) are
hashed through memory mappings rather than reads — zero-copy, 1.5–1.9× as fast for BLAKE3 and XXH3-128. Set
it empty to always read (file systems where files are rewritten in place while an ingest runs: a file
truncated during its hash stops the process with a bus error; a rerun resumes from the journal).

``HALRIC_INGEST_PAUSE_PER_FILE_S``: a test knob only — sleep this long after each file is hashed, so a
test can kill an ingest halfway. Never set it in production.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from halric.core.errors import InvalidInput, PermissionDenied
from halric.core.settings import Settings


def data_roots(settings: Settings) -> list[Path]:
    """The folders data commands may read and write: HALRIC_DATA_ROOTS, by default the home folder, the
    hub's data directory and the system's temporary folder."""
    if settings.data_roots:
        return [Path(p).expanduser().resolve() for p in settings.data_roots.split(os.pathsep) if p.strip()]
    return [
        Path.home().resolve(),
        settings.data_dir.expanduser().resolve(),
        Path(tempfile.gettempdir()).resolve(),
    ]


def journal_dir(settings: Settings) -> Path:
    """Where ingest journals live (made when missing): HALRIC_INGEST_JOURNAL_DIR or DATA_DIR/ingest-journals."""
    path = settings.ingest_journal_dir or (settings.data_dir / "ingest-journals")
    path.mkdir(parents=True, exist_ok=True)
    return path


def chunk_bytes(settings: Settings) -> int:
    """Read size of the streaming hash in bytes (HALRIC_INGEST_CHUNK_MIB)."""
    return settings.ingest_chunk_mib * 1024 * 1024


def check_allowed(path: Path, roots: list[Path], *, field: str = "path") -> Path:
    """The resolved path, or PermissionDenied when it lies outside every allowed data root."""
    resolved = Path(path).expanduser().resolve()
    for root in roots:
        if resolved == root or resolved.is_relative_to(root):
            return resolved
    raise PermissionDenied(
        f"{field}: {resolved} is outside the allowed data roots ({', '.join(str(r) for r in roots)}); "
        "move the data under one of them or ask the administrator to add its folder to HALRIC_DATA_ROOTS"
    )


def require_existing(path: Path, *, field: str = "path", kind: str = "any") -> None:
    if not path.exists():
        raise InvalidInput(f"{field}: {path} does not exist", field=field)
    if kind == "dir" and not path.is_dir():
        raise InvalidInput(f"{field}: {path} is not a folder", field=field)
    if kind == "file" and not path.is_file():
        raise InvalidInput(f"{field}: {path} is not a file", field=field)
