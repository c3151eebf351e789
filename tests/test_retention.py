"""Retention periods are settings (docs/privacy.md): the periodic purge job and `halric db purge` apply
each of them, and nothing younger than its period is touched (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select

from halric.accounts.models import AccountToken, User, UserRole, WebSession
from halric.calls.models import OutboxMessage
from halric.core.audit import AuditEvent
from halric.core.timeutil import utcnow
from halric.jobs.models import Job

DAYS = {"retention_unconfirmed_days": 3, "retention_mail_days": 10, "retention_session_days": 2,
        "retention_address_days": 5, "job_keep_days": 4}  # fmt: skip
HOUR = timedelta(hours=1)


def _actor(ip: str) -> dict:
    return {
        "user_id": None,
        "username": "t",
        "roles": [],
        "groups": [],
        "organisation": None,
        "ip": ip,
        "via": "web",
    }


def test_each_retention_period_is_applied_and_nothing_younger_is_touched(db, settings, make_user):
    from halric.core.actor import system_actor
    from halric.jobs.tasks import Context, purge_job

    st = settings.model_copy(update=DAYS)
    name = make_user()
    now = utcnow()

    def ago(days: int, sign: int) -> object:  # just past the period (sign=+1) or just within it (-1)
        return now - timedelta(days=days) - sign * HOUR

    with db.session() as s:
        uid = s.scalar(select(User.id).where(User.username == name))
        s.add_all([
            # sessions: deleted 2 days after they expired; addresses of old live sessions removed after 5
            WebSession(token_hash="s-old" + name, user_id=uid, csrf_token="x", expires_at=ago(2, +1), ip="192.0.2.1"),
            WebSession(token_hash="s-young" + name, user_id=uid, csrf_token="x", expires_at=ago(2, -1),
                       created_at=ago(2, -1), ip="192.0.2.2", user_agent="Firefox"),
            WebSession(token_hash="s-live-old" + name, user_id=uid, csrf_token="x", expires_at=now + HOUR,
                       created_at=ago(5, +1), ip="192.0.2.3", user_agent="Chromium"),
            WebSession(token_hash="s-live-new" + name, user_id=uid, csrf_token="x", expires_at=now + HOUR,
                       created_at=ago(5, -1), ip="192.0.2.4", user_agent="Safari"),
            # mail: delivered mail 10 days; unsent mail stays
            OutboxMessage(to="old@x.org", subject="old", body="", sent_at=ago(10, +1)),
            OutboxMessage(to="young@x.org", subject="young", body="", sent_at=ago(10, -1)),
            OutboxMessage(to="unsent@x.org", subject="unsent", body="", created_at=ago(400, +1)),
            # addresses in the audit log, e-mail links and jobs: 5 days
            AuditEvent(at=ago(5, +1), actor_name="t", via="web", ip="198.51.100.1", action="a", entity_type="retention"),
            AuditEvent(at=ago(5, -1), actor_name="t", via="web", ip="198.51.100.2", action="a", entity_type="retention"),
            AccountToken(user_id=uid, purpose="reset-password", token_hash="t-old" + name, created_at=ago(5, +1),
                         expires_at=now + HOUR, ip="198.51.100.3"),
            AccountToken(user_id=uid, purpose="reset-password", token_hash="t-young" + name, created_at=ago(5, -1),
                         expires_at=now + HOUR, ip="198.51.100.4"),
            Job(kind="mail.send", state="dead", requested_by="t", max_attempts=1, created_at=ago(5, +1),
                finished_at=ago(5, +1), actor=_actor("203.0.113.1")),
            Job(kind="mail.send", state="dead", requested_by="t", max_attempts=1, created_at=ago(5, -1),
                finished_at=ago(5, -1), actor=_actor("203.0.113.2")),
            # finished jobs: 4 days
            Job(kind="db.purge", state="done", requested_by="t", max_attempts=1, created_at=ago(4, +1),
                finished_at=ago(4, +1)),
            Job(kind="db.purge", state="done", requested_by="t", max_attempts=1, created_at=ago(4, -1),
                finished_at=ago(4, -1)),
        ])  # fmt: skip
        # sign-ups never confirmed: 3 days; an erased account (unconfirmed, long ago) is never purged
        for uname, created, erased in (("old-" + name, ago(3, +1), None), ("young-" + name, ago(3, -1), None),
                                       ("erased-" + name, ago(300, +1), ago(200, +1))):  # fmt: skip
            s.add(User(username=uname, email=f"{uname}@x.org", created_at=created, erased_at=erased,
                       is_active=erased is None, roles=[UserRole(role="applicant")]))  # fmt: skip

    counts = purge_job(Context(db, st, system_actor("scheduler", via="worker"), job_id=0), {})
    assert counts == {"sessions": 1, "login_failures": 0, "email_links": 0, "unconfirmed_accounts": 1,
                      "delivered_mail": 1, "finished_jobs": 1, "addresses": 4}  # fmt: skip
    with db.session() as s:
        sessions = {
            w.token_hash.removesuffix(name): (w.ip, w.user_agent) for w in s.scalars(select(WebSession))
        }
        assert sessions == {"s-young": ("192.0.2.2", "Firefox"), "s-live-old": (None, None),
                            "s-live-new": ("192.0.2.4", "Safari")}  # fmt: skip
        assert sorted(m.subject for m in s.scalars(select(OutboxMessage))) == ["unsent", "young"]
        ips = {e.ip for e in s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "retention"))}
        assert ips == {None, "198.51.100.2"}
        assert {t.token_hash.removesuffix(name): t.ip for t in s.scalars(select(AccountToken))} == {
            "t-old": None, "t-young": "198.51.100.4"}  # fmt: skip
        jobs = s.scalars(select(Job).order_by(Job.id)).all()
        assert [(j.state, j.actor.get("ip")) for j in jobs] == [
            ("dead", None), ("dead", "203.0.113.2"), ("done", None)]  # fmt: skip
        assert now - jobs[-1].finished_at < timedelta(days=4)
        left = set(s.scalars(select(User.username).where(User.username.like(f"%-{name}"))))
        assert left == {"young-" + name, "erased-" + name}
        purge = s.scalars(select(AuditEvent).where(AuditEvent.action == "purge")).one()
        assert purge.actor_name == "purge" and purge.details["addresses"] == 4
    # a second run finds nothing more
    assert set(
        purge_job(Context(db, st, system_actor("scheduler", via="worker"), job_id=0), {}).values()
    ) == {0}


def test_db_purge_reads_the_retention_settings(db, settings):
    now = utcnow()
    with db.session() as s:
        s.add_all([
            OutboxMessage(to="a@x.org", subject="cli-old", body="", sent_at=now - timedelta(days=3, hours=1)),
            OutboxMessage(to="b@x.org", subject="cli-young", body="", sent_at=now - timedelta(days=2, hours=23)),
        ])  # fmt: skip
    env = {**os.environ, "HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(settings.data_dir),
           "HALRIC_RETENTION_MAIL_DAYS": "3"}  # fmt: skip
    cmd = [sys.executable, "-m", "halric.cli.main", "db", "purge"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "delivered mail(s) older than 3 days" in " ".join(r.stdout.split())
    with db.session() as s:
        assert "cli-old" not in set(s.scalars(select(OutboxMessage.subject)))
        assert "cli-young" in set(s.scalars(select(OutboxMessage.subject)))
    bad = subprocess.run(cmd, env={**env, "HALRIC_RETENTION_ADDRESS_DAYS": "0"}, capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "retention_address_days" in bad.stderr
    # the command line's own option still wins over the setting
    r = subprocess.run(
        [*cmd, "--keep-mail-days", "0", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0 and json.loads(r.stdout)["delivered_mail"] == 1
