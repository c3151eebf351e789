"""From question to reported impact, in real Chromium (issue #15): one pilot, carried by the people who carry
it in life. The applicant types a question, follows matchmaking to a call and writes an application
whose data plan puts the storage cost into the budget;
facility staff judge feasibility, a committee member scores, the coordinator approves and starts the
project; the project page shows its group and proposal id; facility staff offer a slot, the team books it,
declares a sample and registers a visitor, the sample is approved, the visit confirmed and done, and the
visitor answers the feedback link from the outbox; `halric ingest --project` (a real process, real HDF5
files) lands the data in the project; the team publishes it (its DataCite metadata credits the call's award)
and reports; the coordinator closes the project; the team records a solution and its uptake and applies
again with the same partners; the coordinator finds the pilot in every indicator's evidence on the KPI page.
Only the start page and the link in
the mail are typed as addresses; everything else is followed."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import expect
from tests.support.browser import (
    ADMIN_PASSWORD,
    add_people,
    assert_accessible,
    assert_fits,
    expect_status,
    halric,
    screenshot,
    serve_hub,
    sign_in,
    type_into,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

PASSWORD = "lifecycle-password-1"
PEOPLE = {"ann": ("applicant", "lu"), "fac": ("facility", "maxiv"), "com": ("committee", "dtu"),
          "coo": ("coordinator", None)}  # fmt: skip
QUESTION = "What shape does our antibody take in solution, and does it form dimers?"
TITLE = "Antibody dimers in solution"
CALL = "Pilot projects 2027"
FUNDER = "Interreg Öresund-Kattegat-Skagerrak"
AWARD = "NYPS 20304050"
PAPER_DOI = "10.1107/S1600577527000123"
RATE_PER_TB = "120.00"  # EUR the call pays for storing a TB; this call funds data-storage lines


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request, tmp_path_factory, pg_ok):
    """As `make run` serves it: mail kept in the outbox, which the admin reads at /admin/mail."""
    with serve_hub(
        request.param, tmp_path_factory.mktemp("lifecycle"), pg_ok, {"HALRIC_MAIL_DELIVERY": "local"}
    ) as h:
        tokens = add_people(h["env"]["HALRIC_DATABASE_URL"], PEOPLE, PASSWORD)
        today = date.today()
        r = httpx.post(h["base"] + "/api/calls", headers={"Authorization": f"Bearer {tokens['coo']}"}, json={
            "slug": "pilots-2027", "title": CALL, "opens_on": (today - timedelta(days=1)).isoformat(),
            "deadline": (today + timedelta(days=60)).isoformat(), "budget_ceiling": "80000.00",
            "funder_name": FUNDER, "award_number": AWARD, "storage_rate_per_tb": RATE_PER_TB,
            "data_costs_fundable": True}, timeout=60)  # fmt: skip
        assert r.status_code == 201, r.text
        # the first matchmaking answer builds the index (seconds): not part of what the person waits for
        httpx.get(h["base"] + "/match", params={"question": QUESTION}, timeout=600).raise_for_status()
        yield h


def person(browser, base: str, name: str, password: str = PASSWORD):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, base, name, password)
    return page


def status(page) -> str:
    return page.locator("p.notice[role=status]").first.inner_text()


def in_group(page, group: str, label: str):
    return page.get_by_role("group", name=group, exact=True).get_by_label(label, exact=True)


def type_in(page, group: str, label: str, text: str) -> None:
    in_group(page, group, label).click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(text)


def choose(page, group: str, label: str, starts: str) -> None:
    select = in_group(page, group, label)
    option = next(t for t in select.locator("option").all_inner_texts() if t.strip().startswith(starts))
    select.select_option(label=option.strip())


def measured_now(folder) -> None:
    """The files' NeXus start and end times become now: the beamtime of this project is today."""
    import h5py

    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    for path in sorted(folder.glob("*.h5")):
        with h5py.File(path, "r+") as f:
            for name in ("start_time", "end_time"):
                del f["entry"][name]
                f["entry"][name] = now


def open_application(page, who: str) -> None:
    """Dashboard (the header's account link) › Applications › the application."""
    page.get_by_role("link", name=who, exact=True).click()
    page.get_by_role("link", name="Open applications").click()
    page.get_by_role("link", name=TITLE).first.click()


def open_project(page, who: str) -> None:
    """Dashboard › Your projects › the project."""
    page.get_by_role("link", name=who, exact=True).click()
    page.get_by_role("link", name="Open your projects").click()
    page.locator("#my-projects").get_by_role("link", name=TITLE).click()


def test_from_question_to_reported_impact(hub, browser):
    base = hub["base"]
    today = date.today()

    # --- question → matchmaking → application ---------------------------------------------------------------
    ann = person(browser, base, "ann")
    expect_status(ann, 422, "/applications/*/edit")  # autosave of a half-typed team row: shown by the field
    ann.get_by_role("link", name=re.compile("HALRIC")).first.click()
    type_into(ann, "What do you want to find out?", QUESTION)
    ann.get_by_role("button", name="Find techniques").click()
    start = ann.get_by_role("link", name=re.compile("^Start a pilot application with")).first
    assert start.inner_text().endswith("CoSAXS")  # small-angle scattering at MAX IV answers the question
    start.click()
    ann.locator("form", has_text=CALL).get_by_role("button", name="Start an application to this call").click()
    assert "CoSAXS" in ann.locator(".picker-chosen").inner_text()
    assert ann.get_by_label("Research question").input_value() == QUESTION
    type_into(ann, "Title", TITLE, exact=True)
    type_into(ann, "Lay summary (for non-specialists)", "Why some antibody drugs pair up.")
    type_into(ann, "Work plan", "SAXS of the antibody at three concentrations.")
    type_into(ann, "Timeline", "Months 1-2 samples, 3 beamtime, 4-6 analysis.")
    type_into(ann, "Expected impact for industry or clinic", "Safer dosing of antibody drugs.")
    type_into(ann, "Data management (plan the data volume)", "Reduced curves in the HALRIC catalog.")
    type_in(ann, "Team member 1", "Name", "Ann Lund")
    type_in(ann, "Team member 1", "E-mail", "ann@example.org")
    choose(ann, "Team member 1", "Organisation", "Lund University")
    type_in(ann, "Team member 1", "Country (two letters)", "SE")
    choose(ann, "Team member 1", "Sector", "academia")
    type_in(ann, "Team member 2", "Name", "Bo Clinic")
    choose(ann, "Team member 2", "Organisation", "Rigshospitalet")
    type_in(ann, "Team member 2", "Country (two letters)", "DK")
    choose(ann, "Team member 2", "Sector", "hospital")
    choose(ann, "Budget line 1", "Organisation", "Lund University")
    type_in(ann, "Budget line 1", "Person-months", "2")
    type_in(ann, "Budget line 1", "Monthly cost", "7000")
    # plan the data on CoSAXS (its detector's figures typed from the data sheet: the registry has none) and
    # add the storage cost at the call's rate as a requested data-storage line, which this call funds
    ann.get_by_role("button", name="Plan the data…").click()
    assert ann.get_by_label("Instrument", exact=True).input_value() == "maxiv-cosaxs"
    type_into(ann, "Samples", "30")
    type_into(ann, "Frames per sample", "600")
    type_into(ann, "Frame, width×height", "2068x2162")
    type_into(ann, "Bit depth", "32")
    type_into(ann, "Frame rate, Hz", "50")
    ann.get_by_role("button", name="Compute the plan").click()
    tb = Decimal(re.match(r"([\d.]+) TB", ann.locator("#storage-tb").inner_text()).group(1))
    amount = (tb * Decimal(RATE_PER_TB)).quantize(Decimal("0.01"))
    assert tb > 0 and f"{amount:,.2f} EUR" in ann.locator("#storage-cost").inner_text()
    assert "This call funds data-storage costs" in ann.locator("#add-storage").inner_text()
    assert ann.get_by_label("a requested budget line (data storage)").is_checked()
    assert_accessible(ann)
    ann.get_by_role("button", name="Add to the budget").click()
    assert "added as a requested budget line" in status(ann)
    assert in_group(ann, "Budget line 2", "Type").input_value() == "data-storage"
    assert Decimal(in_group(ann, "Budget line 2", "Terabytes to store").input_value()) == tb
    assert "pass" in ann.locator('li[data-rule="employment-only"]').inner_text()
    assert ann.locator("#budget-total").inner_text() == f"{Decimal(14000) + amount:,.2f}"
    assert "ready to submit" in ann.locator("#eligibility").inner_text()
    ann.get_by_role("button", name="Submit application").click()
    assert "Your application was submitted" in status(ann)
    budget = ann.locator("#application-document").inner_text()
    assert "data-storage" in budget and f"{amount:,.2f}" in budget
    app_id = int(re.search(r"/applications/(\d+)", ann.url).group(1))

    # --- feasibility, review, decision, start ---------------------------------------------------------------
    coo = person(browser, base, "coo")
    open_application(coo, "coo")
    coo.get_by_role("button", name="Send to feasibility review").click()
    assert "moved to “Feasibility review”" in status(coo)
    fac = person(browser, base, "fac")
    open_application(fac, "fac")
    fac.get_by_label("Verdict").select_option("feasible")
    fac.get_by_role("button", name="Record feasibility").click()
    assert "Your feasibility verdict was recorded." in status(fac)
    coo.reload()
    coo.get_by_role("button", name="Send to the committee").click()
    expect(coo.locator("p.notice[role=status]").first).to_contain_text("moved to “Committee review”")
    com = person(browser, base, "com")
    open_application(com, "com")
    com.get_by_label("Scientific and technical quality (1–5)").select_option("4")
    com.get_by_label("Impact for industry or clinic (1–5)").select_option("5")
    com.get_by_label("Cross-border collaboration and use of infrastructure (1–5)").select_option("4")
    com.get_by_role("button", name="Save review").click()
    assert "Your review was saved." in status(com)
    coo.reload()
    assert "weighted score" in coo.locator("#reviews").inner_text()
    coo.get_by_label("Outcome").select_option("approved")
    type_into(coo, "Letter to the applicants", "Dear applicants, the committee approves your pilot.")
    coo.get_by_role("button", name="Record decision").click()
    assert "The decision was recorded" in status(coo)
    coo.get_by_label("Start", exact=True).fill(today.isoformat())
    coo.get_by_label("End", exact=True).fill((today + timedelta(days=180)).isoformat())
    coo.get_by_role("button", name="Start project").click()
    assert coo.locator("#state").inner_text() == "Running"

    # --- the project space ----------------------------------------------------------------------------------
    open_application(ann, "ann")
    assert "approves your pilot" in ann.locator("main").inner_text()
    ann.get_by_role("link", name="Open the project page").click()
    assert ann.locator("#proposal-id").inner_text() == f"HALRIC-{app_id}"
    assert ann.locator("#group-name").inner_text() == f"pilot-{app_id}"
    hint = ann.locator("#ingest-hint").inner_text()
    assert f"--project HALRIC-{app_id}" in hint
    assert_accessible(ann)

    # --- the access visit -----------------------------------------------------------------------------------
    day = today + timedelta(days=14)
    open_project(fac, "fac")
    fac.get_by_role("link", name="Access visit").click()
    fac.get_by_label("Start", exact=True).fill(f"{day.isoformat()}T08:00")
    fac.get_by_label("End", exact=True).fill(f"{day.isoformat()}T20:00")
    type_into(fac, "Visitors on site at once", "2")
    type_into(fac, "Notes for the team", "Local contact: Fia Lund, CoSAXS hutch.")
    fac.get_by_role("button", name="Offer this slot").click()
    assert "The slot is offered" in status(fac)

    ann.get_by_role("link", name="Access visit").click()
    ann.get_by_role("button", name=re.compile("^Book the slot")).click()
    assert "The slot is booked" in status(ann)
    form = ann.locator("form", has=ann.get_by_role("button", name="Declare sample"))
    type_into(ann, "Name", "Antibody in buffer", exact=True)
    form.get_by_label("Kind of sample").select_option(label="Protein or peptide")
    assert form.get_by_label("Biosafety level").input_value() == "1"  # BSL-1, the default
    type_into(ann, "Quantity", "2 mg in 200 µl PBS")
    ann.get_by_role("button", name="Declare sample").click()
    assert "The sample was declared" in status(ann)
    ann.get_by_role("button", name="Submit samples for safety review").click()
    assert "submitted for the safety review" in status(ann)
    type_into(ann, "Visitor's name", "Vera Visitor")
    ann.get_by_label("Visitor's organisation").select_option(label="Lund University (SE)")
    type_into(ann, "Visitor's e-mail", "vera@example.org")
    ann.get_by_label("Arrival").fill(day.isoformat())
    ann.get_by_label("Departure").fill(day.isoformat())
    ann.get_by_role("button", name="Register visitor").click()
    assert "The visitor is registered" in status(ann)
    assert_accessible(ann)

    fac.reload()
    fac.get_by_label("Safety decision on Antibody in buffer").select_option("approve")
    fac.get_by_role("button", name="Record safety review").click()
    assert "Your safety review was recorded" in status(fac)
    fac.get_by_role("button", name="Confirm the visit").click()
    assert "The visit is confirmed" in status(fac)
    fac.get_by_role("button", name="Mark the visit as done").click()
    assert "every visitor was asked for feedback" in status(fac)

    admin = person(browser, base, "admin", ADMIN_PASSWORD)
    admin.get_by_role("link", name="admin", exact=True).click()
    admin.get_by_role("link", name="Open the outbox").click()
    admin.get_by_role("link", name=re.compile("how was your visit")).first.click()
    link = re.search(r"https?://\S+/visits/feedback/\S+", admin.locator("#mail-body").inner_text()).group(0)
    visitor = browser.new_page()  # no account
    visitor.goto(link)
    visitor.get_by_label("Your rating of the visit").select_option("5")
    type_into(visitor, "Comments", "The flow cell made the series easy.")
    visitor.get_by_role("button", name="Send feedback").click()
    assert "Your feedback was recorded" in status(visitor)

    # --- `halric ingest --project`: the data land in the project --------------------------------------------
    from halric.ingest.demo import write_demo

    folder = hub["data"] / "beamtime" / "antibody-dimers"
    write_demo(folder, "saxs", 1_600_000, frame_pixels=(487, 195), seed=7)  # NXsas HDF5, as a detector writes
    measured_now(folder)  # the demo's fixed 2026 dates would put the data before the application
    proposal = re.search(r"--project (\S+?)\.?$", hint).group(1)
    out = halric(["ingest", str(folder), "--project", proposal, "--user", "ann", "--contact-email",
                  "ann@example.org", "--workers", "0", "--json"], hub["env"])  # fmt: skip
    (landed,) = json.loads(out.stdout)["datasets"]
    open_project(ann, "ann")
    rows = ann.locator("#datasets tbody tr")
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert landed["pid"] in row and "antibody-dimers" in row
    closure = ann.locator("#closure").inner_text()  # the visit feedback is in; the report and a claim are not
    assert "final report" in closure and "cost claim" in closure and "visit feedback" not in closure

    # --- publish: DataCite metadata credit the call's award -------------------------------------------------
    ann.get_by_role("checkbox", name=re.compile("^antibody-dimers")).check()
    type_into(ann, "Title of the published data", "SAXS of antibody dimers in solution")
    type_into(ann, "Abstract", "Scattering curves of an antibody at three concentrations.")
    ann.get_by_role("button", name="Publish the chosen datasets").click()
    ann.wait_for_url("**/catalog/published/**")
    datacite = json.loads(ann.locator("pre.details").inner_text())
    funding = datacite["fundingReferences"]
    assert {"funderName": FUNDER, "awardNumber": AWARD} in [
        {k: f.get(k) for k in ("funderName", "awardNumber")} for f in funding
    ], funding
    assert [c["name"] for c in datacite["creators"]][:2] == ["Ann Lund", "Bo Clinic"]
    assert datacite["creators"][0]["affiliation"][0]["name"] == "Lund University"
    doi = datacite["doi"]
    assert_accessible(ann)
    screenshot(ann, "lifecycle-published")

    # --- follow-up, final report, closure -------------------------------------------------------------------
    open_application(ann, "ann")
    ann.get_by_label("Cost claim: organisation").select_option(label="Lund University")
    type_into(ann, "Cost claim: amount", "14000.00")
    ann.get_by_role("button", name="Save follow-up").click()
    assert "The follow-up was saved." in status(ann)
    for label in ("Summary", "Results", "Infrastructure experience", "Next steps"):
        type_into(ann, label, f"{label}: done.", exact=True)
    for label in ("Overall", "Support", "Access", "Data handling"):
        ann.get_by_label(label, exact=True).select_option("4")
    type_into(ann, "DOIs of the project's publications (one per line)", f"{PAPER_DOI}\n{doi}")
    assert ann.get_by_role("checkbox", name=re.compile("^antibody-dimers")).is_checked()
    ann.get_by_role("button", name="Submit final report").click()
    assert ann.locator("#state").inner_text() == "Final report submitted"
    report = ann.locator("#project").inner_text()
    assert PAPER_DOI in report and doi in report and landed["pid"] in report

    ann.get_by_role("link", name="Open the project page").click()
    assert "Everything is in" in ann.locator("#closure").inner_text()
    assert "SAXS of antibody dimers in solution" in ann.locator("#published-data").inner_text()
    publications = ann.locator("#publications").inner_text()
    assert f"doi:{PAPER_DOI}" in publications and f"doi:{doi}" in publications
    assert_fits(ann)  # the project page on a phone
    ann.set_viewport_size({"width": 1280, "height": 900})
    screenshot(ann, "lifecycle-project", full_page=True)
    open_application(coo, "coo")
    coo.get_by_role("button", name="Close the project").click()
    assert coo.locator("#state").inner_text() == "Closed"

    # --- what the programme reports: a solution the pilot developed and its uptake, and the same partners in
    # a new application after the closure ----------------------------------------------------------------------
    open_application(ann, "ann")
    type_into(ann, "Solution", "Dimer fraction from three SAXS curves", exact=True)
    ann.get_by_label("Kind of solution").select_option("protocol")
    type_into(
        ann, "What it does", "Estimates an antibody's dimer fraction from SAXS at three concentrations."
    )
    type_into(ann, "How others can take it up", "Published protocol; MAX IV trains new CoSAXS users in it.")
    ann.get_by_role("button", name="Declare the solution").click()
    assert "The solution was declared" in status(ann)
    ann.get_by_label("Organisation that took it up").select_option(label="University of Copenhagen (DK)")
    ann.get_by_label("When", exact=True).fill(today.isoformat())
    type_into(
        ann, "Evidence (the decision, plan or document that shows it)", "In UCPH's biologics SOP, section 4."
    )
    ann.get_by_role("button", name="Record the uptake").click()
    assert "The uptake was recorded" in status(ann)
    assert "University of Copenhagen — taken up on" in ann.locator("#solution-list").inner_text()
    ann.get_by_role("button", name="Copy into a new draft").click()
    ann.get_by_role("button", name="Submit application").click()
    assert "Your application was submitted" in status(ann)

    # --- the KPIs: the pilot is in every indicator's evidence ---------------------------------------------------
    coo.get_by_role("link", name="coo", exact=True).click()
    coo.get_by_role("link", name="Open KPIs").click()
    assert "1 funded" in coo.locator("main").inner_text()
    assert_accessible(coo)
    keys = coo.locator("ul.figures > li").evaluate_all("els => els.map(e => e.id.replace('figure-', ''))")
    assert keys[:5] == ["rco87", "rco84", "rco116", "rcr104", "rcr84"] and len(keys) == 11
    pilot = f"#{app_id} {TITLE}"  # the pilot, not the later application with the same title
    for key in keys:
        coo.locator(f"#figure-{key}").get_by_role("link", name=re.compile("^Evidence for")).click()
        evidence = coo.locator("#evidence").inner_text()
        assert pilot in evidence, key
        if key == "first_data":  # submitted today, measured today
            assert evidence.rstrip().endswith("\t0"), evidence
        if key == "datasets":  # by its pid: the embargoed dataset is the team's to read, not coo's
            assert landed["pid"] in evidence
        if key == "rcr104":
            assert "Dimer fraction from three SAXS curves" in evidence
            assert "University of Copenhagen" in evidence
            assert_accessible(coo)
            screenshot(coo, "lifecycle-kpi-evidence", full_page=True)
        coo.go_back()
    coo.locator("#figure-rcr84").get_by_role("link").click()
    assert "Lund University" in coo.locator("#evidence").inner_text()  # with Rigshospitalet (DK), again
