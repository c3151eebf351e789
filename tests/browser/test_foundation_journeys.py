"""Journeys in real Chromium: sign in, role dashboard, admin creates a user, audit log, refusal, sign out."""

from __future__ import annotations

import pytest
from tests.support.browser import ADMIN_PASSWORD, expect_status, sign_in, type_into

pytestmark = pytest.mark.browser


def test_admin_creates_user_and_reads_audit_log(hub, page):
    base = hub["base"]
    sign_in(page, base, "admin", ADMIN_PASSWORD)
    assert page.get_by_role("heading", name="Accounts").is_visible()
    page.get_by_role("link", name="Manage accounts").click()
    type_into(page, "User name", "newreviewer")
    type_into(page, "E-mail", "newreviewer@example.org")
    type_into(page, "Initial password", "reviewer-password")
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
    assert page.locator('[data-role="applicant"]').is_visible()
    assert page.get_by_role("link", name="Manage accounts").count() == 0
    expect_status(page, 403, "/admin/users")  # typed on purpose: the refusal is what is tested
    response = page.goto(base + "/admin/users")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(base + "/")


def test_wrong_password_shows_generic_error(hub, page):
    base = hub["base"]
    expect_status(page, 401, "/signin")
    page.goto(base + "/")
    page.get_by_role("link", name="Sign in").click()
    type_into(page, "User name", "appl")
    type_into(page, "Password", "not-the-password")
    page.keyboard.press("Enter")
    assert page.get_by_role("alert").inner_text() == "Invalid user name or password."
    # the typed user name is kept, the password is not
    assert page.get_by_label("User name").input_value() == "appl"
    assert page.get_by_label("Password").input_value() == ""


def test_api_docs_render_without_internet(hub, page):
    """Swagger UI comes from the hub itself (this browser has no internet) and runs under the CSP."""
    base = hub["base"]
    page.goto(base + "/")
    page.get_by_role("contentinfo").get_by_role("link", name="API").click()
    page.wait_for_url(base + "/api/docs")
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("HALRIC Hub API")
    assert page.locator(".opblock").count() > 20  # the operations are listed
    page.locator(".opblock-summary", has_text="/healthz").first.click()
    assert page.get_by_role("button", name="Try it out").is_visible()
