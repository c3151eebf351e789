"""A researcher signs in through two real OpenID providers in Chromium (panva's oidc-provider, its real
login and consent pages): the first sign-in opens her account, the second provider is linked from the
account page, its entitlement maps to the group that owns a private dataset, and she sees that dataset.
SQLite and PostgreSQL (one provider process per database)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from tests.browser.conftest import expect_status, halric, serve_hub
from tests.oidc.conftest import HUB_SECRET, free_port, start_providers

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
            for i, op in enumerate(ops.ops):
                halric(["idp", "add", f"op{i}", op.issuer, "--client-id", "hub", "--client-secret-stdin",
                        "--scopes", "openid email profile eduperson_entitlement",
                        "--groups-claim", "eduperson_entitlement", "--display-name", f"Facility {i}"],
                       env, stdin=HUB_SECRET + "\n")  # fmt: skip
            halric(["idp", "map", "eduperson_entitlement", ENTITLEMENT, "team-x", "--provider", "op1"], env)
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


def test_two_providers_one_account_sees_the_group_dataset(world, page) -> None:
    base, ops, pid = world["base"], world["ops"], world["pid"]
    op0, op1 = ops.ops
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
