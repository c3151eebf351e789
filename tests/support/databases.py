"""Throw-away PostgreSQL databases (every database test also runs on PostgreSQL) and the CI switch."""

from __future__ import annotations

import os
import re
import uuid

PG_ADMIN_DSN = os.environ.get("HALRIC_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
# In CI a missing service (PostgreSQL, a broker, Node.js) fails the tests instead of skipping them.
IN_CI = os.environ.get("CI", "").lower() == "true"


def pg_reachable() -> bool:
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def pg_url_for(dbname: str) -> str:
    params = dict(p.split("=", 1) for p in PG_ADMIN_DSN.split())
    return f"postgresql+psycopg://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{dbname}"


def create_pg_database(prefix: str) -> tuple[str, str]:
    """A new empty database named after ``prefix``; returns its name and SQLAlchemy URL."""
    import psycopg

    name = re.sub(r"[^a-z0-9_]", "_", f"halric_t_{prefix}_{uuid.uuid4().hex[:8]}".lower())[:60]
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, pg_url_for(name)


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
