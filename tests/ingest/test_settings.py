"""Data handling's settings are fields of the hub's one Settings, under their documented names and defaults."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from halric.core.settings import Settings
from halric.ingest.config import chunk_bytes, data_roots, journal_dir

NAMES = (
    "HALRIC_DATA_ROOTS",
    "HALRIC_INGEST_JOURNAL_DIR",
    "HALRIC_INGEST_CHUNK_MIB",
    "HALRIC_INGEST_PAUSE_PER_FILE_S",
)


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    st = Settings(data_dir=tmp_path / "hub")
    assert data_roots(st) == [
        Path.home().resolve(), (tmp_path / "hub").resolve(), Path(tempfile.gettempdir()).resolve()
    ]  # fmt: skip
    assert journal_dir(st) == tmp_path / "hub" / "ingest-journals"
    assert (tmp_path / "hub" / "ingest-journals").is_dir()
    assert chunk_bytes(st) == 8 * 1024 * 1024
    assert st.ingest_pause_per_file_s == 0


def test_environment_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HALRIC_DATA_ROOTS", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    monkeypatch.setenv("HALRIC_INGEST_JOURNAL_DIR", str(tmp_path / "journals"))
    monkeypatch.setenv("HALRIC_INGEST_CHUNK_MIB", "16")
    monkeypatch.setenv("HALRIC_INGEST_PAUSE_PER_FILE_S", "0.25")
    st = Settings(data_dir=tmp_path / "hub")
    assert data_roots(st) == [(tmp_path / "a").resolve(), (tmp_path / "b").resolve()]
    assert journal_dir(st) == tmp_path / "journals"
    assert chunk_bytes(st) == 16 * 1024 * 1024
    assert st.ingest_pause_per_file_s == 0.25


def test_a_read_size_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HALRIC_INGEST_CHUNK_MIB", "0")
    with pytest.raises(ValidationError, match="ingest_chunk_mib"):
        Settings(data_dir=tmp_path)
