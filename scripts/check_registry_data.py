"""Quick stand-alone check of registry YAML files (used while authoring data).

Usage: python scripts/check_registry_data.py [FILE ...]
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parents[1] / "src" / "halric" / "registry" / "data"
PANET = Path(__file__).resolve().parents[2] / "shared" / "data" / "panet" / "PaNET.csv"
if not PANET.exists():
    PANET = DATA / "panet" / "PaNET.csv"

ORG_IDS = {
    "lu",
    "mau",
    "maxiv",
    "ess",
    "sus",
    "region-skane",
    "medicon-village",
    "ku",
    "dtu",
    "au",
    "sdu",
    "rigshospitalet",
    "mva",
    "uhh",
    "embl-hamburg",
    "desy",
    "euxfel",
    "uke",
    "hamburg",
    "lsn",
    "uio",
}
STATUS = {"operational", "commissioning", "construction", "planned", "decommissioned"}
ACCESS = {"peer-reviewed", "rapid-access", "proprietary", "service", "collaboration", "clinical"}
SAMPLE_TYPES = set(
    ["crystal", "powder", "solution", "tissue", "cells", "organism", "small-animal", "human", "solid", "thin-film", "surface", "liquid", "gas", "soft-matter", "nanoparticles", "biological-macromolecule", "fibre", "food", "pharmaceutical", "data"]
)
INFRA_KEYS = {
    "id",
    "name",
    "organisation",
    "partners",
    "kind",
    "country",
    "city",
    "location",
    "url",
    "contact",
    "description",
    "access_routes",
    "source",
    "instruments",
}
INST_KEYS = {
    "id",
    "name",
    "kind",
    "status",
    "techniques",
    "good_for",
    "typical_samples",
    "sample_types",
    "specs",
    "access_routes",
    "url",
    "contact",
    "source",
}
SPEC_KEYS = {
    "energy_range",
    "wavelength_range",
    "resolution",
    "beam_size",
    "flux",
    "field_strength",
    "detector",
    "event_rate_hz",
}
DET_KEYS = {"name", "frame_pixels", "bit_depth", "max_frame_rate_hz"}


def technique_ids() -> set[str]:
    ids = set()
    rows = list(csv.reader(PANET.open(encoding="utf-8")))[4:]
    for r in rows:
        if len(r) > 1 and r[1].startswith("http://purl.org/pan-science/PaNET/"):
            ids.add(r[1].rsplit("/", 1)[-1])
    ext = yaml.safe_load((DATA / "techniques-extension.yaml").read_text())
    ids |= {t["id"] for t in ext["techniques"]}
    return ids


def check_infra(path: Path, techs: set[str], seen: set[str]) -> list[str]:
    errs = []
    d = yaml.safe_load(path.read_text(encoding="utf-8"))
    e = lambda m: errs.append(f"{path.name}: {m}")  # noqa: E731
    for k in set(d) - INFRA_KEYS:
        e(f"unknown key {k!r}")
    if d.get("id") != path.stem:
        e("id must equal file name")
    if d.get("organisation") not in ORG_IDS:
        e(f"organisation {d.get('organisation')!r} unknown")
    for k in ("name", "kind", "country", "city", "url", "description", "source"):
        if not d.get(k):
            e(f"missing {k}")
    for a in d.get("access_routes") or []:
        if a not in ACCESS:
            e(f"access route {a!r} unknown")
    for i, inst in enumerate(d.get("instruments") or []):
        where = f"instruments[{i}] ({inst.get('id')})"
        for k in set(inst) - INST_KEYS:
            e(f"{where}: unknown key {k!r}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", str(inst.get("id", ""))):
            e(f"{where}: bad id")
        if inst.get("id") in seen:
            e(f"{where}: duplicate id")
        seen.add(inst.get("id"))
        for k in ("name", "status", "techniques", "good_for", "source", "url"):
            if not inst.get(k):
                e(f"{where}: missing {k}")
        if inst.get("status") not in STATUS:
            e(f"{where}: status {inst.get('status')!r} unknown")
        for t in inst.get("techniques") or []:
            if t not in techs:
                e(f"{where}: technique {t!r} not in PaNET or extension")
        for s in inst.get("sample_types") or []:
            if s not in SAMPLE_TYPES:
                e(f"{where}: sample type {s!r} unknown")
        for a in inst.get("access_routes") or []:
            if a not in ACCESS:
                e(f"{where}: access route {a!r} unknown")
        specs = inst.get("specs") or {}
        for k in set(specs) - SPEC_KEYS:
            e(f"{where}: unknown spec {k!r}")
        det = specs.get("detector") or {}
        for k in set(det) - DET_KEYS:
            e(f"{where}: unknown detector key {k!r}")
    return errs


def main(argv: list[str]) -> int:
    techs = technique_ids()
    files = [Path(a) for a in argv] or sorted((DATA / "infrastructures").glob("*.yaml"))
    errs: list[str] = []
    seen: set[str] = set()
    n = 0
    for f in files:
        if f.name in ("organisations.yaml",) or "knowledge" in f.name or "extension" in f.name:
            continue
        try:
            errs += check_infra(f, techs, seen)
            n += len(yaml.safe_load(f.read_text()).get("instruments") or [])
        except Exception as exc:  # report and continue
            errs.append(f"{f.name}: {exc}")
    for m in errs:
        print(m)
    print(f"{len(files)} files, {n} instruments, {len(errs)} problems")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
