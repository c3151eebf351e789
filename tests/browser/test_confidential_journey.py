"""A confidential industrial pilot in real Chromium (#17), typed as people do: a company applicant submits a
confidential application naming a competitor (the missing non-confidential summary is pointed out by its
field first); the coordinator sees why the competitor's reviewer is excluded and assigns another reviewer;
that reviewer sees the summary only, accepts the call's confidentiality terms, reads, scores and downloads
the PDF watermarked with their name and the date; the competitor's reviewer finds nothing; the KPI page
counts the application without its title. The state changes between these scenes (eligibility, feasibility,
committee) are made through the API, as tests/calls covers them; everything a person does here is followed
by links from the dashboard."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
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
PEOPLE = {  # name: (role, organisation, e-mail domain, full name)
    "acme": ("applicant", None, "acme-catalysts.se", "Alma Acme"),
    "fac": ("facility", "maxiv", "example.org", ""),
    "rev": ("reviewer", "desy", "example.org", "Rolf Reviewer"),
    "rivalrev": ("committee", None, "rivalcat.de", "Rita Rival"),  # works for the competitor
    "coo": ("coordinator", None, "example.org", ""),
}
TITLE = "Project Kestrel: regenerating the K7 catalyst"
SUMMARY = "An industrial catalyst stability study using in-situ X-ray powder diffraction."
WORK_PLAN = "Kestrel cycles at DanMAX, 40 regenerations of the K7 catalyst under operating conditions."


def cli(hub, *args: str, stdin: str | None = None) -> str:
    r = subprocess.run([sys.executable, "-m", "halric.cli.main", *args], env=hub["env"], input=stdin,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def cast(hub):
    for name, (role, org, domain, full) in PEOPLE.items():
        extra = (["--organisation", org] if org else []) + (["--name", full] if full else [])
        cli(hub, "user", "add", name, "--email", f"{name}@{domain}", "--role", role, *extra, "--password-stdin",
            stdin=PASSWORD + "\n")  # fmt: skip
    tokens = {
        n: {"Authorization": f"Bearer {cli(hub, 'token', 'create', n).strip()}"} for n in ("coo", "fac")
    }
    today = date.today()
    r = httpx.post(hub["base"] + "/api/calls", headers=tokens["coo"], json={
        "slug": "industry-call", "title": "Industrial pilots 2027", "opens_on": (today - timedelta(days=1)).isoformat(),
        "deadline": (today + timedelta(days=60)).isoformat(), "budget_ceiling": "80000.00"})  # fmt: skip
    assert r.status_code == 201, r.text
    return {"call": r.json(), "tokens": tokens}


def person(browser, base: str, name: str):
    page = browser.new_page()
    sign_in(page, base, name, PASSWORD)
    return page


def field(page, group: str, label: str):
    return page.get_by_role("group", name=group, exact=True).get_by_label(label, exact=True)


def type_in(page, group: str, label: str, text: str) -> None:
    field(page, group, label).click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(text)


def choose(page, group: str, label: str, starts: str) -> None:
    select = field(page, group, label)
    option = next(t for t in select.locator("option").all_inner_texts() if t.strip().startswith(starts))
    select.select_option(label=option.strip())


def status(page) -> str:
    return page.locator("p.notice[role=status]").first.inner_text()


def applications(page, who: str) -> None:
    """Dashboard (the header's account link) › Applications."""
    page.get_by_role("link", name=who, exact=True).click()
    page.get_by_role("link", name="Open applications").click()


def move(hub, cast, aid: int, target: str) -> None:
    r = httpx.post(f"{hub['base']}/api/applications/{aid}/transition", headers=cast["tokens"]["coo"],
                   json={"target": target})  # fmt: skip
    assert r.status_code == 200, r.text


@pytest.mark.timeout(1500)
def test_a_confidential_pilot_from_the_company_to_the_kpis(hub, cast, browser):
    base = hub["base"]
    # --- the company applies, confidentially, naming its competitor
    acme = person(browser, base, "acme")
    # the autosave of a half-typed team row answers 422 (shown by the field), and the submission without
    # the non-confidential summary 400: both are part of the journey
    expect_status(acme, 422, "/applications/*/edit")
    expect_status(acme, 400, "/applications/*/edit")
    acme.get_by_role("link", name="Pilot calls").first.click()
    acme.get_by_role("link", name="Industrial pilots 2027").click()
    acme.get_by_role("button", name="Start an application").click()
    type_into(acme, "Title", TITLE, exact=True)
    type_into(acme, "Lay summary (for non-specialists)", "Kestrel: why our K7 catalyst loses activity.")
    acme.get_by_label("This is a confidential (industrial) application").check()
    type_into(acme, "Research question", "Which Kestrel phase forms while the K7 catalyst regenerates?")
    type_into(acme, "Infrastructure / instruments", "DanMAX")
    acme.keyboard.press("Tab")
    acme.keyboard.press("Space")
    type_into(acme, "Work plan", WORK_PLAN)
    type_into(acme, "Timeline", "Months 1-2 preparation, 3-4 beamtime, 5-6 analysis.")
    type_into(acme, "Expected impact for industry or clinic", "Longer-lived Kestrel catalysts.")
    type_into(acme, "Data management (plan the data volume)", "Kestrel data stay with Acme.")
    type_in(acme, "Team member 1", "Name", "Ann Lund")
    choose(acme, "Team member 1", "Organisation", "Lund University")
    type_in(acme, "Team member 1", "Country (two letters)", "SE")
    choose(acme, "Team member 1", "Sector", "academia")
    type_in(acme, "Team member 2", "Name", "Bo Clinic")
    choose(acme, "Team member 2", "Organisation", "Rigshospitalet")
    type_in(acme, "Team member 2", "Country (two letters)", "DK")
    choose(acme, "Team member 2", "Sector", "hospital")
    type_in(acme, "Excluded organisation 1", "…or its name", "Rival Catalysts GmbH")
    type_in(acme, "Excluded organisation 1", "E-mail domain of its staff", "rivalcat.de")
    choose(acme, "Budget line 1", "Organisation", "Lund University")
    type_in(acme, "Budget line 1", "Person-months", "3")
    type_in(acme, "Budget line 1", "Monthly cost", "7000")
    # the company itself, not yet in the registry, named in the form
    type_into(acme, "Name of the organisation", "Acme Catalysts AB")
    type_into(acme, "Its country (two letters)", "SE")
    acme.get_by_label("Its sector").select_option(label="Company")
    acme.get_by_role("button", name="Add organisation and save").click()
    assert "Acme Catalysts AB is now in the organisation lists" in status(acme)
    type_in(acme, "Team member 3", "Name", "Alma Acme")
    choose(acme, "Team member 3", "Organisation", "Acme Catalysts AB (SE) · not a partner")
    type_in(acme, "Team member 3", "Country (two letters)", "SE")
    choose(acme, "Team member 3", "Sector", "industry")
    # submitting without the non-confidential summary is stopped, by that field, the input kept
    acme.get_by_role("button", name="Submit application").click()
    summary = acme.get_by_label("Non-confidential summary (required for a confidential application)")
    assert summary.get_attribute("aria-invalid") == "true"
    assert "non-confidential summary" in acme.get_by_role("alert").inner_text().lower()
    assert acme.get_by_label("Work plan").input_value() == WORK_PLAN
    assert acme.get_by_label("This is a confidential (industrial) application").is_checked()
    assert field(acme, "Excluded organisation 1", "E-mail domain of its staff").input_value() == "rivalcat.de"
    type_into(acme, "Non-confidential summary (required for a confidential application)", SUMMARY)
    assert_fits(acme)
    acme.set_viewport_size({"width": 1280, "height": 900})
    acme.get_by_role("button", name="Submit application").click()
    assert "Your application was submitted" in status(acme)
    assert (
        "only those who accepted the call's confidentiality terms"
        in acme.locator("#confidential-notice").inner_text()
    )
    assert WORK_PLAN in acme.locator("#application-document").inner_text()
    aid = int(re.search(r"/applications/(\d+)", acme.url).group(1))

    # --- between the scenes: eligibility confirmed, feasibility judged (after accepting the terms), committee
    move(hub, cast, aid, "feasibility")
    terms = httpx.get(f"{base}/api/calls/{cast['call']['id']}/confidentiality").json()
    fh = cast["tokens"]["fac"]
    assert httpx.post(f"{base}/api/calls/{cast['call']['id']}/confidentiality", headers=fh,
                      json={"terms_sha256": terms["terms_sha256"]}).status_code == 200  # fmt: skip
    assert httpx.post(f"{base}/api/applications/{aid}/feasibility", headers=fh,
                      json={"infrastructure_id": "maxiv", "verdict": "feasible"}).status_code == 200  # fmt: skip
    move(hub, cast, aid, "committee")

    # --- the coordinator: the summary only, and who is excluded and why; assigns a reviewer
    coo = person(browser, base, "coo")
    applications(coo, "coo")
    assert TITLE not in coo.locator("main").inner_text()
    coo.get_by_role("link", name=f"Confidential pilot #{aid}").click()
    assert SUMMARY in coo.locator("#application-document").inner_text()
    assert "Kestrel" not in coo.locator("main").inner_text()
    excluded = coo.locator("#exclusions").inner_text()
    assert "Rita Rival" in excluded and "rivalcat.de, the domain of Rival Catalysts GmbH" in excluded
    reviewer = coo.get_by_label("Reviewer", exact=True)
    offered = reviewer.locator("option").all_inner_texts()
    assert not any(o.startswith("Rita Rival") for o in offered)
    reviewer.select_option(label=next(o for o in offered if o.startswith("Rolf Reviewer")))
    coo.get_by_role("button", name="Assign reviewer").click()
    assert "The reviewer was assigned" in status(coo)

    # --- the reviewer: the summary, then the terms, then everything; scores; the watermarked PDF
    rev = person(browser, base, "rev")
    applications(rev, "rev")
    rev.get_by_role("link", name=f"Confidential pilot #{aid}").click()
    assert SUMMARY in rev.locator("#application-document").inner_text()
    assert "Kestrel" not in rev.locator("main").inner_text()
    assert rev.get_by_label("Scientific and technical quality (1–5)").count() == 0  # no scoring before
    assert_accessible(rev)
    rev.get_by_role("link", name="Read and accept the confidentiality terms of the call").click()
    assert "trade secrets" in rev.locator("#terms-text").inner_text()
    assert_fits(rev)
    rev.set_viewport_size({"width": 1280, "height": 900})
    assert_accessible(rev)
    screenshot(rev, "calls-confidentiality-terms", full_page=True)
    rev.get_by_label("I have read these terms and accept them").focus()
    rev.keyboard.press("Space")
    rev.get_by_role("button", name="Accept the terms").click()
    rev.wait_for_url(f"{base}/applications/{aid}")
    assert rev.get_by_role("heading", level=1).inner_text().startswith(TITLE)
    assert WORK_PLAN in rev.locator("#application-document").inner_text()
    assert "Acme Catalysts AB" in rev.locator("#application-document").inner_text()
    rev.get_by_label("Scientific and technical quality (1–5)").select_option("4")
    rev.get_by_label("Impact for industry or clinic (1–5)").select_option("5")
    rev.get_by_label("Cross-border collaboration and use of infrastructure (1–5)").select_option("3")
    type_into(rev, "Comments to the committee", "Clear plan; the Kestrel cycles are realistic.")
    rev.get_by_role("button", name="Save review").click()
    assert "Your review was saved." in status(rev)
    with rev.expect_download() as info:
        rev.get_by_role("link", name="PDF", exact=True).click()
    from pypdf import PdfReader

    pages = [p.extract_text() for p in PdfReader(io.BytesIO(Path(info.value.path()).read_bytes())).pages]
    today = date.today().isoformat()
    assert " ".join(" ".join(pages).split()).count(WORK_PLAN[:40]) == 1
    for text in pages:
        flat = " ".join(text.split())
        assert "downloaded by Rolf Reviewer (rev)" in flat and today in flat

    # --- the competitor's reviewer: not listed, no ranking row, and the address answers "not found"
    rival = person(browser, base, "rivalrev")
    applications(rival, "rivalrev")
    assert f"#{aid}" not in rival.locator("main").inner_text()
    rival.get_by_role("link", name="Industrial pilots 2027").click()
    assert f"#{aid}" not in rival.locator("#ranking").inner_text()
    assert "excluded" not in rival.locator("#ranking").inner_text()
    expect_status(rival, 404, f"/applications/{aid}")
    rival.goto(f"{base}/applications/{aid}")  # typed from a colleague's e-mail, say
    body = rival.locator("main").inner_text()
    assert "Kestrel" not in body and "excluded" not in body.lower() and SUMMARY not in body

    # --- the KPI page counts it, without its title
    coo.get_by_role("link", name="coo", exact=True).click()
    coo.get_by_role("link", name="Open KPIs").click()
    main = coo.locator("main").inner_text()
    assert "1 application(s) submitted" in main and "Kestrel" not in main
    states = coo.locator("#kpi-states").inner_text()
    assert re.search(r"Committee review\s+1", states)
    assert_accessible(coo)

    # --- the data step: the pilot is approved and started; MAX IV registers its first dataset for it
    ch = cast["tokens"]["coo"]
    assert httpx.post(f"{base}/api/calls/{cast['call']['id']}/confidentiality", headers=ch,
                      json={"terms_sha256": terms["terms_sha256"]}).status_code == 200  # fmt: skip
    r = httpx.post(f"{base}/api/applications/{aid}/decision", headers=ch,
                   json={"outcome": "approved", "letter": "Dear Acme, your pilot is approved."})  # fmt: skip
    assert r.status_code == 200, r.text
    start = date.today() + timedelta(days=7)
    r = httpx.post(f"{base}/api/applications/{aid}/project", headers=ch,
                   json={"started_on": start.isoformat(), "ends_on": (start + timedelta(days=180)).isoformat()})  # fmt: skip
    assert r.status_code == 201, r.text
    proposal_id = r.json()["proposal_id"]
    dataset = {"type": "raw", "owner": "DanMAX", "contactEmail": "danmax@example.org", "proposalId": proposal_id,
               "sourceFolder": "/data/kestrel/run1", "creationTime": f"{start.isoformat()}T10:00:00Z",
               "datasetName": "Kestrel K7 regeneration cycle 1", "keywords": ["kestrel"]}  # fmt: skip
    r = httpx.post(f"{base}/api/v3/datasets", headers=fh, json={**dataset, "isPublished": True})
    assert r.status_code == 400 and r.json()["field"] == "isPublished", r.text  # private, whatever it says
    r = httpx.post(f"{base}/api/v3/datasets", headers=fh, json=dataset)
    assert r.status_code in (200, 201), r.text
    pid = r.json()["pid"]
    # the company's applicant finds it on the project page (dashboard › Your projects › the project)
    acme.get_by_role("link", name="acme", exact=True).click()
    acme.get_by_role("link", name="Open your projects").click()
    acme.locator("main").get_by_role("link", name=re.compile("Kestrel")).first.click()
    acme.wait_for_url(f"{base}/projects/{aid}")
    assert "Kestrel K7 regeneration cycle 1" in acme.locator("#datasets").inner_text()
    assert pid in acme.locator("#datasets").inner_text()
    # an anonymous visitor's catalog search finds no trace of it: no hit, no count, no facet
    anon = browser.new_page()
    anon.goto(f"{base}/catalog?q=kestrel")
    assert anon.locator("#result-count strong").first.inner_text() == "0"
    assert "Kestrel K7" not in anon.locator("main").inner_text() and proposal_id not in anon.content()
    anon.goto(f"{base}/catalog")
    assert proposal_id not in anon.content() and "pilot-" not in anon.locator("#facets").inner_text()
    expect_status(anon, 404, f"/catalog/datasets/{pid}")
    anon.goto(f"{base}/catalog/datasets/{pid}")
    # nor does a user of another group, by search, by the dataset's address or by the project's
    cli(hub, "user", "add", "othergrp", "--email", "othergrp@example.org", "--role", "applicant", "--group",
        "grp-other", "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    other = person(browser, base, "othergrp")
    other.goto(f"{base}/catalog?q=kestrel")
    assert other.locator("#result-count strong").first.inner_text() == "0"
    assert "Kestrel K7" not in other.locator("main").inner_text() and proposal_id not in other.content()
    expect_status(other, 404, f"/catalog/datasets/{pid}")
    other.goto(f"{base}/catalog/datasets/{pid}")
    expect_status(other, 404, f"/projects/{aid}")
    other.goto(f"{base}/projects/{aid}")
