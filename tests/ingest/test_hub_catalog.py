"""Ingest into the hub's own catalog (SQLite and PostgreSQL), resume without duplicates, verify."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from halric.core.actor import system_actor
from halric.ingest.dto import DatasetOptions
from halric.ingest.journal import Journal
from halric.ingest.service import IngestRequest, ingest, verify
from halric.ingest.writers import HubWriter

from .helpers import run_cli

ACTOR = system_actor("ingest-test", via="system")


def _req(path: Path) -> IngestRequest:
    opts = DatasetOptions(contact_email="pi@example.org", owner_group="mx-team", access_groups=["beamline"])
    return IngestRequest(path=path, dataset=opts, split="subfolders")


def test_ingest_into_the_hub_catalog_resumes_without_duplicates(db, demo_root: Path, tmp_path: Path):
    from halric.catalog import service as cat
    from halric.catalog.filters import Filter

    data = tmp_path / "data"
    shutil.copytree(demo_root, data)
    writer = HubWriter(db, ACTOR)
    s = ingest(_req(data), writer, roots=[tmp_path], journal_dir=tmp_path / "j")
    assert s["problems"] == [] and len(s["datasets"]) == 3
    mx = next(d for d in s["datasets"] if d["key"] == "mx")
    with db.session() as ses:
        ds = cat.get_dataset(ses, ACTOR, mx["pid"])
        blocks = cat.list_origdatablocks(ses, ACTOR, mx["pid"])
    assert ds["sourceFolder"] == str(data / "mx") and ds["ownerGroup"] == "mx-team"
    assert ds["scientificMetadata"]["sample_temperature"]["unit"] == "K"
    assert ds["numberOfFiles"] == 4 and ds["size"] == mx["bytes"]
    assert blocks[0]["chkAlg"] == "blake3" and len(blocks[0]["dataFileList"]) == 4

    # a crash after the catalog stored the dataset but before the journal learnt its pid
    journal = next((tmp_path / "j").glob("*.sqlite"))
    with Journal(journal) as j, j.tx():
        j.db.execute("UPDATE datasets SET state = 'creating', pid = NULL WHERE key = 'mx'")
        j.db.execute("UPDATE blocks SET state = 'creating' WHERE dataset = 'mx'")
    again = ingest(_req(data), writer, roots=[tmp_path], journal_dir=tmp_path / "j")
    assert again["hashed_files"] == 0
    assert next(d for d in again["datasets"] if d["key"] == "mx")["pid"] == mx["pid"]
    with db.session() as ses:
        found = cat.find_datasets(ses, ACTOR, Filter(where={"sourceFolder": str(data / "mx")}))
        assert len(found) == 1 and len(cat.list_origdatablocks(ses, ACTOR, mx["pid"])) == 1

    ok = verify(mx["pid"], writer, roots=[tmp_path], journal_dir=tmp_path / "j")
    assert ok["verified"] and ok["ok"] == 4


def test_cli_ingest_and_verify_into_the_hub(db, settings, demo_root: Path, tmp_path: Path):
    data = tmp_path / "data"
    shutil.copytree(demo_root / "saxs", data)
    env = {"HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(tmp_path / "d"),
           "HALRIC_DATA_ROOTS": str(tmp_path)}  # fmt: skip
    r = run_cli(["ingest", str(data), "--contact-email", "pi@example.org", "--owner-group", "saxs-team",
                 "--workers", "0", "--json"], env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    (d,) = s["datasets"]
    assert d["created"] and s["files"] == len(list(data.iterdir()))
    r = run_cli(["verify", str(data), "--workers", "0", "--json"], env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pid"] == d["pid"]
    r = run_cli(["ingest", str(data), "--contact-email", "pi@example.org", "--owner-group", "saxs-team",
                 "--workers", "0", "--json"], env)  # fmt: skip
    assert json.loads(r.stdout)["datasets"][0]["created"] is False
