"""A real hub process and real Chromium (Debian package) driven by Playwright's Python API."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("HALRIC_CHROMIUM", "/usr/bin/chromium")
ADMIN_PASSWORD = "browser-admin-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def halric(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        [sys.executable, "-m", "halric.cli.main", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return r


@contextmanager
def serve_hub(
    kind: str, data: Path, pg_ok: bool, extra_env: dict[str, str] | None = None, *, port: int | None = None
) -> Iterator[dict]:
    """`halric init` + one applicant, then `halric serve` on a free port over a fresh SQLite or PostgreSQL
    database, as `make run` does; yields {"base", "env", "data"}."""
    from conftest import create_pg_database, drop_pg_database

    pg_name = None
    if kind == "sqlite":
        url = f"sqlite:///{data / 'halric.db'}"
    else:
        if not pg_ok:
            pytest.skip("PostgreSQL not reachable (set CI=true to make this a failure)")
        pg_name, url = create_pg_database("browser")
    env = {
        **os.environ,
        "HALRIC_DATA_DIR": str(data),
        "HALRIC_DATABASE_URL": url,
        "HALRIC_ADMIN_PASSWORD": ADMIN_PASSWORD,
        **(extra_env or {}),
    }
    halric(["init"], env)
    halric(
        ["user", "add", "appl", "--email", "appl@example.org", "--role", "applicant", "--password-stdin"],
        env,
        stdin="applicant-password\n",
    )
    port = port or free_port()
    log = (data / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "halric.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("hub did not start: " + Path(data / "server.log").read_text())
        yield {"base": base, "env": env, "data": data}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        if pg_name:
            drop_pg_database(pg_name)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool
) -> Iterator[dict]:
    """A hub served by `halric serve` on a free port, initialised like `make run` does."""
    with serve_hub(request.param, tmp_path_factory.mktemp("hub"), pg_ok) as h:
        yield h


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make test` (installs the Debian package) or set HALRIC_CHROMIUM"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()
