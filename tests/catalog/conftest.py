"""Catalog fixtures: a real hub process (`halric serve`) on a free port with a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.net import free_port

from halric.core.db import Database


@pytest.fixture(scope="module")
def hub(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`halric serve` on a free port over the module's (SQLite or PostgreSQL) database."""
    from halric.migrations import upgrade

    data = tmp_path_factory.mktemp("hub")
    upgrade(db_url)
    db = Database(db_url)
    env = {
        **os.environ,
        "HALRIC_DATA_DIR": str(data),
        "HALRIC_DATABASE_URL": db_url,
        "HALRIC_SECRET_KEY": "catalog-test-" + uuid.uuid4().hex,
        "HALRIC_CATALOG_PID_PREFIX": "PID.test",
    }
    port = free_port()
    log_path = data / "server.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "halric.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("hub did not start: " + Path(log_path).read_text())
        yield {"base": base, "db": db, "env": env, "log": log_path}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        db.dispose()
