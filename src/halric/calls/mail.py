"""Outgoing mail: messages go to an outbox in the same transaction as the change that caused them,
and a sender delivers them over SMTP with retries, so a mail-server outage loses nothing.

With ``HALRIC_MAIL_DELIVERY=local`` (development, `make run`) nothing is sent: the outbox is the
mailbox, read by administrators at ``/admin/mail``, and a send marks the messages delivered there."""

from __future__ import annotations

import contextlib
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from halric.calls.models import OutboxMessage
from halric.core.timeutil import utcnow


def queue(s: Session, to: str, subject: str, body: str) -> OutboxMessage:
    msg = OutboxMessage(to=to, subject=subject[:300], body=body)
    s.add(msg)
    return msg


def pending(s: Session, limit: int = 100) -> list[OutboxMessage]:
    now = utcnow()
    q = (
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < 10)
        .where(or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return list(s.scalars(q))


def send_pending(s: Session, settings: Any) -> tuple[int, int]:
    """Deliver what is due. Returns (sent, failed). Failed messages are retried later (backoff)."""
    sent = failed = 0
    msgs = pending(s)
    if not msgs:
        return 0, 0
    if getattr(settings, "mail_delivery", "smtp") == "local":  # development: the outbox is the mailbox
        for m in msgs:
            if _claim(s, m):
                m.sent_at = utcnow()
                m.attempts += 1
                m.last_error = None
                m.next_attempt_at = None
                sent += 1
        s.flush()
        return sent, 0
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
    except (OSError, smtplib.SMTPException) as exc:
        for m in msgs:
            _failed(m, f"cannot connect to {settings.smtp_host}:{settings.smtp_port}: {exc}")
        return 0, len(msgs)
    try:
        for m in msgs:
            if not _claim(s, m):
                continue  # another sender (cron beside the worker, a second worker) has it
            em = EmailMessage()
            em["From"] = settings.mail_from
            em["To"] = m.to
            em["Subject"] = m.subject
            em.set_content(m.body)
            try:
                smtp.send_message(em)
                m.sent_at = utcnow()
                m.attempts += 1
                m.last_error = None
                sent += 1
            except smtplib.SMTPException as exc:
                _failed(m, str(exc))
                failed += 1
            s.flush()
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()
    return sent, failed


def _claim(s: Session, m: OutboxMessage) -> bool:
    """Take the message for this sender: a row lock (PostgreSQL) or the write lock (SQLite) makes a
    concurrent sender wait, and then find it sent or leased, so no message goes out twice."""
    now = utcnow()
    res = s.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == m.id, OutboxMessage.sent_at.is_(None))
        .where(or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
        .values(next_attempt_at=now + timedelta(minutes=10))
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        s.expire(m)
        return False
    return True


def recent(s: Session, *, limit: int, offset: int = 0) -> tuple[list[OutboxMessage], int]:
    """The outbox newest first, and how many messages it holds."""
    from sqlalchemy import func

    total = s.scalar(select(func.count()).select_from(OutboxMessage)) or 0
    rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit).offset(offset))
    return list(rows), int(total)


def _failed(m: OutboxMessage, error: str) -> None:
    m.attempts += 1
    m.last_error = error[:2000]
    m.next_attempt_at = utcnow() + timedelta(minutes=min(60, 2**m.attempts))


def purge_sent(s: Session, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete delivered mail sent longer ago than ``older_than`` (unsent mail is never deleted)."""
    cutoff = (now or utcnow()) - older_than
    result = s.execute(
        delete(OutboxMessage).where(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < cutoff)
    )
    return int(result.rowcount or 0)
