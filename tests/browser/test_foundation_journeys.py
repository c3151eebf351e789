"""Journeys in real Chromium: sign in, role dashboard, admin creates a user, audit log, refusal, sign out."""

from __future__ import annotations

import pytest
from tests.browser.conftest import ADMIN_PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_admin_creates_user_and_reads_audit_log(hub, page):
    base = hub["base"]
    sign_in(page, base, "admin", ADMIN_PASSWORD)
    page.wait_for_url(base + "/dashboard")
    assert page.get_by_role("heading", name="Accounts").is_visible()
    page.get_by_role("link", name="Manage accounts").click()
    page.get_by_label("User name").fill("newreviewer")
    page.get_by_label("E-mail").fill("newreviewer@example.org")
    page.get_by_label("Initial password").fill("reviewer-password")
    page.get_by_label("Reviewer — reviews assigned applications").check()
    page.get_by_role("button", name="Create account").click()
    assert page.get_by_role("status").inner_text().startswith("Account “newreviewer” created")
    assert "newreviewer" in page.locator("#users").inner_text()
    # open the new account, make them a committee member of a review panel, and see it in its history
    page.locator("#users").get_by_role("link", name="newreviewer").click()
    assert page.get_by_role("heading", name="Account newreviewer").is_visible()
    page.get_by_label("Committee member — scores applications and decides").check()
    page.get_by_label("Groups").fill("panel-2027")
    page.get_by_role("button", name="Save changes").click()
    assert page.get_by_role("status").inner_text() == "Changes saved."
    assert page.get_by_label("Committee member — scores applications and decides").is_checked()
    history = page.locator("#history").inner_text()
    assert "panel-2027" in history and "committee" in history and "admin" in history
    page.goto(base + "/admin/audit")
    table = page.locator("#audit").inner_text()
    assert "newreviewer" in table and "create" in table
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/")
    assert page.get_by_role("link", name="Sign in").is_visible()


def test_applicant_dashboard_and_refused_admin_page(hub, page):
    base = hub["base"]
    sign_in(page, base, "appl", "applicant-password")
    page.wait_for_url(base + "/dashboard")
    assert page.locator('[data-role="applicant"]').is_visible()
    assert page.get_by_role("link", name="Manage accounts").count() == 0
    response = page.goto(base + "/admin/users")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/")


def test_wrong_password_shows_generic_error(hub, page):
    base = hub["base"]
    sign_in(page, base, "appl", "not-the-password")
    assert page.get_by_role("alert").inner_text() == "Invalid user name or password."
    # the typed user name is kept, the password is not
    assert page.get_by_label("User name").input_value() == "appl"
    assert page.get_by_label("Password").input_value() == ""
