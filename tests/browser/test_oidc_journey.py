"""OpenID Connect sign-in in Chromium against two real providers (panva's oidc-provider, its real login
and consent pages). The first provider is added with `halric idp add`; the administrator adds the second
on the providers page — typed as a person types, a mistake corrected, its discovery checked — and maps its
entitlement to the group that owns a private dataset. A researcher then signs in through the first (which
opens her account), links the second from the account page, and sees that dataset. SQLite and PostgreSQL
(one provider process per database)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect
from tests.support.browser import (
    ADMIN_PASSWORD,
    assert_accessible,
    assert_fits,
    expect_status,
    halric,
    screenshot,
    serve_hub,
    sign_in,
    type_into,
)
from tests.support.net import free_port
from tests.support.oidc import HUB_SECRET, start_providers

pytestmark = pytest.mark.browser

ENTITLEMENT = "urn:geant:lifescience-ri.eu:group:halric-team-x#aai.lifescience-ri.eu"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool
) -> Iterator[dict]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ops = start_providers(tmp_path_factory.mktemp("op"), [base])
    try:
        with serve_hub(request.param, tmp_path_factory.mktemp("hub"), pg_ok, port=port) as h:
            env = h["env"]
            # the first provider from the command line; the second is added on the page by the test
            halric(["idp", "add", "op0", ops.ops[0].issuer, "--client-id", "hub", "--client-secret-stdin",
                    "--scopes", "openid email profile eduperson_entitlement",
                    "--groups-claim", "eduperson_entitlement", "--display-name", "Facility 0"],
                   env, stdin=HUB_SECRET + "\n")  # fmt: skip
            halric(["user", "add", "owner", "--email", "owner@example.org", "--role", "applicant",
                    "--group", "team-x", "--password-stdin"], env, stdin="owner-password-1\n")  # fmt: skip
            token = httpx.post(
                base + "/api/auth/token", json={"username": "owner", "password": "owner-password-1"}
            )
            body = {"datasetName": "Team X lysozyme private", "type": "raw", "ownerGroup": "team-x",
                    "accessGroups": [], "owner": "owner", "contactEmail": "o@example.org",
                    "sourceFolder": "/data/team-x/run1", "creationTime": "2025-01-02T03:04:05Z"}  # fmt: skip
            r = httpx.post(base + "/api/v4/datasets", json=body,
                           headers={"Authorization": f"Bearer {token.json()['token']}"})  # fmt: skip
            assert r.status_code == 201, r.text
            yield {"base": base, "ops": ops, "pid": r.json()["pid"]}
    finally:
        ops.stop()


def _at_provider(page, login: str) -> None:
    """The provider's own login page, then its consent page."""
    page.wait_for_selector('input[name="login"]')
    page.fill('input[name="login"]', login)
    page.fill('input[name="password"]', "any-password")
    page.click('button[type="submit"]')
    page.wait_for_selector('button[type="submit"]')
    page.click('button[type="submit"]')  # consent: "Continue"


def _admin_adds_the_second_provider(admin, base: str, op1) -> None:
    """From the dashboard to the providers page; a preset tried and left; the provider typed in, with an
    http address first (refused by the field, the rest kept); its discovery checked; its group rule added."""
    sign_in(admin, base, "admin", ADMIN_PASSWORD)
    admin.get_by_role("link", name="Open the providers").click()
    admin.wait_for_url(base + "/admin/identity-providers")
    kind = admin.get_by_label("Kind of provider")
    kind.select_option(label="LS Login")  # the preset fills in what LS Login needs
    expect(admin.get_by_label("Issuer")).to_have_value("https://login.aai.lifescience-ri.eu/oidc/")
    expect(admin.get_by_label("Groups claim")).to_have_value("eduperson_entitlement")
    expect(admin.get_by_label("Short name")).to_have_value("lslogin")
    kind.select_option(label="Another provider (type its details)")  # not LS Login after all
    expect(admin.get_by_label("Issuer")).to_have_value("")
    expect(admin.get_by_label("Short name")).to_have_value("")

    type_into(admin, "Short name", "op1")
    type_into(admin, "Shown as", "Facility 1")
    type_into(admin, "Issuer", "http://login.facility1.example/oidc")  # a slip: http, not on this machine
    type_into(admin, "Client id", "hub")
    type_into(admin, "Client secret", HUB_SECRET)
    type_into(admin, "Scopes", "openid email profile eduperson_entitlement")
    type_into(admin, "Groups claim", "eduperson_entitlement")
    expect_status(admin, 400, "/admin/identity-providers")
    admin.get_by_role("button", name="Add provider").click()
    expect(admin.locator("#err-issuer")).to_contain_text("https://")
    expect(admin.get_by_label("Shown as")).to_have_value("Facility 1")
    expect(admin.get_by_label("Client secret")).to_have_value("")  # never sent back: typed again
    type_into(admin, "Issuer", op1.issuer)
    type_into(admin, "Client secret", HUB_SECRET)
    admin.get_by_role("button", name="Add provider").click()
    added = admin.locator("#added")
    expect(added).to_contain_text("Facility 1 was added")
    expect(added).to_contain_text(base + "/signin/oidc/op1/callback")

    admin.get_by_role("button", name="Check Facility 1").click()
    expect(admin.locator("#check")).to_contain_text("Facility 1 answers")

    admin.get_by_label("Provider", exact=True).select_option(label="Facility 1 (op1)")
    type_into(admin, "Claim", "eduperson_entitlement", exact=True)
    type_into(admin, "Value", ENTITLEMENT, exact=True)
    type_into(admin, "Hub group", "team-x")
    admin.get_by_role("button", name="Add rule").click()
    expect(admin.locator("#rule-added")).to_contain_text("applies from each person's next sign-in")
    row = admin.locator("#rules tbody tr", has_text=ENTITLEMENT)
    expect(row).to_contain_text("op1")
    expect(row).to_contain_text("team-x")
    assert_accessible(admin)
    screenshot(admin, "admin-identity-providers", full_page=True)
    assert_fits(admin, 390)
    admin.get_by_role("button", name="Sign out").click()


def test_admin_adds_a_provider_then_two_providers_one_account_sees_the_group_dataset(
    world, page, browser
) -> None:
    base, ops, pid = world["base"], world["ops"], world["pid"]
    op0, op1 = ops.ops
    _admin_adds_the_second_provider(browser.new_page(), base, op1)
    ops.set_user(op0, "maria", email="maria@lu.example", email_verified=True, name="Maria Svensson")
    ops.set_user(
        op1, "msv-ls", email="maria@lu.example", email_verified=True, eduperson_entitlement=[ENTITLEMENT]
    )
    expect_status(page, 404, "/favicon.ico")  # the provider's development pages have no icon
    # ...and ask Google Fonts for a typeface (no internet here): answered with an empty style sheet, so
    # only the provider's page is spared — every hub page stays fully watched
    page.route(
        "https://fonts.googleapis.com/**",
        lambda route: route.fulfill(status=200, content_type="text/css", body=""),
    )

    page.goto(base + "/signin")
    page.get_by_role("link", name="Sign in with Facility 0").click()
    _at_provider(page, "maria")
    page.wait_for_url(base + "/dashboard")
    assert "Maria" in page.content() or "maria" in page.content()

    page.goto(base + "/account")
    page.get_by_role("button", name="Link Facility 1").click()
    _at_provider(page, "msv-ls")
    page.wait_for_url("**/account?linked=*")
    identities = page.locator("#identities").inner_text()
    assert "Facility 0" in identities and "Facility 1" in identities
    assert "Facility 1 identity is now linked" in page.locator("#linked").inner_text()

    response = page.goto(base + "/catalog/datasets/" + quote(pid, safe="/"))
    assert response is not None and response.status == 200
    assert "Team X lysozyme private" in page.content()
