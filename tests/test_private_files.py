"""The SQLite database (with its -wal and -shm files), the secret key and the ingest journals are created
owner-only (files 0600, folders 0700) even under a permissive umask (issue 13)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture()
def loose_umask():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_halric_db_upgrade_creates_an_owner_only_database(tmp_path):
    data = tmp_path / "var" / "hub"
    env = {**os.environ, "HALRIC_DATA_DIR": str(data)}
    env.pop("HALRIC_DATABASE_URL", None)
    r = subprocess.run([sys.executable, "-c", "import os, sys; os.umask(0o022); from halric.cli.main import main;"
                        " sys.argv = ['halric', 'db', 'upgrade']; main()"],
                       env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    db = data / "halric.db"
    assert mode(data) == 0o700 and mode(db) == 0o600
    for side in (data / "halric.db-wal", data / "halric.db-shm"):
        assert not side.exists() or mode(side) == 0o600


def test_engine_secret_key_and_journal_files_are_owner_only(tmp_path, loose_umask):
    from sqlalchemy import text

    from halric.core.db import make_engine
    from halric.core.settings import Settings
    from halric.ingest.journal import Journal

    engine = make_engine(f"sqlite:///{tmp_path}/d/hub.db")
    with engine.begin() as conn:  # WAL: the -wal and -shm files exist while a connection is open
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        for name in ("hub.db", "hub.db-wal", "hub.db-shm"):
            assert mode(tmp_path / "d" / name) == 0o600, name
    engine.dispose()
    assert mode(tmp_path / "d") == 0o700

    st = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/x.db")
    st.signing_key  # noqa: B018 - creates the key file
    assert mode(tmp_path / "data") == 0o700 and mode(tmp_path / "data" / "secret_key") == 0o600

    with Journal(tmp_path / "journals" / "run.sqlite") as j:
        j.db.execute("SELECT 1")
        assert mode(tmp_path / "journals" / "run.sqlite") == 0o600
        assert mode(tmp_path / "journals" / "run.sqlite-wal") == 0o600
    assert mode(tmp_path / "journals") == 0o700


def test_existing_files_keep_the_mode_the_administrator_chose(tmp_path, loose_umask):
    from halric.core.db import make_engine

    (tmp_path / "shared").mkdir(mode=0o750)
    os.chmod(tmp_path / "shared", 0o750)
    db = tmp_path / "shared" / "hub.db"
    db.touch(mode=0o640)
    os.chmod(db, 0o640)
    make_engine(f"sqlite:///{db}").dispose()
    assert mode(db) == 0o640 and mode(tmp_path / "shared") == 0o750
