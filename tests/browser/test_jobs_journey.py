"""An admin in real Chromium on a single-machine hub (no broker: `halric serve` runs the jobs itself):
"Harvest now" queues a job; the site is down, the job fails every attempt and lands in the dead-letter
list on /admin/jobs with its error; the site comes back, the admin presses Retry and the job is done.
Every page is watched (console errors, CSP violations, 4xx/5xx fail the test) and checked with axe."""

from __future__ import annotations

import re
import time

import pytest
from tests.support.browser import (
    ADMIN_PASSWORD,
    assert_accessible,
    assert_fits,
    halric,
    screenshot,
    serve_hub,
)
from tests.support.jobs import StandInSite
from tests.support.net import free_port

pytestmark = pytest.mark.browser

FAST = {
    "HALRIC_JOB_MIN_BACKOFF_SECONDS": "0.3",
    "HALRIC_JOB_MAX_RETRIES": "1",
    "HALRIC_SCHEDULER_TICK_SECONDS": "0.5",
    "HALRIC_HARVEST_INTERVAL_MINUTES": "0",
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def jobs_hub(request, tmp_path_factory, pg_ok):
    with serve_hub(request.param, tmp_path_factory.mktemp("jobshub"), pg_ok, FAST) as h:
        yield h


def _reload_until(page, check, what: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.3)
        page.reload()
    raise AssertionError(f"timed out waiting for {what}")


def test_admin_sees_a_dead_job_and_retries_it(jobs_hub, page):
    base, env = jobs_hub["base"], jobs_hub["env"]
    halric(
        ["sites", "add", "flaky", f"http://127.0.0.1:{free_port()}", "--kind", "panosc", "--mode", "harvest"],
        env,
    )

    page.goto(base + "/signin")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/dashboard")

    page.goto(base + "/federation/sites/flaky")
    page.get_by_role("button", name="Harvest now").click()
    flash = page.get_by_role("status").inner_text()
    job_id = re.search(r"job (\d+)", flash).group(1)

    page.goto(base + "/dashboard")
    page.get_by_role("link", name="Open jobs").click()
    page.wait_for_url(re.compile(r".*/admin/jobs.*"))
    row = page.locator(f"#job-{job_id}")
    _reload_until(page, lambda: "dead" in page.locator(f"#job-{job_id}").inner_text(), "the dead letter")
    assert "2 / 2" in row.inner_text()  # HALRIC_JOB_MAX_RETRIES=1: two attempts
    row.locator("summary").click()
    assert "could not reach the site" in row.inner_text()
    assert_accessible(page)
    assert_fits(page)  # on a phone the table scrolls in its own box
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "admin-jobs-dead-letter", full_page=True)

    site = StandInSite([{"pid": "10.5555/back-1", "title": "Back again", "isPublic": True}])
    try:
        page.goto(base + "/federation/sites/flaky")
        page.get_by_label("Address", exact=True).fill(site.url)
        page.get_by_role("button", name="Save").click()
        page.goto(base + "/admin/jobs?state=dead")
        page.get_by_role("button", name=f"Retry job {job_id}").click()
        assert f"Job {job_id} sent again" in page.get_by_role("status").inner_text()
        page.goto(base + "/admin/jobs?state=done")
        _reload_until(page, lambda: page.locator(f"#job-{job_id}").count() == 1, "the retried job to finish")
        assert '"added": 1' in page.locator(f"#job-{job_id}").inner_text()
    finally:
        site.close()
    page.goto(base + "/admin/audit?action=retry")
    assert f"job #{job_id}" in page.locator("#audit").inner_text()
