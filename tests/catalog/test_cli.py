"""`halric catalog ...` run as real processes against the module's database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import select

from halric.catalog import service
from halric.core.actor import Actor
from halric.core.audit import AuditEvent

OWNER = Actor(user_id=7, username="olle", groups=frozenset({"lab-cli"}))


def run(args: list[str], settings, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(settings.data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "halric.cli.main", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_release_embargoed_is_idempotent_and_audited(db, settings):
    base = {
        "type": "raw",
        "ownerGroup": "lab-cli",
        "owner": "olle",
        "contactEmail": "o@x.org",
        "sourceFolder": "/c",
    }
    from datetime import timedelta

    from sqlalchemy import update

    from halric.catalog.models import Dataset
    from halric.core.timeutil import utcnow

    with db.session() as s:
        due = service.create_dataset(s, OWNER, {**base, "creationTime": "2015-01-01T00:00:00Z"})["pid"]
        later = service.create_dataset(s, OWNER, {**base, "creationTime": "2099-01-01T00:00:00Z"})["pid"]
        # back-dated (measured 2015) and registered today: its embargo runs from today, the job leaves it
        backdated = service.create_dataset(s, OWNER, {**base, "creationTime": "2015-01-01T00:00:00Z"})["pid"]
        # ``due`` was registered four years ago; its three-year embargo ended yesterday
        s.execute(update(Dataset).where(Dataset.pid == due).values(
            created_at=utcnow() - timedelta(days=4 * 365), embargo_until=utcnow() - timedelta(days=1)))  # fmt: skip
    dry = run(["catalog", "release-embargoed", "--dry-run", "--json"], settings)
    assert dry.returncode == 0, dry.stderr
    assert due in json.loads(dry.stdout)["due"] and later not in json.loads(dry.stdout)["due"]
    assert backdated not in json.loads(dry.stdout)["due"]
    first = run(["catalog", "release-embargoed", "--json"], settings)
    assert first.returncode == 0, first.stderr
    assert due in json.loads(first.stdout)["released"]
    second = run(["catalog", "release-embargoed"], settings)
    assert second.returncode == 0 and "0 dataset(s) released" in second.stdout
    with db.session() as s:
        assert service.get_dataset(s, OWNER, due)["isPublished"] is True
        assert service.get_dataset(s, OWNER, later)["isPublished"] is False
        assert service.get_dataset(s, OWNER, backdated)["isPublished"] is False
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.entity_id == due, AuditEvent.action == "publish")
        ).all()
        assert len(events) == 1 and events[0].via == "cli"


def test_embargo_policy_and_datacite_validate_errors(db, settings, tmp_path):
    r = run(["catalog", "embargo-policy", "P-none"], settings)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--years" in r.stderr
    r = run(["catalog", "embargo-policy", "P-missing", "--years", "2"], settings)
    assert r.returncode == 2 and "No proposal" in r.stderr
    bad = tmp_path / "dc.json"
    bad.write_text(json.dumps({"titles": [{"title": "x"}]}))
    r = run(["catalog", "datacite-validate", str(bad)], settings)
    assert r.returncode == 2 and "problem(s)" in r.stderr and "creators" in r.stdout
