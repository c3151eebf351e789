"""Pilot calls in real Chromium, typed as people do (issue #14): an applicant goes from a matchmaking answer
to a submitted application with an industry partner (autosave survives a reload, an error keeps the input)
and a data plan whose storage cost ends up in kind (issue #15);
facility staff judge feasibility; a committee member scores while a conflicted one is excluded and an
assigned reviewer declares a conflict; the coordinator decides; the applicant follows up and reports; the
coordinator reads the KPIs. Only the start page is typed as an address; everything else is followed."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, timedelta

import httpx
import pytest
from playwright.sync_api import expect
from tests.support.browser import (
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
    "ann": ("applicant", "lu"),
    "fac": ("facility", "maxiv"),
    "com": ("committee", "dtu"),
    "lucom": ("committee", "lu"),  # Lund University is in Ann's team: excluded for a conflict of interest
    "rev": ("reviewer", "desy"),
    "coo": ("coordinator", None),
}
QUESTION = "Which crystal form of the drug is in our tablets after humid storage?"
TITLE = "Humidity and tablet polymorphs"


def cli(hub, *args: str, stdin: str | None = None) -> str:
    r = subprocess.run([sys.executable, "-m", "halric.cli.main", *args], env=hub["env"], input=stdin,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def cast(hub):
    for name, (role, org) in PEOPLE.items():
        extra = ["--organisation", org] if org else []
        cli(hub, "user", "add", name, "--email", f"{name}@example.org", "--role", role, *extra, "--password-stdin",
            stdin=PASSWORD + "\n")  # fmt: skip
    token = cli(hub, "token", "create", "coo").strip()
    today = date.today()
    r = httpx.post(hub["base"] + "/api/calls", headers={"Authorization": f"Bearer {token}"}, json={
        "slug": "browser-call", "title": "Browser test call", "opens_on": (today - timedelta(days=1)).isoformat(),
        "deadline": (today + timedelta(days=60)).isoformat(), "budget_ceiling": "80000.00",
        "storage_rate_per_tb": "40.00"})  # fmt: skip
    assert r.status_code == 201, r.text
    # the hub's first matchmaking answer loads the language model (minutes on a busy machine): warm it up
    # here, so that the person's click below is timed like any other
    httpx.get(hub["base"] + "/match", params={"question": QUESTION}, timeout=900).raise_for_status()
    return r.json()


def person(browser, base: str, name: str):
    page = browser.new_page()
    sign_in(page, base, name, PASSWORD)
    return page


def field(page, group: str, label: str):
    """The field ``label`` inside the fieldset ``group`` (e.g. "Team member 2" › "Name")."""
    return page.get_by_role("group", name=group, exact=True).get_by_label(label, exact=True)


def type_in(page, group: str, label: str, text: str) -> None:
    field(page, group, label).click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(text)


def choose(page, group: str, label: str, starts: str) -> None:
    """Pick the option whose visible text starts with ``starts``."""
    select = field(page, group, label)
    option = next(t for t in select.locator("option").all_inner_texts() if t.strip().startswith(starts))
    select.select_option(label=option.strip())


def status(page) -> str:
    return page.locator("p.notice[role=status]").first.inner_text()


def open_application(page, who: str, title: str = TITLE) -> None:
    """Dashboard (the header's account link) › Applications › the application."""
    page.get_by_role("link", name=who, exact=True).click()
    page.get_by_role("link", name="Open applications").click()
    page.get_by_role("link", name=title).first.click()


@pytest.mark.timeout(
    1800
)  # with the hub's set-up and the first matchmaking answer: minutes on a busy machine
def test_applicant_from_a_matchmaking_answer_to_a_submitted_application(hub, cast, browser):
    base = hub["base"]
    ann = person(browser, base, "ann")
    # the autosave of a half-typed team row answers 422 and shows why by the field: part of the journey
    expect_status(ann, 422, "/applications/*/edit")
    ann.get_by_role("link", name=re.compile("HALRIC")).first.click()
    type_into(ann, "What do you want to find out?", QUESTION)
    ann.get_by_role("button", name="Find techniques").click(timeout=120_000)
    start = ann.get_by_role("link", name=re.compile("^Start a pilot application with")).first
    instrument = start.inner_text().removeprefix("Start a pilot application with").strip()
    start.click()
    assert QUESTION in ann.locator("main").inner_text()
    ann.get_by_role("button", name="Start an application to this call").click()
    assert instrument in ann.locator(".picker-chosen").inner_text()
    assert ann.get_by_label("Research question").input_value() == QUESTION
    # the picker, by keyboard: search, Tab to the first match, Space ticks; the offered one is removed
    if instrument != "DanMAX":
        type_into(ann, "Infrastructure / instruments", "DanMAX")
        ann.keyboard.press("Tab")
        ann.keyboard.press("Space")
        ann.get_by_role("button", name=f"Remove {instrument}").first.click()
    chosen = ann.locator(".picker-chosen").inner_text()
    assert "DanMAX" in chosen and (instrument == "DanMAX" or instrument not in chosen)

    type_into(ann, "Title", TITLE, exact=True)
    type_into(ann, "Lay summary (for non-specialists)", "Why tablets change when stored humid.")
    type_into(ann, "Work plan", "In-situ powder diffraction during humidity cycling.")
    type_into(ann, "Timeline", "Months 1-2 preparation, 3-4 beamtime, 5-6 analysis.")
    type_into(ann, "Expected impact for industry or clinic", "Faster stability studies.")
    type_into(ann, "Data management (plan the data volume)", "Processed data in the HALRIC catalog.")
    type_in(ann, "Team member 1", "Name", "Ann Lund")
    choose(ann, "Team member 1", "Organisation", "Lund University")
    type_in(ann, "Team member 1", "Country (two letters)", "SE")
    choose(ann, "Team member 1", "Sector", "academia")
    type_in(ann, "Team member 2", "Name", "Bo Clinic")
    choose(ann, "Team member 2", "Organisation", "Rigshospitalet")
    type_in(ann, "Team member 2", "Country (two letters)", "DK")
    choose(ann, "Team member 2", "Sector", "hospital")
    choose(ann, "Budget line 1", "Organisation", "Lund University")
    type_in(ann, "Budget line 1", "Person-months", "3")
    type_in(ann, "Budget line 1", "Monthly cost", "7000")
    # autosave: the total and the panel follow without pressing Save, and a reload keeps everything
    expect(ann.locator("#budget-total")).to_have_text("21,000.00", timeout=30_000)
    expect(ann.locator("#autosave-status")).to_have_text(re.compile("^Saved at"), timeout=30_000)
    assert "pass" in ann.locator('li[data-rule="employment-only"]').inner_text()
    ann.reload()
    assert ann.get_by_label("Title", exact=True).input_value() == TITLE
    assert field(ann, "Budget line 1", "Monthly cost").input_value().startswith("7000")
    assert "DanMAX" in ann.locator(".picker-chosen").inner_text()
    # an error keeps the input: a negative person-month, sent with the Save button
    type_in(ann, "Budget line 1", "Person-months", "-3")
    type_into(ann, "Work plan", "In-situ powder diffraction during humidity cycling, 10-90 % RH.")
    ann.get_by_role("button", name="Save draft").click()
    assert "Give 0 or more" in ann.get_by_role("group", name="Budget line 1").inner_text()
    assert "Budget line 1" in ann.get_by_role("alert").inner_text()
    assert ann.get_by_label("Work plan").input_value().endswith("10-90 % RH.")
    screenshot(ann, "calls-edit-error")
    type_in(ann, "Budget line 1", "Person-months", "3")
    # an industry partner that is not in the list, named in the form
    type_into(ann, "Name of the organisation", "Acme Tablets AB")
    type_into(ann, "Its country (two letters)", "SE")
    ann.get_by_label("Its sector").select_option(label="Small or medium-sized company (SME)")
    ann.get_by_role("button", name="Add organisation and save").click()
    assert "Acme Tablets AB is now in the organisation lists" in status(ann)
    type_in(ann, "Team member 3", "Name", "Cy Company")
    choose(ann, "Team member 3", "Organisation", "Acme Tablets AB (SE) · not a partner")
    type_in(ann, "Team member 3", "Country (two letters)", "SE")
    choose(ann, "Team member 3", "Sector", "industry")
    ann.get_by_role("button", name="Save draft").click()
    panel = ann.locator("#eligibility").inner_text()
    assert "ready to submit" in panel
    assert "pass" in ann.locator('li[data-rule="industry-clinic"]').inner_text()
    # plan the data of the requested beamline (its detector is not in the registry: typed from the data
    # sheet) and add the storage cost at the call's rate as a requested line; the call funds employment
    # only, so the panel says what to do, and the line moves to the in-kind contributions
    ann.get_by_role("button", name="Plan the data…").click()
    assert ann.get_by_label("Instrument", exact=True).input_value() == "maxiv-danmax"
    type_into(ann, "Samples", "40")
    type_into(ann, "Frames per sample", "3600")
    expect_status(ann, 400, "/applications/*/plan")
    ann.get_by_role("button", name="Compute the plan").click()
    assert "The registry has no" in ann.locator("main").inner_text()
    type_into(ann, "Frame, width×height", "1475x1679")
    type_into(ann, "Bit depth", "32")
    type_into(ann, "Frame rate, Hz", "250")
    ann.get_by_role("button", name="Compute the plan").click()
    assert ann.locator("#storage-tb").inner_text().startswith("1.427 TB")  # 40 × 3600 frames of 9.9 MB
    assert "57.08 EUR" in ann.locator("#storage-cost").inner_text()  # 1.427 TB × 40.00 EUR
    assert "funds employment costs only" in ann.locator("#add-storage").inner_text()
    assert_accessible(ann)
    assert_fits(ann)
    ann.set_viewport_size({"width": 1280, "height": 900})
    screenshot(ann, "calls-plan", full_page=True)
    ann.get_by_label("a requested budget line (data storage)").check()
    ann.get_by_role("button", name="Add to the budget").click()
    assert "added as a requested budget line" in status(ann)
    rule = ann.locator('li[data-rule="employment-only"]').inner_text()
    assert "fail" in rule and "move it to the in-kind contributions" in rule
    assert field(ann, "Budget line 2", "Terabytes to store").input_value() == "1.427"
    ann.get_by_role("button", name="Move line 2 to in-kind").click()
    assert "moved to the in-kind contributions" in status(ann)
    assert "pass" in ann.locator('li[data-rule="employment-only"]').inner_text()
    assert field(ann, "In-kind contribution 1", "Value").input_value() == "57.08"
    assert "ready to submit" in ann.locator("#eligibility").inner_text()
    assert_accessible(ann)
    assert_fits(ann)
    ann.set_viewport_size({"width": 1280, "height": 900})
    screenshot(ann, "calls-edit", full_page=True)
    ann.get_by_role("button", name="Submit application").click()
    assert "Your application was submitted" in status(ann)
    assert ann.locator("#state").inner_text() == "Eligibility check"
    assert "Acme Tablets AB" in ann.locator("#application-document").inner_text()


@pytest.mark.timeout(1200)
def test_review_with_a_conflict_decision_follow_up_and_kpis(hub, cast, browser):
    base = hub["base"]
    coo = person(browser, base, "coo")
    open_application(coo, "coo")
    coo.get_by_role("button", name="Send to feasibility review").click()
    assert "moved to “Feasibility review”" in status(coo)
    # facility staff of MAX IV record feasibility
    fac = person(browser, base, "fac")
    open_application(fac, "fac")
    fac.get_by_label("Verdict").select_option("feasible")
    fac.get_by_role("button", name="Record feasibility").click()
    assert "Your feasibility verdict was recorded." in status(fac)
    # the coordinator sends it to the committee and assigns a reviewer
    coo.reload()
    coo.get_by_role("button", name="Send to the committee").click()
    # the reload kept the last notice (?done=…), so wait for the new one before reading the reviewer list
    expect(coo.locator("p.notice[role=status]").first).to_contain_text("moved to “Committee review”")
    reviewer = coo.get_by_label("Reviewer", exact=True)
    reviewer.select_option(
        label=next(t for t in reviewer.locator("option").all_inner_texts() if t.startswith("rev "))
    )
    coo.get_by_role("button", name="Assign reviewer").click()
    assert "The reviewer was assigned" in status(coo)
    # a committee member from Lund University (in the team) is excluded: not listed, and anonymous in the ranking
    lucom = person(browser, base, "lucom")
    lucom.get_by_role("link", name="Open applications").click()
    assert TITLE not in lucom.locator("main").inner_text()
    lucom.get_by_role("link", name="Browser test call").click()
    assert "excluded: conflict of interest" in lucom.locator("#ranking").inner_text()
    # the assigned reviewer declares a conflict and is excluded from then on
    rev = person(browser, base, "rev")
    open_application(rev, "rev")
    type_into(rev, "Reason for the conflict", "I co-supervise the PhD student in the team.")
    rev.get_by_role("button", name="Declare a conflict of interest").click()
    assert "Your conflict of interest was recorded" in status(rev)
    assert TITLE not in rev.locator("main").inner_text()
    # the committee member from DTU scores; a missing score is pointed out and the comments are kept
    com = person(browser, base, "com")
    open_application(com, "com")
    com.get_by_label("Scientific and technical quality (1–5)").select_option("4")
    type_into(com, "Comments to the committee", "Strong design; the humidity range matters.")
    com.get_by_role("button", name="Save review").click()  # the browser itself stops it: scores are required
    impact = com.get_by_label("Impact for industry or clinic (1–5)")
    assert impact.evaluate("e => e.validity.valueMissing")
    assert com.get_by_label("Comments to the committee").input_value().startswith("Strong design")
    com.get_by_label("Impact for industry or clinic (1–5)").select_option("5")
    com.get_by_label("Cross-border collaboration and use of infrastructure (1–5)").select_option("4")
    screenshot(com, "calls-review")
    com.get_by_role("button", name="Save review").click()
    assert "Your review was saved." in status(com)
    # the coordinator reads the reviews, follows the ranking link, decides and starts the project
    coo.reload()
    reviews = coo.locator("#reviews").inner_text().lower()  # table headers are shown in capitals
    assert "impact for industry or clinic" in reviews and "{" not in reviews and "excluded" in reviews
    coo.get_by_role("link", name="See the ranking of all applications in this call").click()
    assert TITLE in coo.locator("#ranking").inner_text()
    coo.go_back()
    coo.get_by_label("Outcome").select_option("approved")
    type_into(coo, "Letter to the applicants", "Dear applicants, the committee approves your pilot project.")
    coo.get_by_role("button", name="Record decision").click()
    assert "The decision was recorded" in status(coo)
    coo.get_by_label("Start", exact=True).fill((date.today() + timedelta(days=10)).isoformat())
    coo.get_by_label("End", exact=True).fill((date.today() + timedelta(days=190)).isoformat())
    coo.get_by_role("button", name="Start project").click()
    assert coo.locator("#state").inner_text() == "Running"
    # the applicant follows up and reports
    ann = person(browser, base, "ann")
    open_application(ann, "ann")
    assert "approves your pilot project" in ann.locator("main").inner_text()
    type_into(ann, "Add a milestone", "Beamtime at DanMAX")
    ann.get_by_label("Cost claim: organisation").select_option(label="Lund University")
    type_into(ann, "Cost claim: amount", "10500.00")
    ann.get_by_role("button", name="Save follow-up").click()
    assert "The follow-up was saved." in status(ann)
    assert "Lund University 10500.00" in ann.locator("#project").inner_text()
    for label in ("Summary", "Results", "Infrastructure experience", "Next steps"):
        type_into(ann, label, f"{label}: done.", exact=True)
    for label in ("Overall", "Support", "Access", "Data handling"):
        ann.get_by_label(label, exact=True).select_option("4")
    ann.get_by_role("button", name="Submit final report").click()
    assert ann.locator("#state").inner_text() == "Final report submitted"
    # the project space, from the dashboard's "Your projects": both ids and the sentence for ingestors,
    # the facility contact in the group, and what is still missing before the project closes
    ann.get_by_role("link", name="ann", exact=True).click()
    ann.get_by_role("link", name="Open your projects").click()
    ann.get_by_role("link", name=TITLE).click()
    space = ann.locator("#space").inner_text()
    assert (
        re.search(r"HALRIC-\d+", space) and re.search(r"pilot-\d+", space) and "Facility ingestors" in space
    )
    assert "facility contact" in ann.locator("#members").inner_text()
    assert "Everything is in" in ann.locator("#final-report").inner_text()
    assert_accessible(ann)
    assert_fits(ann)
    ann.set_viewport_size({"width": 1280, "height": 900})
    # KPIs with charts, from the coordinator's dashboard
    coo.get_by_role("link", name="coo", exact=True).click()
    coo.get_by_role("link", name="Open KPIs").click()
    coo.wait_for_url("**/kpi")
    assert coo.locator("main svg").count() >= 3
    assert_accessible(coo)
    screenshot(coo, "kpi", full_page=True)
    # a figure leads to its evidence: the pilot counts as a joint pilot action implemented (RCO84), with
    # its final report as the document; the evidence links back to the project
    assert coo.locator("#figure-rco84 .big").inner_text().startswith("1 ")
    coo.get_by_role("link", name=re.compile("^Evidence for RCO84")).click()
    evidence = coo.locator("#evidence").inner_text()
    assert TITLE in evidence and "DK–SE" in evidence and "Final report" in evidence
    assert "final report being submitted" in coo.locator("#rule").inner_text()
    assert_accessible(coo)
    assert_fits(coo)
    coo.set_viewport_size({"width": 1280, "height": 900})
    screenshot(coo, "kpi-evidence", full_page=True)
    coo.get_by_role("link", name=re.compile(TITLE)).first.click()
    assert coo.locator("#state").inner_text() == "Final report submitted"
