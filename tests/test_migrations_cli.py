"""Schema migrations and the command line, run as real processes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from halric.core.db import Database
from halric.core.errors import SchemaOutOfDate


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "halric.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


@pytest.fixture(scope="module")
def fresh_url(db_url: str) -> str:
    """The module's database, still empty (this module does not use the `db` fixture)."""
    return db_url


def test_cli_full_cycle(fresh_url, tmp_path):
    env = {"HALRIC_DATABASE_URL": fresh_url, "HALRIC_DATA_DIR": str(tmp_path)}
    # an empty database is refused with the command that fixes it
    r = run(["user", "list"], env)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "halric db upgrade" in r.stderr
    with pytest.raises(SchemaOutOfDate):
        from halric.web.app import create_app

        create_app(database=Database(fresh_url))
    r = run(["serve", "--port", "0"], env)
    assert r.returncode == 2 and "halric db upgrade" in r.stderr

    r = run(["db", "upgrade"], env)
    assert r.returncode == 0, r.stderr
    r = run(["db", "upgrade"], env)
    assert r.returncode == 0 and "already" in r.stdout
    assert run(["db", "status"], env).returncode == 0

    r = run(
        [
            "user",
            "add",
            "carol",
            "--email",
            "carol@example.org",
            "--role",
            "data-steward",
            "--group",
            "lab-a",
            "--group",
            "lab-b",
            "--password-stdin",
        ],
        env,
        stdin="a-very-good-password\n",
    )
    assert r.returncode == 0, r.stderr
    r = run(["user", "list", "--json"], env)
    import json

    users = json.loads(r.stdout)
    carol = next(u for u in users if u["username"] == "carol")
    assert carol["roles"] == ["steward"] and carol["groups"] == ["lab-a", "lab-b"]

    # errors: one line on stderr, exit code 2, nothing written
    for args, stdin, needle in [
        (
            ["user", "add", "carol", "--email", "c2@example.org", "--password-stdin"],
            "a-very-good-password\n",
            "already exists",
        ),
        (["user", "add", "dave", "--email", "nope", "--password-stdin"], "a-very-good-password\n", "email"),
        (
            ["user", "add", "dave", "--email", "d@example.org", "--role", "wizard", "--password-stdin"],
            "a-very-good-password\n",
            "unknown role",
        ),
        (["user", "add", "dave", "--email", "d@example.org", "--password-stdin"], "short\n", "password"),
        (["user", "add", "dave", "--email", "d@example.org"], None, "--password-stdin"),
        (["user", "add"], None, "Missing argument"),
        (["no-such-command"], None, "No such command"),
    ]:
        r = run(args, env, stdin)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("halric: error:") and r.stderr.count("\n") == 1, r.stderr
        assert needle in r.stderr, (needle, r.stderr)
    users = json.loads(run(["user", "list", "--json"], env).stdout)
    assert "dave" not in {u["username"] for u in users}

    tok = run(["token", "create", "carol", "--name", "script"], env)
    assert tok.returncode == 0 and tok.stdout.strip().startswith("hlr_")


def test_init_creates_first_admin_once(fresh_url, tmp_path):
    env = {
        "HALRIC_DATABASE_URL": fresh_url,
        "HALRIC_DATA_DIR": str(tmp_path),
        "HALRIC_ADMIN_PASSWORD": "admin-pass-for-tests",
    }
    r = run(["init"], env)
    assert r.returncode == 0, r.stderr
    assert "first admin" in r.stdout
    assert (tmp_path / "data").is_dir() and "\nMade " in "\n" + r.stdout  # the default download root
    r = run(["init"], env)
    assert r.returncode == 0 and "first admin" not in r.stdout and "\nMade " not in "\n" + r.stdout
    from sqlalchemy import select

    from halric.accounts.models import User
    from halric.accounts.security import verify_password

    db = Database(fresh_url)
    with db.session() as s:
        admin = s.scalar(select(User).where(User.username == "admin"))
        assert verify_password(admin.password_hash, "admin-pass-for-tests")
    db.dispose()


def test_models_and_migrations_agree(db_url, tmp_path):
    """A model change without a migration fails here (autogenerate finds no difference)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from halric.migrations import include_object, upgrade
    from halric.models import metadata

    upgrade(db_url)
    database = Database(db_url)
    with database.engine.connect() as conn:
        opts = {"compare_type": True, "include_object": include_object}
        diffs = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata)
    database.dispose()
    assert diffs == []
