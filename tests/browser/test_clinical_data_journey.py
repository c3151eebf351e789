"""A hospital's data, from its export folder to the catalog, in real Chromium (#17): `halric ingest` refuses a
folder holding a Swedish personnummer, a Norwegian fødselsnummer, a German insurance number and DICOM patient
attributes — exit code 2, one line naming where and what kind, never the number — and registers nothing;
`halric pseudonymise` (the key stays with the hospital, outside the hub) makes a copy that passes; the owner
then finds it in the catalog by following links; an anonymous visitor and another group's member find no trace
of it through the pages, the SciCat API, PaNOSC, counts, facets or the export, and no page of the hub shows
an identifier."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pydicom
import pytest
from playwright.sync_api import expect
from tests.support.browser import assert_accessible, expect_status, halric, serve_hub, sign_in, type_into

pytestmark = pytest.mark.browser

PNR = "19811218-9876"  # valid check digit; belongs to nobody known
FNR = "15108695088"
KVNR = "A123456780"
CT = Path(pydicom.__file__).parent / "data" / "test_files" / "CT_small.dcm"
KEYWORD = "hepatoblastoma"


def _export(folder: Path) -> None:
    """A folder as a hospital department might export it for a beamtime."""
    (folder / "scans").mkdir(parents=True)
    with h5py.File(folder / "scans" / "liver.nxs", "w") as f:
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        sample = entry.create_group("sample")
        sample.attrs["donor"] = f"patient {PNR}"
        sample.create_dataset("name", data=f"biopsy of {FNR}")
        entry.create_dataset("data", data=np.arange(400, dtype=np.uint16).reshape(20, 20))
    (folder / "samples.csv").write_text(f"sample,insurance,volume_ml\nL1,{KVNR},2.5\nL2,none,1.0\n")
    shutil.copy(CT, folder / "scans" / "ct.dcm")
    (folder / f"{PNR}_notes.txt").write_text("scan notes, no identifiers inside\n")


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "halric.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def clinic(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool
) -> Iterator[dict]:
    data = tmp_path_factory.mktemp("clinichub")
    incoming = data / "incoming"  # served: the hospital's transfer area under the hub's data root
    hospital = tmp_path_factory.mktemp("hospital")  # the hospital's own machine: the key never leaves it
    with serve_hub(request.param, data, pg_ok, {"HALRIC_DOWNLOAD_ROOTS": str(incoming)}) as h:
        env = h["env"]
        halric(["user", "add", "hana", "--email", "hana@sus.example", "--role", "applicant", "--group",
                "sus-radiology", "--password-stdin"], env, stdin="hana-password-123\n")  # fmt: skip
        halric(["user", "add", "eve", "--email", "eve@lab-y.example", "--role", "applicant", "--group", "lab-y",
                "--password-stdin"], env, stdin="eve-password-1234\n")  # fmt: skip
        raw = hospital / "export-2026-12"
        _export(raw)
        yield {**h, "raw": raw, "incoming": incoming, "hospital": hospital}


def _ingest(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run(["ingest", str(folder), "--owner-group", "sus-radiology", "--owner", "hana", "--contact-email",
                 "hana@sus.example", "--keyword", KEYWORD, "--workers", "0"], env)  # fmt: skip


def test_refused_with_a_clear_report_then_pseudonymised_and_found_by_its_owner_only(clinic, page, browser):
    env, base = clinic["env"], clinic["base"]
    # 1. the raw export is refused: exit 2, one line on stderr, places and kinds named, never a number
    staged = clinic["incoming"] / "liver-ct-raw"
    shutil.copytree(clinic["raw"], staged)
    refused = _ingest(staged, env)
    assert refused.returncode == 2, refused.stderr
    err = [line for line in refused.stderr.splitlines() if line.strip()]
    assert err and "personal identifiers found" in err[-1] and "Nothing was registered" in err[-1], err
    report = refused.stdout + refused.stderr
    for kind in ("personnummer", "dicom"):
        assert kind in report.lower()
    for number in (PNR, FNR, KVNR, PNR.replace("-", "")):
        assert number not in report
    shutil.rmtree(staged)  # the department removes the raw copy from the transfer area

    # 2. pseudonymised on the hospital's side with its own key; the copy passes the guard
    key = clinic["hospital"] / "sus.key"
    clean = clinic["incoming"] / "liver-ct"
    made = _run(["pseudonymise", str(clinic["raw"]), str(clean), "--key-file", str(key), "--new-key"], env)
    assert made.returncode == 0, made.stderr
    assert _run(["guard", str(clean)], env).returncode == 0
    accepted = _ingest(clean, env)
    assert accepted.returncode == 0, accepted.stderr
    assert not any(p.name == key.name for p in Path(env["HALRIC_DATA_DIR"]).rglob("*"))  # no key in the hub

    # 3. the owner finds it by following links and typing, and no page shows an identifier
    sign_in(page, base, "hana", "hana-password-123")
    page.get_by_role("link", name="Data Catalog").click()
    type_into(page, "Words", KEYWORD[:9])
    page.keyboard.press("Enter")
    results = page.get_by_role("region", name="Results")
    expect(results.get_by_role("link")).to_have_count(1)
    results.get_by_role("link").first.click()
    page.wait_for_url("**/catalog/datasets/**")
    pid_path = page.url.split("/catalog/datasets/", 1)[1]
    text = page.content()
    assert "ct.dcm" in text and "samples.csv" in text
    for number in (PNR, FNR, KVNR, PNR.replace("-", "")):
        assert number not in text
    assert_accessible(page)

    # 4. no trace for an anonymous visitor or another group: pages, SciCat, PaNOSC, counts, facets, export
    for who in (None, ("eve", "eve-password-1234")):
        context = browser.new_context()
        other = context.new_page()
        expect_status(other, 404, "/catalog/datasets")  # the dataset's address, typed: not found for them
        if who:
            sign_in(other, base, *who)
        other.goto(f"{base}/catalog?q={KEYWORD[:9]}")
        assert other.get_by_role("region", name="Results").get_by_role("link").count() == 0
        assert KEYWORD not in other.content()  # not even as a facet value
        response = other.goto(f"{base}/catalog/datasets/{pid_path}")
        assert response is not None and response.status == 404
        api = other.request
        for path in (
            f"/api/v3/datasets?filter={json.dumps({'where': {'keywords': KEYWORD}})}",
            "/api/v4/datasets",
            f"/api/v3/datasets/fullfacet?fields={json.dumps({'keywords': [KEYWORD]})}",
            "/panosc-api/Datasets",
            "/api/catalog/export",
            f"/api/catalog/search?q={KEYWORD}",
        ):
            body = api.get(base + path).text()
            assert KEYWORD not in body and "sus-radiology" not in body, (who, path, body[:300])
        counted = api.get(f"{base}/api/v4/datasets/count?where={json.dumps({'ownerGroup': 'sus-radiology'})}")
        assert counted.json() == {"count": 0}
        facets = api.get(
            f"{base}/api/v3/datasets/fullfacet?fields={json.dumps({'keywords': [KEYWORD]})}"
        ).json()
        assert facets[0]["all"] == [{"totalSets": 0}]
        assert api.get(f"{base}/panosc-api/Datasets/count").json().get("count", 0) == 0
        context.close()
