"""`halric db purge` deletes what has expired and nothing that is still in use (both databases)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select

from halric.accounts.models import LoginFailure, User, WebSession
from halric.calls.models import OutboxMessage
from halric.core.audit import AuditEvent
from halric.core.timeutil import utcnow


def test_purge_deletes_only_what_expired(db, settings, make_user):
    name = make_user(roles=["applicant"])
    now = utcnow()
    with db.session() as s:
        uid = s.scalar(select(User.id).where(User.username == name))
        s.add_all([
            WebSession(token_hash="a" * 64, user_id=uid, csrf_token="x", expires_at=now - timedelta(hours=1)),
            WebSession(token_hash="b" * 64, user_id=uid, csrf_token="x", expires_at=now + timedelta(hours=1)),
            LoginFailure(key="stale", count=3, last_at=now - timedelta(days=3)),
            LoginFailure(key="recent", count=3, last_at=now - timedelta(minutes=5)),
            LoginFailure(key="locked", count=9, last_at=now - timedelta(days=3), locked_until=now + timedelta(hours=1)),
            OutboxMessage(to="a@x.org", subject="old", body="", sent_at=now - timedelta(days=100)),
            OutboxMessage(to="b@x.org", subject="new", body="", sent_at=now - timedelta(days=1)),
            OutboxMessage(to="c@x.org", subject="unsent", body="", created_at=now - timedelta(days=400)),
        ])  # fmt: skip
    env = {**os.environ, "HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(settings.data_dir)}
    cmd = [sys.executable, "-m", "halric.cli.main", "db", "purge", "--json"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"sessions": 1, "login_failures": 1, "delivered_mail": 1}
    with db.session() as s:
        assert [w.token_hash[0] for w in s.scalars(select(WebSession))] == ["b"]
        assert sorted(f.key for f in s.scalars(select(LoginFailure))) == ["locked", "recent"]
        assert sorted(m.subject for m in s.scalars(select(OutboxMessage))) == ["new", "unsent"]
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "purge")).all()
        assert len(events) == 1 and events[0].details["sessions"] == 1
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout) == {"sessions": 0, "login_failures": 0, "delivered_mail": 0}
    bad = subprocess.run(
        [*cmd, "--keep-mail-days", "-1"], env=env, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and bad.stderr.strip()
