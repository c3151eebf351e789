"""`halric ingest … --project`: real detector files land in a pilot project (its proposalId and ownerGroup),
only for its team; an unknown project or an outsider is refused with one line and exit code 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.projects.helpers import running_project

from .helpers import run_cli


def test_cli_ingest_into_a_project(loaded, settings, make_user, demo_root: Path, tmp_path: Path):
    from halric.catalog import service as cat
    from halric.core.actor import system_actor

    db = loaded
    applicant = make_user(["applicant"], prefix="appl")
    coordinator = make_user(["coordinator"], prefix="coord")
    facility = make_user(["facility"], prefix="fac", organisation="maxiv")
    outsider = make_user(["applicant"], groups=["mx-team"], prefix="out")
    pilot = running_project(db, applicant, coordinator, facility)
    data = tmp_path / "data"
    shutil.copytree(demo_root / "mx", data)  # NXmx master + HDF5 data files written with h5py
    env = {"HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(tmp_path / "d"),
           "HALRIC_DATA_ROOTS": str(tmp_path)}  # fmt: skip
    base = ["ingest", str(data), "--contact-email", "pi@example.org", "--workers", "0"]

    # an outsider (even with a group of their own) and an unknown project: refused, one line, nothing written
    r = run_cli([*base, "--project", str(pilot.app_id), "--user", outsider], env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "not in the team" in r.stderr and f"pilot project {pilot.app_id}" in r.stderr
    r = run_cli([*base, "--project", "HALRIC-999999", "--user", applicant], env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no pilot project" in r.stderr
    r = run_cli([*base, "--project", str(pilot.app_id), "--user", "nobody-" + applicant], env)
    assert r.returncode == 2 and "no account" in r.stderr
    r = run_cli([*base, "--project", str(pilot.app_id), "--user", applicant, "--owner-group", "mx-team"], env)
    assert r.returncode == 2 and pilot.group in r.stderr
    with db.session() as s:
        assert cat.count_datasets(s, system_actor("t"), {"proposalIds": pilot.proposal_id}) == 0

    # the facility contact ingests by the proposal id, the applicant would by the application id
    r = run_cli([*base, "--project", pilot.proposal_id, "--user", facility, "--json"], env)
    assert r.returncode == 0, r.stderr
    (d,) = json.loads(r.stdout)["datasets"]
    with db.session() as s:
        ds = cat.get_dataset(s, system_actor("t"), d["pid"])
    assert ds["proposalIds"] == [pilot.proposal_id] and ds["ownerGroup"] == pilot.group
    assert ds["createdBy"] == facility and ds["numberOfFiles"] == 4
    assert "NXmx" in ds["keywords"]
    # it is on the project page for the team
    from tests.projects.helpers import actor

    from halric.projects import service as projects

    with db.session() as s:
        rows = projects.overview(s, actor(db, applicant), pilot.app_id)["datasets"]
    assert [x["pid"] for x in rows] == [d["pid"]] and rows[0]["files"] == 4


def test_cli_ingest_refuses_a_folder_outside_the_projects_countries(
    loaded, settings, make_user, demo_root: Path, tmp_path: Path
):
    """Where data may live (catalog/jurisdiction.py): a project allowing only Denmark refuses data on a
    Swedish storage location, with one line and exit code 2, nothing registered; a confidential project's
    ingested dataset is private to its group."""
    from sqlalchemy import update
    from tests.projects.helpers import actor

    from halric.calls.models import Application
    from halric.catalog import service as cat
    from halric.catalog.models import Dataset
    from halric.core.actor import system_actor
    from halric.projects import service as projects

    db = loaded
    applicant = make_user(["applicant"], prefix="appl")
    coordinator = make_user(["coordinator"], prefix="coord")
    facility = make_user(["facility"], prefix="fac", organisation="maxiv")
    pilot = running_project(db, applicant, coordinator, facility)
    with db.session() as s:
        s.execute(update(Application).where(Application.id == pilot.app_id).values(confidential=True))
        projects.set_data_countries(s, actor(db, coordinator), pilot.app_id, True, ["DK"])
    data = tmp_path / "se" / "data"
    shutil.copytree(demo_root / "mx", data)
    env = {"HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(tmp_path / "d"),
           "HALRIC_DATA_ROOTS": str(tmp_path), "HALRIC_STORAGE_COUNTRIES": f"{tmp_path}/se=SE;{tmp_path}/dk=DK"}  # fmt: skip
    base = ["ingest", "--contact-email", "pi@example.org", "--workers", "0", "--project", pilot.proposal_id]
    r = run_cli([*base, str(data), "--user", facility], env)
    # one error line, after the progress lines
    errors = [line for line in r.stderr.splitlines() if not line.startswith("ingest: ")]
    assert r.returncode == 2 and len(errors) == 1, r.stderr
    assert errors[0].startswith("halric: error: sourceFolder:") and "may only live in DK" in errors[0]
    with db.session() as s:
        assert cat.count_datasets(s, system_actor("t"), {"proposalIds": pilot.proposal_id}) == 0
    there = tmp_path / "dk" / "data"
    shutil.copytree(demo_root / "mx", there)
    r = run_cli([*base, str(there), "--user", facility, "--json"], env)
    assert r.returncode == 0, r.stderr
    (d,) = json.loads(r.stdout)["datasets"]
    with db.session() as s:
        ds = s.get(Dataset, d["pid"])
        assert ds.confidential and not ds.is_published and ds.access_groups in ([], [pilot.group])
