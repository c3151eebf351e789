"""Federation fixtures: real hub processes (`halric serve`, each with its own database and data directory)
as remote sites, seeded through their SciCat API, plus stand-in sites in their own processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import PASSWORD
from halric.core.db import Database

HERE = Path(__file__).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
            [sys.executable, "-u", str(HERE / "slow_site.py"), str(self.port), str(delay)],
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


SHARED_DOI = "10.5555/halric-shared-" + uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
def remotes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two real hub processes, alpha and beta, with different data and access groups (started once for all
    federation tests; tests that change a site's data add their own records).

    alpha: public 'lysozyme crystal', private 'quokka secret' (alpha-team), public shared-DOI dataset.
    beta: public 'lysozyme solution' with a temperature, private 'wombat secret' (beta-team), the same
    shared-DOI dataset; a harvester account in beta-team (its token is the service token for harvests).
    """
    root = tmp_path_factory.mktemp("sites")
    alpha, beta = RemoteHub("alpha", root), RemoteHub("beta", root)
    try:
        for hub in (alpha, beta):
            hub.start()
        w: dict[str, Any] = {"alpha": alpha, "beta": beta}
        w["alice"] = alpha.user(["alpha-team"], "alice")
        w["bob"] = beta.user(["beta-team"], "bob")
        w["harvester"] = beta.user(["beta-team"], "harv")
        for hub in (alpha, beta):
            hub.wait()
        a = w["alice"]
        w["alpha_public"] = alpha.dataset(a, "alpha-team", "Lysozyme crystal at alpha", isPublished=True,
                                          keywords=["lysozyme", "crystal"], description="MX of lysozyme")  # fmt: skip
        w["alpha_secret"] = alpha.dataset(a, "alpha-team", "Quokka secret lysozyme", keywords=["quokka"])
        alpha.dataset(
            a, "alpha-team", "Shared lysozyme reference (alpha copy)", pid=SHARED_DOI, isPublished=True
        )
        b = w["bob"]
        w["beta_public"] = beta.dataset(
            b, "beta-team", "Lysozyme solution at beta", isPublished=True, keywords=["lysozyme", "saxs"],
            techniques=[{"pid": "PaNET01188", "name": "small angle x-ray scattering"}],
            scientificMetadata={"sample_temperature": {"value": 25, "unit": "celsius"}},
        )  # fmt: skip
        w["beta_secret"] = beta.dataset(b, "beta-team", "Wombat secret lysozyme", keywords=["wombat"])
        beta.dataset(b, "beta-team", "Shared lysozyme reference", pid=SHARED_DOI, isPublished=True,
                     description="the same data, known at beta too")  # fmt: skip
        w["shared"] = SHARED_DOI
        yield w
    finally:
        alpha.stop()
        beta.stop()
