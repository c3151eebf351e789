"""Settings of data handling, read from ``HALRIC_*`` environment variables like the hub's own settings.

``HALRIC_DATA_ROOTS``: folders (separated by ``:``) that ``halric ingest``, ``verify``, ``compress`` and
``codecs advise`` may read or write. Default: the user's home folder, the hub's data directory and the
system's temporary folder. A path outside every root is refused.

``HALRIC_INGEST_JOURNAL_DIR``: where ingest journals live. Default: ``DATA_DIR/ingest-journals``.

``HALRIC_INGEST_CHUNK_MIB``: read size of the streaming hash (default 8 MiB).

``HALRIC_INGEST_PAUSE_PER_FILE_S``: a test knob only — sleep this long after each file is hashed, so a
test can kill an ingest halfway. Never set it in production.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from halric.core.errors import InvalidInput, PermissionDenied
from halric.core.settings import Settings


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HALRIC_", extra="ignore")

    data_roots: str | None = Field(
        default=None,
        description="Folders (separated by ':') that data commands may read and write. "
        "Default: home folder, data directory and temporary folder.",
    )
    ingest_journal_dir: Path | None = Field(
        default=None, description="Where ingest journals are kept. Default: DATA_DIR/ingest-journals."
    )
    ingest_chunk_mib: int = Field(default=8, ge=1, le=256, description="Read size of the streaming hash.")
    ingest_pause_per_file_s: float = Field(
        default=0.0, ge=0, description="Test knob only: sleep after hashing each file."
    )

    def roots(self, hub: Settings | None = None) -> list[Path]:
        if self.data_roots:
            return [Path(p).expanduser().resolve() for p in self.data_roots.split(os.pathsep) if p.strip()]
        hub = hub or Settings()
        return [
            Path.home().resolve(),
            hub.data_dir.expanduser().resolve(),
            Path(tempfile.gettempdir()).resolve(),
        ]

    def journal_dir(self, hub: Settings | None = None) -> Path:
        path = self.ingest_journal_dir or ((hub or Settings()).data_dir / "ingest-journals")
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def chunk_bytes(self) -> int:
        return self.ingest_chunk_mib * 1024 * 1024


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
