"""Mail goes through a real SMTP server (aiosmtpd); an outage loses nothing and is retried."""

from __future__ import annotations

import socket

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from halric.calls import mail
from halric.calls.models import OutboxMessage


class Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp():
    handler = Collect()
    ctl = Controller(handler, hostname="127.0.0.1", port=free_port())
    ctl.start()
    yield ctl, handler
    ctl.stop()


def test_outage_then_delivery(db, settings, smtp):
    ctl, handler = smtp
    with db.session() as s:
        for n in range(3):
            mail.queue(s, f"person{n}@example.org", f"Subject {n}", f"Body {n} with ümlauts")
    dead = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": free_port(), "smtp_timeout": 2})
    with db.session() as s:
        sent, failed = mail.send_pending(s, dead)
    assert (sent, failed) == (0, 3)
    with db.session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.subject.like("Subject %"))).all()
        assert all(r.sent_at is None and r.attempts == 1 and r.last_error for r in rows)
        for r in rows:
            r.next_attempt_at = None  # the retry is due now
    live = settings.model_copy(update={"smtp_host": ctl.hostname, "smtp_port": ctl.port})
    with db.session() as s:
        sent, failed = mail.send_pending(s, live)
    assert failed == 0 and sent >= 3
    received = {rcpt[0]: content for _, rcpt, content in handler.messages}
    assert {"person0@example.org", "person1@example.org", "person2@example.org"} <= set(received)
    from email import message_from_bytes, policy

    msg = message_from_bytes(received["person1@example.org"], policy=policy.default)
    assert msg["Subject"] == "Subject 1" and "Body 1 with ümlauts" in msg.get_content()
    with db.session() as s:
        assert mail.pending(s) == []
    with db.session() as s:  # nothing is sent twice
        assert mail.send_pending(s, live) == (0, 0)
