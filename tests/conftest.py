"""Shared fixtures: every database test runs on SQLite and on PostgreSQL (a throw-away database per module)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.support.accounts import PASSWORD
from tests.support.databases import IN_CI, PG_ADMIN_DSN, create_pg_database, drop_pg_database, pg_reachable

from halric.core.db import Database
from halric.core.settings import Settings

# The suite federates sites it starts on this machine (http://127.0.0.1:port); a hub refuses such sites
# unless told otherwise (halric.federation.addresses). tests/federation/test_site_addresses.py checks the
# refusals with these switched off.
os.environ.setdefault("HALRIC_FEDERATION_ALLOW_HTTP", "true")
os.environ.setdefault("HALRIC_FEDERATION_ALLOW_PRIVATE_HOSTS", "true")


@pytest.fixture(scope="session")
def pg_ok() -> bool:
    ok = pg_reachable()
    if not ok and IN_CI:
        pytest.fail("PostgreSQL is required when CI=true but is not reachable at " + PG_ADMIN_DSN)
    return ok


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool
) -> Iterator[str]:
    """An empty database of each kind, private to the test module."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "halric.db"
        yield f"sqlite:///{path}"
        return
    if not pg_ok:
        pytest.skip("PostgreSQL not reachable (set CI=true to make this a failure)")
    name, url = create_pg_database(request.module.__name__.rsplit(".", 1)[-1])
    try:
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path, pg_ok: bool) -> Iterator[str]:
    """An empty database of each kind for one test (a migration test upgrades it step by step)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    if not pg_ok:
        pytest.skip("PostgreSQL not reachable (set CI=true to make this a failure)")
    name, url = create_pg_database(request.module.__name__.rsplit(".", 1)[-1])
    try:
        yield url
    finally:
        drop_pg_database(name)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index cache for the whole run: the registry's passage embeddings are computed once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def settings(db_url: str, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Settings:
    data_dir: Path = tmp_path_factory.mktemp("data")
    return Settings(
        data_dir=data_dir,
        database_url=db_url,
        secret_key="test-secret-" + uuid.uuid4().hex,
        cache_dir=cache_dir,
    )


@pytest.fixture(scope="module")
def db(settings: Settings) -> Iterator[Database]:
    from halric.migrations import upgrade

    upgrade(settings.db_url)
    database = Database(settings.db_url, settings=settings)  # the app built on it shares them
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def app(settings: Settings, db: Database):
    from halric.web.app import create_app

    return create_app(settings, database=db)


@pytest.fixture()
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture()
def make_user(db: Database):
    """Create a user with a unique name; returns the user name."""
    from halric.accounts import service
    from halric.accounts.schemas import NewUser
    from halric.core.actor import system_actor

    def _make(
        roles: list[str] | None = None,
        groups: list[str] | None = None,
        prefix: str = "u",
        organisation: str | None = None,
    ) -> str:
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
                    groups=groups or [],
                    organisation_id=organisation,
                ),
            )
        return name

    return _make


@pytest.fixture(scope="module")
def loaded(db: Database) -> Database:
    """The module's database with the shipped registry loaded."""
    from halric.registry.loader import load_into

    load_into(db)
    return db
