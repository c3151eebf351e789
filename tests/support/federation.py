"""Federation: real hub processes (`halric serve`, each with its own database and data directory) as
remote sites, seeded through their SciCat API, and stand-in sites in their own processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from tests.support.accounts import PASSWORD
from tests.support.net import free_port

from halric.core.db import Database

FEDERATION_TESTS = Path(__file__).resolve().parents[1] / "federation"


class RemoteHub:
    """A HALRIC hub in its own process (SQLite), reached over HTTP like any other site."""

    def __init__(self, name: str, root: Path) -> None:
        from halric.migrations import upgrade

        self.name = name
        self.data = root / name
        self.data.mkdir(parents=True)
        self.url_db = f"sqlite:///{self.data / 'halric.db'}"
        upgrade(self.url_db)
        self.db = Database(self.url_db)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HALRIC_DATA_DIR": str(self.data),
            "HALRIC_DATABASE_URL": self.url_db,
            "HALRIC_SECRET_KEY": f"{name}-" + uuid.uuid4().hex,
            "HALRIC_CATALOG_PID_PREFIX": f"PID.{name}",
        }
        self.log = (self.data / "server.log").open("w")
        self.proc: subprocess.Popen[bytes] | None = None
        self._jwt: dict[str, str] = {}

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "halric.cli.main", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=self.log,
        )

    def wait(self) -> None:
        for _ in range(300):
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start: " + (self.data / "server.log").read_text())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        self.log.close()
        self.db.dispose()

    def user(self, groups: list[str], prefix: str = "u") -> str:
        from halric.accounts import service
        from halric.accounts.schemas import NewUser
        from halric.core.actor import system_actor

        name = f"{prefix}{uuid.uuid4().hex[:6]}"
        with self.db.session() as s:
            service.create_user(
                s,
                system_actor("test"),
                NewUser(username=name, email=f"{name}@example.org", password=PASSWORD, groups=groups),
            )
        return name

    def api_token(self, username: str) -> str:
        """A hub API token of a user at this site (what a user gives the federating hub)."""
        from sqlalchemy import select

        from halric.accounts import service
        from halric.accounts.models import User
        from halric.core.actor import system_actor

        with self.db.session() as s:
            user = s.scalar(select(User).where(User.username == username))
            token, _ = service.create_api_token(s, system_actor("test"), user, "federation")
        return token

    def headers(self, username: str) -> dict[str, str]:
        if username not in self._jwt:
            r = httpx.post(
                self.base + "/api/v3/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert r.status_code == 201, r.text
            self._jwt[username] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._jwt[username]}"}

    def dataset(self, username: str, group: str, title: str, **extra: Any) -> str:
        body = {
            "datasetName": title, "type": "raw", "ownerGroup": group, "owner": username,
            "contactEmail": f"{username}@example.org", "sourceFolder": f"/data/{uuid.uuid4().hex[:6]}",
            "creationTime": extra.pop("creationTime", "2025-03-01T10:00:00Z"), **extra,
        }  # fmt: skip
        r = httpx.post(self.base + "/api/v4/datasets", json=body, headers=self.headers(username))
        assert r.status_code == 201, r.text
        return r.json()["pid"]

    def patch(self, username: str, pid: str, body: dict[str, Any]) -> None:
        from urllib.parse import quote

        r = httpx.patch(
            f"{self.base}/api/v4/datasets/{quote(pid, safe='')}", json=body, headers=self.headers(username)
        )
        assert r.status_code == 200, r.text

    def delete(self, username: str, pid: str) -> None:
        from urllib.parse import quote

        r = httpx.delete(f"{self.base}/api/v4/datasets/{quote(pid, safe='')}", headers=self.headers(username))
        assert r.status_code == 200, r.text


class StandIn:
    """``slow_site.py`` in its own process: a site that answers after ``delay`` seconds."""

    def __init__(self, delay: float) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(FEDERATION_TESTS / "slow_site.py"), str(self.port), str(delay)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("READY"), line

    def wait_request(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
