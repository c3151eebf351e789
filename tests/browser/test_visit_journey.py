"""The access visit in real Chromium (issue #15), typed as people do: MAX IV's facility staff offer a slot on
DanMAX to a running pilot; the applicant books it, declares a sample (human material without its ethics
approval is pointed out by the field, the input kept) and registers a visitor; the staff approve the sample
and confirm the visit, see it in the facility calendar on a phone, and mark it done; the visitor opens the
feedback link from the hub's outbox (read by the admin at /admin/mail) and answers, once. Only the start
page and the link in the mail are typed as addresses; everything else is followed."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
import pytest
from tests.support.browser import (
    ADMIN_PASSWORD,
    add_people,
    assert_accessible,
    assert_fits,
    expect_status,
    screenshot,
    serve_hub,
    sign_in,
    type_into,
)
from tests.support.calls import complete_draft

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

PASSWORD = "visit-journey-password"
PEOPLE = {"ann": ("applicant", "lu"), "fac": ("facility", "maxiv"), "coo": ("coordinator", None)}
TITLE = "Humidity and tablet polymorphs at DanMAX"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request, tmp_path_factory, pg_ok):
    """As `make run` serves it: mail kept in the outbox, which the admin reads at /admin/mail."""
    with serve_hub(
        request.param, tmp_path_factory.mktemp("visit"), pg_ok, {"HALRIC_MAIL_DELIVERY": "local"}
    ) as h:
        yield h


@pytest.fixture(scope="module")
def project(hub):
    """A call and an application moved to a running project through the API, as the calls tests do."""
    base, tokens = hub["base"], add_people(hub["env"]["HALRIC_DATABASE_URL"], PEOPLE, PASSWORD)

    def call(who: str, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
        r = httpx.request(method, base + path, json=body, headers={"Authorization": f"Bearer {tokens[who]}"},
                          timeout=60)  # fmt: skip
        assert r.status_code == status, r.text
        return r.json()

    today = date.today()
    c = call("coo", "POST", "/api/calls", {
        "slug": "visit-call", "title": "Visit test call", "opens_on": (today - timedelta(days=1)).isoformat(),
        "deadline": (today + timedelta(days=60)).isoformat(), "budget_ceiling": "80000.00"}, 201)  # fmt: skip
    app = call("ann", "POST", f"/api/calls/{c['id']}/applications", {"instruments": ["maxiv-danmax"]}, 201)
    aid = app["id"]
    call("ann", "PUT", f"/api/applications/{aid}", complete_draft(app["version"], title=TITLE))
    call("ann", "POST", f"/api/applications/{aid}/submit")
    call("coo", "POST", f"/api/applications/{aid}/transition", {"target": "feasibility"})
    call(
        "fac",
        "POST",
        f"/api/applications/{aid}/feasibility",
        {"infrastructure_id": "maxiv", "verdict": "feasible"},
    )
    call("coo", "POST", f"/api/applications/{aid}/transition", {"target": "committee"})
    call("coo", "POST", f"/api/applications/{aid}/decision",
         {"outcome": "approved", "letter": "Dear applicants, your pilot is approved."})  # fmt: skip
    call("coo", "POST", f"/api/applications/{aid}/project",
         {"started_on": today.isoformat(), "ends_on": (today + timedelta(days=180)).isoformat()}, 201)  # fmt: skip
    return {**hub, "app_id": aid}


def person(browser, base: str, name: str, password: str = PASSWORD):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, base, name, password)
    return page


def status(page) -> str:
    return page.locator("p.notice[role=status]").first.inner_text()


def open_visit(page, who: str) -> None:
    """Dashboard (the header's account link) › Applications › the application › Access visit."""
    page.get_by_role("link", name=who, exact=True).click()
    page.get_by_role("link", name="Open applications").click()
    page.get_by_role("link", name=TITLE).first.click()
    page.get_by_role("link", name="Access visit").click()


def test_offer_book_declare_register_approve_confirm_and_feedback(project, browser):
    base = project["base"]
    day = date.today() + timedelta(days=12)
    # the facility's staff offer two days on DanMAX
    fac = person(browser, base, "fac")
    open_visit(fac, "fac")
    fac.get_by_label("Start", exact=True).fill(f"{day.isoformat()}T08:00")
    fac.get_by_label("End", exact=True).fill(f"{(day + timedelta(days=1)).isoformat()}T16:00")
    type_into(fac, "Visitors on site at once", "2")
    type_into(fac, "Notes for the team", "Local contact: Fia Lund, beamline office 2.14.")
    fac.get_by_role("button", name="Offer this slot").click()
    assert "The slot is offered" in status(fac)

    # the applicant books it, declares a sample and registers a visitor
    ann = person(browser, base, "ann")
    open_visit(ann, "ann")
    assert "Local contact: Fia Lund" in ann.locator("main").inner_text()
    ann.get_by_role("button", name=re.compile("^Book the slot")).click()
    assert "The slot is booked" in status(ann)
    form = ann.locator("form", has=ann.get_by_role("button", name="Declare sample"))
    type_into(ann, "Name", "Donor serum pool", exact=True)
    form.get_by_label("Kind of sample").select_option(label="Blood, serum or another body fluid")
    form.get_by_label("Biosafety level").select_option(label="BSL-2")
    type_into(ann, "Quantity", "4 ml in sealed capillaries")
    form.get_by_label("The sample contains human material").check()
    expect_status(ann, 400, "/projects/*/visit/action")  # the page comes back with the message: intended
    ann.get_by_role("button", name="Declare sample").click()
    # the ethics approval is missing: said by its field, everything typed is still there
    form = ann.locator("form", has=ann.get_by_role("button", name="Declare sample"))
    assert "ethics approval" in ann.get_by_role("alert").inner_text().lower()
    assert form.get_by_label("Name", exact=True).input_value() == "Donor serum pool"
    assert form.get_by_label("The sample contains human material").is_checked()
    type_into(ann, "Ethics approval reference", "Dnr 2026-01234-01")
    ann.get_by_role("button", name="Declare sample").click()
    assert "The sample was declared" in status(ann)
    ann.get_by_role("button", name="Submit samples for safety review").click()
    assert "submitted for the safety review" in status(ann)
    type_into(ann, "Visitor's name", "Vera Visitor")
    ann.get_by_label("Visitor's organisation").select_option(label="Lund University (SE)")
    type_into(ann, "Visitor's e-mail", "vera@example.org")
    ann.get_by_label("Arrival").fill(day.isoformat())
    ann.get_by_label("Departure").fill((day + timedelta(days=1)).isoformat())
    ann.get_by_role("button", name="Register visitor").click()
    assert "The visitor is registered" in status(ann)
    ready = ann.locator("ul[id$=-ready]").inner_text()
    assert "Samples approved by the safety review: 0 of 1" in ready and "Visitors registered: 1" in ready
    assert_accessible(ann)
    assert_fits(ann)
    ann.set_viewport_size({"width": 1280, "height": 900})
    screenshot(ann, "visit-team", full_page=True)

    # the staff approve the sample and confirm the visit
    fac.reload()
    fac.get_by_label("Safety decision on Donor serum pool").select_option("approve")
    fac.get_by_role("button", name="Record safety review").click()
    assert "Your safety review was recorded" in status(fac)
    fac.get_by_role("button", name="Confirm the visit").click()
    assert "The visit is confirmed" in status(fac)
    assert fac.locator("span[id$=-state]").inner_text() == "Confirmed"
    # … and find it in the facility calendar, on a phone
    fac.get_by_role("link", name=re.compile("^The facility calendar, week")).click()
    entry = fac.locator("#calendar li.slot-confirmed").first
    assert "DanMAX" in entry.inner_text() and TITLE in entry.inner_text()
    assert_fits(fac)
    assert_accessible(fac)
    screenshot(fac, "visit-calendar", full_page=True)
    fac.set_viewport_size({"width": 1280, "height": 900})
    entry.get_by_role("link", name=TITLE).click()
    fac.get_by_role("button", name="Mark the visit as done").click()
    assert "every visitor was asked for feedback" in status(fac)

    # the visitor's feedback link, read from the outbox by the admin
    admin = person(browser, base, "admin", ADMIN_PASSWORD)
    admin.get_by_role("link", name="admin", exact=True).click()
    admin.get_by_role("link", name="Open the outbox").click()
    admin.get_by_role("link", name=re.compile("how was your visit")).first.click()
    body = admin.locator("#mail-body").inner_text()
    assert "Vera Visitor" in body
    link = re.search(r"https?://\S+/visits/feedback/\S+", body).group(0)
    visitor = browser.new_page(viewport={"width": 390, "height": 844})  # no account, on a phone
    visitor.goto(link)
    assert "Vera Visitor" in visitor.locator("main").inner_text()
    visitor.get_by_label("Your rating of the visit").select_option("5")
    type_into(visitor, "Comments", "Fia's help with the humidity cell made the difference.")
    assert_accessible(visitor)
    assert_fits(visitor)
    visitor.get_by_role("button", name="Send feedback").click()
    assert "Your feedback was recorded" in status(visitor)
    # the link works once
    expect_status(visitor, 404, "/visits/feedback/*")
    visitor.goto(link)
    assert "not valid" in visitor.get_by_role("alert").inner_text()
    # the staff see the answer on the visit
    fac.reload()
    assert "answered (5 of 5" in fac.locator("ul[id$=-visitors]").inner_text()
