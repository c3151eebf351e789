"""`halric db purge` deletes what has expired and nothing that is still in use (both databases)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select

from halric.accounts.models import AccountToken, LoginFailure, User, UserRole, WebSession
from halric.calls.models import OutboxMessage
from halric.core.audit import AuditEvent
from halric.core.timeutil import utcnow
from halric.jobs.models import Job


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
            AccountToken(user_id=uid, purpose="reset-password", token_hash="c" * 64, expires_at=now - timedelta(days=2)),
            AccountToken(user_id=uid, purpose="reset-password", token_hash="d" * 64, expires_at=now - timedelta(hours=2)),
            Job(kind="db.purge", state="done", requested_by="t", max_attempts=1, finished_at=now - timedelta(days=30)),
            Job(kind="db.purge", state="done", requested_by="t", max_attempts=1, finished_at=now - timedelta(days=1)),
            Job(kind="mail.send", state="dead", requested_by="t", max_attempts=1, finished_at=now - timedelta(days=90)),
        ])  # fmt: skip
        # sign-ups: one never confirmed for 8 days, one unconfirmed since yesterday, one confirmed long ago
        for uname, age, confirmed in (
            ("stale-" + name, 8, False),
            ("fresh-" + name, 1, False),
            ("old-" + name, 30, True),
        ):
            s.add(User(username=uname, email=f"{uname}@x.org", created_at=now - timedelta(days=age),
                       email_verified_at=now - timedelta(days=age) if confirmed else None,
                       roles=[UserRole(role="applicant")]))  # fmt: skip
    env = {**os.environ, "HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(settings.data_dir)}
    cmd = [sys.executable, "-m", "halric.cli.main", "db", "purge", "--json"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "sessions": 1, "login_failures": 1, "email_links": 1, "unconfirmed_accounts": 1, "delivered_mail": 1,
        "finished_jobs": 1, "addresses": 0,
    }  # fmt: skip
    with db.session() as s:
        assert [w.token_hash[0] for w in s.scalars(select(WebSession))] == ["b"]
        assert sorted(f.key for f in s.scalars(select(LoginFailure))) == ["locked", "recent"]
        assert sorted(m.subject for m in s.scalars(select(OutboxMessage))) == ["new", "unsent"]
        assert [
            t.token_hash[0] for t in s.scalars(select(AccountToken).where(AccountToken.user_id == uid))
        ] == ["d"]
        left = set(s.scalars(select(User.username).where(User.username.like(f"%-{name}"))))
        assert left == {"fresh-" + name, "old-" + name}
        # finished jobs go after HALRIC_JOB_KEEP_DAYS (14); the dead-letter list stays until handled
        assert sorted((j.state, (now - j.finished_at).days) for j in s.scalars(select(Job))) == [
            ("dead", 90), ("done", 1)
        ]  # fmt: skip
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "purge")).all()
        assert len(events) == 1 and events[0].details["sessions"] == 1
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert set(json.loads(again.stdout).values()) == {0}
    bad = subprocess.run(
        [*cmd, "--keep-mail-days", "-1"], env=env, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and bad.stderr.strip()
