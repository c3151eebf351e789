"""Loading: validated with errors naming file and field; idempotent; browser edits survive an unchanged file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from halric.core.actor import Actor
from halric.registry import service as reg
from halric.registry.loader import DATA_DIR, RegistryDataError, load_into, read_bundle
from halric.registry.models import Instrument, Organisation, Technique


def snapshot(db):
    with db.session() as s:
        return reg.export(s)


def test_load_is_idempotent(db):
    first = load_into(db)
    assert first.created.get("instruments", 0) >= 120 or first.unchanged.get("instruments", 0) >= 120
    before = snapshot(db)
    second = load_into(db)
    assert second.changes == 0
    assert snapshot(db) == before
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Technique)) == len(before["techniques"])


def test_export_contract(db):
    load_into(db)
    data = snapshot(db)
    assert set(data) == {"organisations", "infrastructures", "instruments", "techniques"}
    inst = data["instruments"][0]
    assert {
        "id",
        "name",
        "infrastructure",
        "organisation",
        "country",
        "city",
        "techniques",
        "status",
        "url",
    } <= set(inst)
    tech = next(t for t in data["techniques"] if t["id"] == "PaNET01188")
    assert tech["label"] == "small angle x-ray scattering" and "SAXS" in tech["alt_labels"]
    assert tech["panet_iri"] == "http://purl.org/pan-science/PaNET/PaNET01188"
    assert "PaNET01124" in tech["parents"]
    ext = next(t for t in data["techniques"] if t["id"] == "halric:cryo-em-spa")
    assert ext["panet_iri"] is None and ext["parents"] == ["halric:cryo-em"]
    org = next(o for o in data["organisations"] if o["id"] == "lu")
    assert {"id", "name", "country", "kind", "ror", "funding_eligible"} <= set(org)


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "data"
    shutil.copytree(DATA_DIR, dst)
    return dst


def test_errors_name_file_and_field_and_nothing_is_written(data_copy, db):
    path = data_copy / "infrastructures" / "maxiv.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["instruments"][0]["status"] = "sort-of-working"
    doc["instruments"][2]["colour"] = "blue"
    path.write_text(yaml.safe_dump(doc))
    other = data_copy / "infrastructures" / "petra3.yaml"
    doc = yaml.safe_load(other.read_text())
    doc["instruments"][1]["techniques"] = ["PaNET99999"]
    other.write_text(yaml.safe_dump(doc))
    (data_copy / "infrastructures" / "broken.yaml").write_text("id: [unclosed\n")
    with pytest.raises(RegistryDataError) as info:
        read_bundle(data_copy)
    problems = info.value.problems
    assert any(p.startswith("infrastructures/maxiv.yaml: instruments.0.status") for p in problems)
    assert "infrastructures/petra3.yaml: instruments.1.techniques: unknown technique 'PaNET99999'" in problems
    assert any("instruments.2.colour" in p and "Extra inputs" in p for p in problems)
    assert any(p.startswith("broken.yaml") and "not valid YAML" in p for p in problems)
    with db.session() as s:
        before = s.scalar(select(func.count()).select_from(Instrument))
    with pytest.raises(RegistryDataError):
        load_into(db, data_copy)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Instrument)) == before


def test_unknown_organisation_is_reported(data_copy):
    path = data_copy / "infrastructures" / "maxiv.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["organisation"] = "nowhere"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(RegistryDataError) as info:
        read_bundle(data_copy)
    assert "infrastructures/maxiv.yaml: organisation: unknown organisation 'nowhere'" in info.value.problems


def test_browser_edit_survives_until_the_file_changes(db, data_copy):
    load_into(db, data_copy)
    coordinator = Actor(user_id=None, username="coord", roles=frozenset({"coordinator"}))
    with db.session() as s:
        reg.update_instrument(s, coordinator, "maxiv-biomax", reg.InstrumentChanges(status="commissioning"))
    load_into(db, data_copy)  # file unchanged: the edit stays
    with db.session() as s:
        assert s.get(Instrument, "maxiv-biomax").status == "commissioning"
    path = data_copy / "infrastructures" / "maxiv.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["instruments"][0]["good_for"] = doc["instruments"][0]["good_for"] + " Updated by the facility."
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    report = load_into(db, data_copy)
    assert report.updated == {"instruments": 1}
    with db.session() as s:
        row = s.get(Instrument, "maxiv-biomax")
        assert row.status == "operational" and row.good_for.endswith("Updated by the facility.")
    load_into(db)  # back to the shipped files for the other tests


def test_removed_instrument_is_pruned(db, data_copy):
    path = data_copy / "infrastructures" / "euxfel.yaml"
    doc = yaml.safe_load(path.read_text())
    gone = doc["instruments"].pop()["id"]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    report = load_into(db, data_copy)
    assert report.deleted == {"instruments": 1}
    with db.session() as s:
        assert s.get(Instrument, gone) is None
    load_into(db)
    with db.session() as s:
        assert s.get(Instrument, gone) is not None


def test_load_is_audited_once_per_run(db):
    from halric.core.audit import list_events

    with db.session() as s:
        s.add(Organisation(id="tmp-org", name="Temp", country="SE", kind="company", origin="web"))
    load_into(db)
    with db.session() as s:
        events, _ = list_events(s, action="registry-load")
        assert events  # at least the first load of this module recorded its changes
