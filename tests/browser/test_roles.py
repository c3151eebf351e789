"""Every role, as a person in real Chromium: start at `/`, follow every in-site link the role is shown
(each distinct path pattern once; sign-out and downloads skipped), under the watch (no 5xx, no 4xx, no
console error, no CSP violation). Then: the pages each role needs were reached by links alone, each of
them passes axe (no serious or critical violation) and fits a 390 px wide phone screen.

Then two journeys typed as a person would, on the same hub: the data steward shares, embargoes and
publishes a dataset; a newcomer signs up and confirms through the development outbox (`make run`'s
HALRIC_MAIL_DELIVERY=local), which the admin reads at /admin/mail.

One hub per database for the module (set up as `make run` does), one Chromium for the session; the main
pages are checked in the tab the crawl already has open (viewport changed in place).
"""

from __future__ import annotations

import re
from collections import deque
from datetime import date, timedelta
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import pytest
from tests.support.browser import (
    ADMIN_PASSWORD,
    assert_accessible,
    assert_fits,
    screenshot,
    serve_hub,
    sign_in,
    type_into,
)

# one crawl of up to MAX_PAGES pages with axe and the phone check on the main pages: more than the
# suite's 300 s per test on a busy machine
pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

PASSWORD = "role-crawl-password"
PEOPLE = {  # user name: (role, organisation, group)
    "ann": ("applicant", "lu", "lab-x"),
    "fac": ("facility", "maxiv", None),
    "com": ("committee", "dtu", None),
    "coo": ("coordinator", None, None),
    "stew": ("steward", None, None),
}
ROLE_USER = {
    "anonymous": None,
    "applicant": "ann",
    "facility": "fac",
    "committee": "com",
    "coordinator": "coo",
    "steward": "stew",
    "admin": "admin",
}

# The pages each role needs, as path patterns (see `pattern`): every one must be reached by following
# links from `/`. The main pages among them (marked True) are also checked with axe and at 390 px.
PUBLIC_PAGES = {
    "/": True,
    "/registry": True,
    "/registry/instruments/*": True,
    "/registry/techniques": True,
    "/registry/techniques/*": False,
    "/registry/map": True,
    "/registry/infrastructures": False,
    "/registry/organisations": False,
    "/match": True,
    "/calls": True,
    "/calls/*": True,
    "/catalog": True,
    "/catalog/datasets/*/*": True,
    "/plan": True,
    "/federation/search": False,
    "/api/docs": False,
}
NEEDS: dict[str, dict[str, bool]] = {
    "anonymous": {**PUBLIC_PAGES, "/signin": True, "/signup": True, "/password/forgot": False},
    "applicant": {**PUBLIC_PAGES, "/dashboard": True, "/account": True, "/applications": True,
                  "/account/expertise": False},
    "facility": {**PUBLIC_PAGES, "/dashboard": True, "/applications": True,
                 "/registry/instruments/*/edit": True, "/facility/calendar": True},
    "committee": {**PUBLIC_PAGES, "/dashboard": True, "/applications": True, "/calls/*/ranking": True},
    "coordinator": {**PUBLIC_PAGES, "/dashboard": True, "/applications": True, "/kpi": True,
                    "/calls/new": True, "/calls/*/ranking": True, "/match/report": False,
                    "/facility/calendar": True},
    "steward": {**PUBLIC_PAGES, "/dashboard": True},
    "admin": {**PUBLIC_PAGES, "/dashboard": True, "/admin/users": True, "/admin/users/*": True,
              "/admin/audit": True, "/admin/mail": True},
}  # fmt: skip
SHOTS = {("coordinator", "/kpi"): "kpi", ("anonymous", "/registry"): "registry-instruments"}
SKIP_PATHS = re.compile(r"^/(signout$|api/(?!docs$))|/download|\.(pdf|csv|xlsx|zip|json|ics)$")
MAX_PAGES = 90  # per role; a crawl that needs more has found an unbounded family of addresses


def pattern(path: str, query: str = "") -> str:
    """``/calls/3`` -> ``/calls/*``; from the third segment on every segment is an id
    (``/registry/instruments/maxiv-biomax/edit`` -> ``/registry/instruments/*/edit`` keeps the known
    last word ``edit``); query values are dropped, the parameter names kept."""
    parts = [p for p in unquote(path).split("/") if p]
    out = []
    for i, seg in enumerate(parts):
        last = i == len(parts) - 1
        if re.search(r"\d", seg) or (i >= 2 and not (last and seg in {"edit", "ranking", "pdf"})):
            out.append("*")
        else:
            out.append(seg)
    keys = sorted({k for k, _ in parse_qsl(query, keep_blank_values=True)})
    return "/" + "/".join(out) + ("?" + "&".join(keys) if keys else "")


def test_pattern():
    assert pattern("/calls/3") == "/calls/*"
    assert pattern("/calls/new") == "/calls/new"
    assert pattern("/registry/instruments/maxiv-biomax/edit") == "/registry/instruments/*/edit"
    assert pattern("/catalog/datasets/20.500.12345/ab-cd") == "/catalog/datasets/*/*"
    assert pattern("/catalog/datasets/20.500.12345%2Fab-cd") == "/catalog/datasets/*/*"
    assert pattern("/catalog", "q=x&page=2&q=y") == "/catalog?page&q"
    assert pattern("/") == "/"


def crawl(page, base: str) -> dict[str, str]:
    """Breadth-first from `/` over the links the page shows; returns {pattern: first address seen}."""
    seen: dict[str, str] = {}
    queue = deque(["/"])
    while queue:
        address = queue.popleft()
        parts = urlsplit(address)
        key = pattern(parts.path, parts.query)
        if key in seen:
            continue
        assert len(seen) < MAX_PAGES, f"more than {MAX_PAGES} distinct pages: {sorted(seen)}"
        seen[key] = address
        response = page.goto(base + address)
        assert response is not None and response.status < 500, address
        hrefs = page.eval_on_selector_all(  # resolved against the page address; SVG links too
            "a:not([download])",
            "els => els.map(e => e.getAttribute('href') || e.getAttribute('xlink:href'))"
            "          .filter(h => h).map(h => new URL(h, document.baseURI).href)",
        )
        for href in hrefs:
            link = urlsplit(href)
            if f"{link.scheme}://{link.netloc}" != base or SKIP_PATHS.search(link.path):
                continue
            target = link.path + ("?" + link.query if link.query else "")
            if pattern(link.path, link.query) not in seen:
                queue.append(target)
    return seen


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request, tmp_path_factory, pg_ok):
    """As `make run` serves it: mail kept in the outbox, DATA_DIR/data served for download."""
    data = tmp_path_factory.mktemp("roles")
    with serve_hub(request.param, data, pg_ok, {"HALRIC_MAIL_DELIVERY": "local"}) as h:
        yield h


def _people(url: str) -> dict[str, str]:
    """The cast, created in process (as `halric user add` would), with an API token each."""
    from halric.accounts import service
    from halric.accounts.schemas import NewUser
    from halric.core.actor import system_actor
    from halric.core.db import Database

    db = Database(url)
    tokens = {}
    try:
        with db.session() as s:
            for name, (role, org, group) in PEOPLE.items():
                user = service.create_user(s, system_actor("test"), NewUser(
                    username=name, email=f"{name}@example.org", password=PASSWORD, roles=[role],
                    groups=[group] if group else [], organisation_id=org))  # fmt: skip
                tokens[name], _ = service.create_api_token(s, system_actor("test"), user, "test")
    finally:
        db.dispose()
    return tokens


def _dataset(base: str, token: str, folder, name: str, keyword: str) -> str:
    """A dataset of one real file under DATA_DIR/data, catalogued through the SciCat API."""
    folder.mkdir(parents=True)
    (folder / "frames.txt").write_bytes(b"frame 1\n" * 64)
    h = {"Authorization": f"Bearer {token}"}
    r = httpx.post(base + "/api/v4/datasets", headers=h, json={
        "type": "raw", "ownerGroup": "lab-x", "owner": "ann", "contactEmail": "ann@example.org",
        "sourceFolder": str(folder), "creationTime": "2026-11-02T10:00:00Z", "datasetName": name,
        "keywords": [keyword]})  # fmt: skip
    assert r.status_code == 201, r.text
    pid = r.json()["pid"]
    r = httpx.post(base + "/api/v4/origdatablocks", headers=h, json={
        "datasetId": pid, "size": 512, "dataFileList": [
            {"path": "frames.txt", "size": 512, "time": "2026-11-02T10:00:00Z"}]})  # fmt: skip
    assert r.status_code == 201, r.text
    return pid


@pytest.fixture(scope="module")
def world(hub):
    base = hub["base"]
    tokens = _people(hub["env"]["HALRIC_DATABASE_URL"])
    today = date.today()
    r = httpx.post(base + "/api/calls", headers={"Authorization": f"Bearer {tokens['coo']}"}, json={
        "slug": "crawl-call", "title": "Crawl call", "opens_on": (today - timedelta(days=1)).isoformat(),
        "deadline": (today + timedelta(days=60)).isoformat(), "budget_ceiling": "80000.00"})  # fmt: skip
    assert r.status_code == 201, r.text
    data = hub["data"] / "data"
    pid = _dataset(base, tokens["ann"], data / "crawl-saxs", "SAXS of lysozyme", "crawl")
    steward_pid = _dataset(base, tokens["ann"], data / "steward-saxs", "SAXS of ferritin", "ferritin")
    # published by its owner, so that anonymous visitors have a dataset page to reach as well
    r = httpx.patch(f"{base}/api/v3/datasets/{pid}", headers={"Authorization": f"Bearer {tokens['ann']}"},
                    json={"isPublished": True})  # fmt: skip
    assert r.status_code == 200, r.text
    return {**hub, "pid": pid, "steward_pid": steward_pid}


@pytest.mark.parametrize("role", list(ROLE_USER))
def test_role_reaches_its_pages_by_links(world, browse, role):
    base = world["base"]
    page = browse.new_page(viewport={"width": 1280, "height": 900})
    user = ROLE_USER[role]
    if user:
        sign_in(page, base, user, ADMIN_PASSWORD if user == "admin" else PASSWORD)
    seen = crawl(page, base)
    missing = sorted(p for p in NEEDS[role] if p not in seen)
    assert not missing, f"{role}: pages reachable only by typing their address: {missing}"
    problems = []
    for key, main in NEEDS[role].items():
        if not main:
            continue
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(base + seen[key])
        for check in (assert_accessible, assert_fits):
            try:
                check(page)
            except AssertionError as exc:  # every main page is checked; all findings are reported
                problems.append(str(exc))
        if key == "/kpi":  # the charts are painted in their colours, not black (CSP-safe SVG)
            fill = page.eval_on_selector(".chart svg [fill='#0b4f8a']", "e => getComputedStyle(e).fill")
            assert fill == "rgb(11, 79, 138)", fill
            assert page.locator(".chart svg[role=img]").count() >= 2
        if (role, key) in SHOTS:
            page.set_viewport_size({"width": 1280, "height": 900})
            screenshot(page, SHOTS[role, key], full_page=True)
    assert not problems, f"{role}:\n" + "\n".join(problems)


def test_steward_shares_embargoes_and_publishes_a_dataset(world, browse):
    base = world["base"]
    steward = browse.new_page()
    sign_in(steward, base, "stew", PASSWORD)
    steward.get_by_role("link", name="Curate datasets").click()
    type_into(steward, "Words", "ferritin")
    steward.keyboard.press("Enter")
    steward.wait_for_url("**q=ferritin**")
    steward.get_by_role("region", name="Results").get_by_role("link").first.click()
    steward.wait_for_url("**/catalog/datasets/**")
    assert "Not published" in steward.locator("#curate").inner_text()

    type_into(steward, "Shared with groups", "lab-y")
    steward.keyboard.press("Enter")  # submits the sharing form
    steward.wait_for_url("**done=share")
    assert steward.get_by_role("status").inner_text() == "Sharing saved."
    assert steward.get_by_label("Shared with groups").input_value() == "lab-y"

    embargo = steward.get_by_label("Embargo until")
    embargo.click()
    steward.keyboard.type("06302031")  # month, day, year: the date field's own segments
    assert embargo.input_value() == "2031-06-30"
    steward.get_by_role("button", name="Save embargo").click()
    steward.wait_for_url("**done=embargo")
    assert steward.get_by_role("status").inner_text() == "Embargo saved."
    assert "embargoed until 2031-06-30" in steward.locator("main").inner_text()
    screenshot(steward, "catalog-dataset-steward", full_page=True)

    steward.get_by_role("button", name="Publish now").focus()
    steward.keyboard.press("Enter")
    steward.wait_for_url("**done=publish")
    assert steward.get_by_role("status").inner_text().startswith("Published")
    assert steward.get_by_role("button", name="Withdraw publication").is_visible()
    assert_accessible(steward)

    # a visitor without an account now finds it
    visitor = browse.new_page()
    visitor.goto(base + "/")
    visitor.get_by_role("link", name="Data Catalog").click()
    type_into(visitor, "Words", "ferritin")
    visitor.keyboard.press("Enter")
    visitor.wait_for_url("**q=ferritin**")
    assert visitor.get_by_role("region", name="Results").get_by_role("link").count() == 1
    screenshot(visitor, "catalog-search", full_page=False)


def test_newcomer_signs_up_and_confirms_through_the_outbox(world, browse):
    base = world["base"]
    newcomer = browse.new_page()
    newcomer.goto(base + "/")
    newcomer.get_by_role("link", name="Create account").first.click()
    type_into(newcomer, "Your name", "Nora Newcomer")
    type_into(newcomer, "E-mail address", "nora@biotech.example")
    type_into(newcomer, "User name", "nora")
    newcomer.get_by_label("Password", exact=False).first.click()
    newcomer.keyboard.type("nora-password-1")
    type_into(newcomer, "Repeat the password", "nora-password-1")
    newcomer.keyboard.press("Enter")
    assert "nora@biotech.example" in newcomer.locator("#signup-sent").inner_text()

    # the admin reads the hub's outbox in the browser
    admin = browse.new_page()
    sign_in(admin, base, "admin", ADMIN_PASSWORD)
    admin.get_by_role("link", name="Open the outbox").click()
    assert "Development delivery" in admin.locator("#mail-mode").inner_text()
    row = admin.locator("#mail tr", has_text="nora@biotech.example")
    row.get_by_role("link").click()
    link = admin.locator("#mail-body a").first
    href = link.get_attribute("href")
    assert href.startswith(base + "/signup/confirm?token="), href
    screenshot(admin, "admin-mail-message")

    # the newcomer follows the link from the message
    newcomer.goto(href)
    newcomer.get_by_role("button", name="Confirm my address").click()
    assert "Your e-mail address is confirmed" in newcomer.get_by_role("status").inner_text()
    type_into(newcomer, "User name", "nora")
    type_into(newcomer, "Password", "nora-password-1")
    newcomer.keyboard.press("Enter")
    newcomer.wait_for_url(base + "/dashboard")
    assert newcomer.get_by_role("heading", name="Welcome, Nora Newcomer").is_visible()
