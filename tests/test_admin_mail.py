"""Development mail delivery (HALRIC_MAIL_DELIVERY=local): the outbox is the mailbox, read by
administrators at /admin/mail with its links; with SMTP delivery the page shows no message texts."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import select
from tests.support.accounts import signin

from halric.calls import mail
from halric.calls.models import OutboxMessage


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens here once the socket is closed


@pytest.fixture(scope="module")
def local_app(settings, db):
    from halric.web.app import create_app

    local = settings.model_copy(update={"mail_delivery": "local", "smtp_port": _closed_port()})
    return create_app(local, database=db), local


def _queue(db, to: str, body: str) -> int:
    with db.session() as s:
        m = mail.queue(s, to, "Confirm your address", body)
        s.flush()
        return m.id


def test_local_outbox_shows_the_message_with_its_link(local_app, db, make_user):
    app, local = local_app
    admin = make_user(roles=["admin"])
    link = "http://127.0.0.1:8000/signup/confirm?token=abc-123"
    mid = _queue(db, "newcomer@example.org", f"Hello,\n\nconfirm here: {link}.\n\n<b>not markup</b>")
    with TestClient(app) as c:
        signin(c, admin)
        dash = html.fromstring(c.get("/dashboard").text)
        assert dash.cssselect("a[href='/admin/mail']")
        page = html.fromstring(c.get("/admin/mail").text)
        assert "Development delivery" in page.cssselect("#mail-mode")[0].text_content()
        row = page.xpath(f"//table[@id='mail']//a[@href='/admin/mail/{mid}']")
        assert row and row[0].text_content() == "Confirm your address"
        msg = html.fromstring(c.get(f"/admin/mail/{mid}").text)
        body = msg.cssselect("#mail-body")[0]
        assert [a.get("href") for a in body.cssselect("a")] == [link]  # the full stop is not part of it
        assert "<b>not markup</b>" in body.text_content() and not body.cssselect("b")
        assert c.get("/admin/mail/999999").status_code == 404
    # sending in local mode delivers to the outbox itself: no SMTP connection is tried
    with db.session() as s:
        sent, failed = mail.send_pending(s, local)
    assert sent >= 1 and failed == 0
    with db.session() as s:
        m = s.scalar(select(OutboxMessage).where(OutboxMessage.id == mid))
        assert m.sent_at is not None and m.last_error is None


def test_smtp_delivery_lists_mail_without_texts_and_only_for_admins(client, db, make_user):
    mid = _queue(db, "someone@example.org", "reset: http://127.0.0.1:8000/password/reset?token=secret-1")
    signin(client, make_user(roles=["coordinator"]))
    assert client.get("/admin/mail").status_code == 403
    signin(client, make_user(roles=["admin"]))
    page = client.get("/admin/mail")
    assert page.status_code == 200 and "someone@example.org" in page.text
    msg = client.get(f"/admin/mail/{mid}")
    assert msg.status_code == 200 and "secret-1" not in msg.text and "not shown" in msg.text


def test_delivery_mode_is_checked():
    from pydantic import ValidationError

    from halric.core.settings import Settings

    assert Settings(mail_delivery="local").mail_delivery == "local"
    with pytest.raises(ValidationError):
        Settings(mail_delivery="pigeon")
