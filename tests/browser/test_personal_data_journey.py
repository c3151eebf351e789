"""The person's own data in real Chromium (issue #17): a researcher downloads everything the hub holds about
her from her account page; later an administrator erases her account, naming a successor, after a slip in
the confirmation is shown by its field; her open session ends and she can no longer sign in. Only the start
page is typed as an address; everything else is followed. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.browser import (
    ADMIN_PASSWORD,
    assert_accessible,
    assert_fits,
    expect_status,
    screenshot,
    sign_in,
    type_into,
)

pytestmark = pytest.mark.browser

PASSWORD = "journey-password-1"
PEOPLE = {
    "ingrid": ("Ingrid Øberg Lindqvist", "ingrid.lindqvist@med.example.org", "hospital-imaging"),
    "sven": ("Sven Successor", "sven@med.example.org", ""),
}


def cli(hub, *args: str, stdin: str | None = None) -> str:
    r = subprocess.run([sys.executable, "-m", "halric.cli.main", *args], env=hub["env"], input=stdin,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def people(hub):
    for name, (full, email, group) in PEOPLE.items():
        extra = ["--group", group] if group else []
        cli(hub, "user", "add", name, "--email", email, "--name", full, "--role", "applicant", *extra,
            "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    return PEOPLE


def test_a_person_downloads_her_data_and_an_admin_erases_her_account(hub, people, browser):
    base = hub["base"]
    ingrid = browser.new_page()
    sign_in(ingrid, base, "ingrid", PASSWORD)
    ingrid.get_by_role("link", name="Open account").click()
    ingrid.wait_for_url(base + "/account")
    assert_accessible(ingrid)
    ingrid.locator("#your-data").scroll_into_view_if_needed()
    screenshot(ingrid, "account-your-data")
    with ingrid.expect_download() as download:
        ingrid.get_by_role("link", name="Download everything the hub holds about you").click()
    assert download.value.suggested_filename.startswith("halric-personal-data-ingrid-")
    doc = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert (
        doc["account"]["email"] == PEOPLE["ingrid"][1] and doc["account"]["full_name"] == PEOPLE["ingrid"][0]
    )
    assert [g["name"] for g in doc["groups"]] == ["hospital-imaging"] and doc["sessions"]
    assert "password_hash" not in json.dumps(doc) and "$argon2" not in json.dumps(doc)
    assert_fits(ingrid)

    # the administrator: dashboard › accounts › Ingrid › erase, naming Sven as her successor
    admin = browser.new_page()
    sign_in(admin, base, "admin", ADMIN_PASSWORD)
    admin.get_by_role("link", name="Manage accounts").click()
    admin.locator("#users").get_by_role("link", name="ingrid", exact=True).click()
    admin.get_by_role("link", name="Erase this account…").click()
    assert admin.get_by_role("heading", name="Erase the account ingrid?").is_visible()
    assert_accessible(admin)
    admin.get_by_label("Successor").select_option(label=f"sven — {PEOPLE['sven'][0]} ({PEOPLE['sven'][1]})")
    # a slip in the address: refused by its field, the choice of successor kept, nothing erased
    expect_status(admin, 400, "/admin/users/*/erase")
    type_into(admin, "Type the e-mail address of the account to erase", "ingrid.lindqvist@med.example.com")
    admin.get_by_role("button", name="Erase this account").click()
    assert "type the e-mail address" in admin.locator("#err-confirm_email").inner_text().lower()
    assert admin.get_by_label("Successor").input_value() != ""
    assert_accessible(admin)
    screenshot(admin, "admin-erase-account")
    type_into(admin, "Type the e-mail address of the account to erase", PEOPLE["ingrid"][1])
    admin.get_by_role("button", name="Erase this account").click()
    assert "The account was erased" in admin.locator("#erased").inner_text()
    assert admin.get_by_role("heading", name="Account erased-").is_visible()
    assert (
        "erase" in admin.locator("#history").inner_text() and "sven" in admin.locator("#history").inner_text()
    )
    assert_fits(admin)
    admin.get_by_role("link", name="← All accounts").click()
    users = admin.locator("#users").inner_text()
    assert (
        "ingrid" not in users.lower() and "Lindqvist" not in users and "hospital-imaging" in users
    )  # Sven's

    # Ingrid's open session has ended, and she cannot sign in again
    expect_status(ingrid, 401, "/signin")
    ingrid.reload()
    ingrid.wait_for_url(f"{base}/signin*")
    type_into(ingrid, "User name", "ingrid")
    type_into(ingrid, "Password", PASSWORD)
    ingrid.keyboard.press("Enter")
    assert ingrid.get_by_role("alert").inner_text() == "Invalid user name or password."
