"""Catalog fixtures: a real hub process (`halric serve`) on a free port with a fresh database, and users."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import PASSWORD
from halric.core.db import Database

__all__ = ["PASSWORD", "add_user", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_user(db: Database, groups: list[str], roles: list[str] | None = None, prefix: str = "u") -> str:
    from halric.accounts import service
    from halric.accounts.schemas import NewUser
    from halric.core.actor import system_actor

    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    with db.session() as s:
        service.create_user(
            s,
            system_actor("test"),
            NewUser(
                username=name,
                email=f"{name}@example.org",
                password=PASSWORD,
                roles=roles or ["applicant"],
                groups=groups,
            ),
        )
    return name


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
