"""One application from draft to approved to final report, across the roles, in real Chromium."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.browser

PASSWORD = "journey-password-1"
PEOPLE = {
    "ann": ("applicant", "lu"),
    "amb": ("ambassador", "lu"),
    "fac": ("facility", "maxiv"),
    "com": ("committee", "dtu"),
    "coo": ("coordinator", None),
}


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
        "deadline": (today + timedelta(days=60)).isoformat(), "budget_ceiling": "80000.00"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def signed_in(browser, base: str, name: str):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(base + "/signin")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/dashboard")
    return page


def act(page, button: str) -> None:
    page.get_by_role("button", name=button).first.click()
    page.wait_for_load_state()


def test_application_across_roles(hub, cast, browser):
    base = hub["base"]
    # applicant drafts and submits
    ann = signed_in(browser, base, "ann")
    ann.goto(base + "/calls")
    ann.get_by_role("link", name="Browser test call").click()
    act(ann, "Start an application")
    ann.get_by_label("Title", exact=True).fill("Humidity and tablet polymorphs")
    ann.get_by_label("Lay summary (for non-specialists)").fill("Why tablets change when stored humid.")
    ann.get_by_label("Research question").fill("Which crystal form appears, how fast?")
    ann.get_by_label("Infrastructure / instruments (hold Ctrl for several)").select_option("maxiv-danmax")
    ann.get_by_label("Work plan").fill("In-situ powder diffraction during humidity cycling.")
    ann.get_by_label("Expected impact for industry or clinic").fill("Faster stability studies.")
    ann.get_by_label("Data management (plan the data volume)").fill("Processed data in the HALRIC catalog.")
    ann.get_by_label("Team member 1 name").fill("Ann Lund")
    ann.locator("select[name=team-0-organisation_id]").select_option("lu")
    ann.get_by_label("Team member 1 country").fill("SE")
    ann.get_by_label("Team member 1 sector").select_option("academia")
    ann.get_by_label("Team member 2 name").fill("Bo Clinic")
    ann.locator("select[name=team-1-organisation_id]").select_option("rigshospitalet")
    ann.get_by_label("Team member 2 country").fill("DK")
    ann.get_by_label("Team member 2 sector").select_option("hospital")
    ann.locator("select[name=budget-0-organisation_id]").select_option("lu")
    ann.get_by_label("Budget line 1 person-months").fill("3")
    ann.get_by_label("Budget line 1 monthly cost").fill("7000")
    act(ann, "Save draft")
    assert ann.locator("#budget-total").inner_text() == "21,000.00"
    assert "ready to submit" in ann.locator("#eligibility").inner_text()
    act(ann, "Submit application")
    assert ann.locator("#state").inner_text() == "Eligibility check"
    app_url = ann.url.split("?")[0]
    # the applicant invites the ambassador, who accepts and comments
    ann.get_by_label("E-mail").fill("amb@example.org")
    ann.get_by_label("As").select_option("ambassador")
    act(ann, "Send invitation")
    engine = create_engine(hub["env"]["HALRIC_DATABASE_URL"])
    with engine.connect() as c:
        body = c.execute(
            text("SELECT body FROM mail_outbox WHERE \"to\" = 'amb@example.org' ORDER BY id DESC")
        ).scalar()
    engine.dispose()
    token = body.split("/calls/invitations/")[1].split()[0]
    amb = signed_in(browser, base, "amb")
    amb.goto(base + f"/calls/invitations/{token}")
    act(amb, "Accept the invitation")
    amb.get_by_label("Add a comment").fill("Add the humidity range to the work plan.")
    act(amb, "Comment")
    assert "humidity range" in amb.locator("#comments").inner_text()
    # coordinator: eligibility → feasibility
    coo = signed_in(browser, base, "coo")
    coo.goto(app_url)
    act(coo, "Feasibility review")
    assert coo.locator("#state").inner_text() == "Feasibility review"
    # facility staff of MAX IV records feasibility
    fac = signed_in(browser, base, "fac")
    fac.goto(app_url)
    fac.get_by_label("Verdict").select_option("feasible")
    act(fac, "Record feasibility")
    # coordinator → committee
    coo.goto(app_url)
    act(coo, "Committee review")
    assert coo.locator("#state").inner_text() == "Committee review"
    # committee member scores
    com = signed_in(browser, base, "com")
    com.goto(app_url)
    com.get_by_label("Scientific and technical quality (1–5)").select_option("4")
    com.get_by_label("Impact for industry or clinic (1–5)").select_option("5")
    com.get_by_label("Cross-border collaboration and use of infrastructure (1–5)").select_option("4")
    act(com, "Save review")
    # coordinator decides
    coo.goto(app_url)
    coo.get_by_label("Outcome").select_option("approved")
    coo.get_by_label("Letter to the applicants").fill(
        "Dear applicants, the committee approves your pilot project."
    )
    act(coo, "Record decision")
    assert coo.locator("#state").inner_text() == "Approved"
    coo.get_by_label("Start", exact=True).fill("2027-01-10")
    coo.get_by_label("End", exact=True).fill("2027-07-09")
    act(coo, "Start project")
    assert coo.locator("#state").inner_text() == "Running"
    # the applicant reports
    ann.goto(app_url)
    for label in ("Summary", "Results", "Infrastructure experience", "Next steps"):
        ann.get_by_label(label, exact=True).fill(f"{label}: done.")
    act(ann, "Submit final report")
    assert ann.locator("#state").inner_text() == "Final report submitted"
    assert "approves your pilot project" in ann.content()
    for p in (ann, amb, coo, fac, com):
        p.context.close()
