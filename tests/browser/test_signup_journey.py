"""A newcomer opens an account in real Chromium: the confirmation mail goes through `halric mail send` to
a real SMTP server (aiosmtpd), its link confirms the address, they sign in; later they forget the
password and get back in with the reset link."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from tests.support.browser import expect_status, halric, serve_hub

pytestmark = pytest.mark.browser


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def link(self, to: str, path: str) -> str:
        for m in reversed(self.messages):
            if m["To"] == to:
                found = re.search(r"(http://\S+" + re.escape(path) + r"\?token=\S+)", m.get_content())
                if found:
                    return found.group(1)
        raise AssertionError(f"no mail to {to} with a {path} link")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def mail_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool
) -> Iterator[dict]:
    inbox = Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    ctl.start()
    web_port = _free_port()
    env = {
        "HALRIC_SMTP_HOST": "127.0.0.1",
        "HALRIC_SMTP_PORT": str(ctl.port),
        "HALRIC_BASE_URL": f"http://127.0.0.1:{web_port}",
    }
    try:
        with serve_hub(request.param, tmp_path_factory.mktemp("mailhub"), pg_ok, env, port=web_port) as h:
            yield {**h, "inbox": inbox}
    finally:
        ctl.stop()


def test_sign_up_confirm_sign_in_and_reset_password(mail_hub, page):
    base, inbox, env = mail_hub["base"], mail_hub["inbox"], mail_hub["env"]
    page.goto(base + "/signin")
    page.get_by_role("link", name="Create one").click()
    page.get_by_label("Your name").fill("Ingrid Industry")
    page.get_by_label("E-mail address").fill("ingrid@pharma.example")
    page.get_by_label("User name").fill("ingrid")
    page.get_by_label("Password", exact=False).first.fill("ingrid-password-1")
    page.get_by_label("Repeat the password").fill("ingrid-password-1")
    page.get_by_role("button", name="Create account").click()
    assert "ingrid@pharma.example" in page.locator("#signup-sent").inner_text()

    # before confirming, signing in is refused with a reason
    expect_status(page, 401, "/signin")
    page.goto(base + "/signin")
    page.get_by_label("User name").fill("ingrid")
    page.get_by_label("Password").fill("ingrid-password-1")
    page.get_by_role("button", name="Sign in").click()
    assert "Confirm your e-mail address first" in page.get_by_role("alert").inner_text()

    halric(["mail", "send"], env)
    page.goto(inbox.link("ingrid@pharma.example", "/signup/confirm"))
    page.get_by_role("button", name="Confirm my address").click()
    assert "Your e-mail address is confirmed" in page.get_by_role("status").inner_text()
    page.get_by_label("User name").fill("ingrid")
    page.get_by_label("Password").fill("ingrid-password-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/dashboard")
    page.get_by_role("button", name="Sign out").click()

    # she forgets the password
    page.goto(base + "/signin")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail address").fill("ingrid@pharma.example")
    page.get_by_role("button", name="Send me a link").click()
    assert "ingrid@pharma.example" in page.locator("#forgot-sent").inner_text()
    halric(["mail", "send"], env)
    page.goto(inbox.link("ingrid@pharma.example", "/password/reset"))
    page.get_by_label("New password").fill("ingrid-new-password-2")
    page.get_by_label("Repeat it").fill("ingrid-new-password-2")
    page.get_by_role("button", name="Set new password").click()
    assert "Your new password is set" in page.get_by_role("status").inner_text()
    page.get_by_label("User name").fill("ingrid")
    page.get_by_label("Password").fill("ingrid-new-password-2")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/dashboard")
