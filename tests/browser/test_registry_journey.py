"""A visitor goes from the home page to an instrument page in real Chromium."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_home_to_instrument_page(hub, page):
    base = hub["base"]
    page.goto(base + "/")
    page.get_by_role("link", name="Techniques").first.click()
    page.get_by_role("link", name="small angle x-ray scattering", exact=True).first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "small angle x-ray scattering"
    first = page.locator(".instrument h3 a").first
    name = first.inner_text()
    first.click()
    assert page.get_by_role("heading", level=1).inner_text().startswith(name)
    assert page.get_by_role("heading", name="Where and how").is_visible()


def test_filter_instruments_by_country(hub, page):
    base = hub["base"]
    page.goto(base + "/registry")
    page.get_by_label("Country").select_option("NO")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**country=NO**")
    cards = page.locator("#instruments .instrument")
    assert cards.count() >= 1
    for i in range(cards.count()):
        assert "Norway" in cards.nth(i).inner_text()
