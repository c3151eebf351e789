"""From detector files to a download, in real Chromium: demo data is ingested with `halric ingest`, its
owner finds it by a word, opens the landing page and downloads a file; the bytes and the checksum on the
page match the file on disk, and a visitor without the group never sees the dataset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import blake3
import pytest
from tests.support.browser import expect_status, halric, serve_hub, sign_in, type_into

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def data_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool
) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("datahub")
    beamtime = data / "beamtime"  # inside the data directory: served because the root is placed inside it
    with serve_hub(request.param, data, pg_ok, {"HALRIC_DOWNLOAD_ROOTS": str(beamtime)}) as h:
        env = h["env"]
        halric(["demo-data", str(beamtime / "zebrafish-ferritin"), "--kind", "saxs", "--size", "6MB"], env)
        halric(["user", "add", "dana", "--email", "dana@lab-x.example", "--role", "applicant", "--group", "lab-x",
                "--password-stdin"], env, stdin="dana-password-123\n")  # fmt: skip
        halric(["user", "add", "eve", "--email", "eve@lab-y.example", "--role", "applicant", "--group", "lab-y",
                "--password-stdin"], env, stdin="eve-password-1234\n")  # fmt: skip
        out = halric(["ingest", str(beamtime / "zebrafish-ferritin"), "--owner-group", "lab-x", "--owner", "dana",
                      "--contact-email", "dana@lab-x.example", "--keyword", "ferritin", "--workers", "0", "--json"],
                     env)  # fmt: skip
        summary = json.loads(out.stdout)
        yield {**h, "folder": beamtime / "zebrafish-ferritin", "summary": summary}


def test_owner_finds_the_data_and_downloads_a_file(data_hub, page, tmp_path: Path):
    base = data_hub["base"]
    sign_in(page, base, "dana", "dana-password-123")
    page.get_by_role("link", name="Data Catalog").click()
    type_into(page, "Words", "ferrit")
    page.keyboard.press("Enter")
    results = page.get_by_role("region", name="Results")
    results.get_by_role("link").first.click()
    page.wait_for_url("**/catalog/datasets/**")
    assert page.get_by_role("heading", name="Files").is_visible()

    chosen = sorted(p for p in data_hub["folder"].iterdir() if p.suffix == ".h5")[0]
    link = page.get_by_role("link", name=f"Download {chosen.name}")
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / chosen.name
    info.value.save_as(saved)
    assert saved.read_bytes() == chosen.read_bytes()
    digest = blake3.blake3(chosen.read_bytes()).hexdigest()
    assert digest in page.locator("table", has_text=chosen.name).inner_text()


def test_someone_without_the_group_sees_nothing(data_hub, page):
    base = data_hub["base"]
    pid = data_hub["summary"]["datasets"][0]["pid"]
    expect_status(page, 404, "/catalog/datasets")  # typed addresses of a dataset they may not see
    expect_status(page, 404, "/api/catalog/datasets")
    for who in (None, ("eve", "eve-password-1234")):
        if who:
            sign_in(page, base, *who)
        page.goto(base + "/catalog?q=ferrit")
        assert page.get_by_role("region", name="Results").get_by_role("link").count() == 0
        response = page.goto(base + "/catalog/datasets/" + pid)
        assert response is not None and response.status == 404
        response = page.goto(f"{base}/api/catalog/datasets/{pid}/download.zip")
        assert response is not None and response.status == 404
