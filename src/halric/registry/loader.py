"""Read, validate and load the registry's data files (idempotent upsert).

Validation reads every file before anything is written and reports every problem as
``FILE: field.path: message``; a bundle with any problem writes nothing.
A record whose file content did not change since the last load is left alone, so edits made in the
browser survive until the facility changes that record's file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.core import audit
from halric.core.actor import Actor, system_actor
from halric.core.db import Database
from halric.core.errors import InvalidInput
from halric.core.timeutil import utcnow
from halric.registry.models import (
    Infrastructure,
    Instrument,
    InstrumentTechnique,
    Organisation,
    Technique,
    TechniqueParent,
)
from halric.registry.panet import PanetTerm, read_panet
from halric.registry.schemas import (
    ExtensionFile,
    InfrastructureFile,
    Knowledge,
    KnowledgeFile,
    LanguageFile,
    OrganisationFile,
    OrganisationsFile,
)

DATA_DIR = Path(__file__).resolve().parent / "data"


class RegistryDataError(InvalidInput):
    """The data files have problems; ``problems`` lists each as 'file: field: message'."""

    def __init__(self, problems: list[str]) -> None:
        head = f"{len(problems)} problem(s) in the registry files: " + "; ".join(problems[:5])
        if len(problems) > 5:
            head += f"; … and {len(problems) - 5} more"
        super().__init__(head)
        self.problems = problems


@dataclass
class Bundle:
    """Everything read from the data files, validated."""

    organisations: list[OrganisationFile]
    panet: dict[str, PanetTerm]
    extension: ExtensionFile
    knowledge: dict[str, Knowledge]
    infrastructures: list[InfrastructureFile]

    @property
    def instruments(self) -> list[tuple[InfrastructureFile, Any]]:
        return [(infra, inst) for infra in self.infrastructures for inst in infra.instruments]


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    changed_ids: list[str] = field(default_factory=list)

    def count(self, bucket: str, kind: str) -> None:
        d = getattr(self, bucket)
        d[kind] = d.get(kind, 0) + 1

    @property
    def changes(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values()) + sum(self.deleted.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
        }


def _problems(fname: str, exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "(file)"
        out.append(f"{fname}: {loc}: {err.get('msg', 'invalid')}".replace("Value error, ", ""))
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (YAML keeps the last one silently:
    a word added again to a vocabulary would replace the first entry's meaning)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problems.append(f"{path.name}:{where} not valid YAML ({getattr(exc, 'problem', exc)})")
    except OSError as exc:
        problems.append(f"{path.name}: cannot be read ({exc.strerror})")
    return None


def _parse(model: type[BaseModel], path: Path, problems: list[str], label: str | None = None) -> Any:
    raw = _read_yaml(path, problems)
    if raw is None:
        if path.exists() and not problems:
            problems.append(f"{label or path.name}: the file is empty")
        return None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_problems(label or path.name, exc))
        return None


def read_bundle(data_dir: Path = DATA_DIR) -> Bundle:
    """Read and validate every file; raise RegistryDataError listing all problems."""
    problems: list[str] = []
    if not data_dir.is_dir():
        raise RegistryDataError([f"{data_dir}: not a directory"])
    orgs = _parse(OrganisationsFile, data_dir / "organisations.yaml", problems)
    panet_path = data_dir / "panet" / "PaNET.csv"
    panet = read_panet(panet_path) if panet_path.exists() else {}
    if not panet:
        problems.append(f"panet/PaNET.csv: missing or empty in {data_dir}")
    ext = _parse(ExtensionFile, data_dir / "techniques-extension.yaml", problems) or ExtensionFile(
        techniques=[]
    )
    knowledge: dict[str, Knowledge] = {}
    for kpath in sorted((data_dir / "knowledge").glob("*.yaml")):
        kf = _parse(KnowledgeFile, kpath, problems, f"knowledge/{kpath.name}")
        for k in kf.knowledge if kf else []:
            if k.technique in knowledge:
                problems.append(
                    f"knowledge/{kpath.name}: technique {k.technique} already has knowledge elsewhere"
                )
            knowledge[k.technique] = k
    infras: list[InfrastructureFile] = []
    for ipath in sorted((data_dir / "infrastructures").glob("*.yaml")):
        infra = _parse(InfrastructureFile, ipath, problems, f"infrastructures/{ipath.name}")
        if infra is None:
            continue
        if infra.id != ipath.stem:
            problems.append(f"infrastructures/{ipath.name}: id: must equal the file name ({ipath.stem!r})")
        infras.append(infra)

    # cross-file checks
    org_ids = {o.id for o in orgs.organisations} if orgs else set()
    if orgs:
        seen: set[str] = set()
        for i, o in enumerate(orgs.organisations):
            if o.id in seen:
                problems.append(f"organisations.yaml: organisations.{i}.id: duplicate id {o.id!r}")
            seen.add(o.id)
    tech_ids = set(panet) | {t.id for t in ext.techniques}
    for i, t in enumerate(ext.techniques):
        for p in t.parents:
            if p not in tech_ids:
                problems.append(f"techniques-extension.yaml: techniques.{i}.parents: unknown technique {p!r}")
    for tid, k in knowledge.items():
        if tid not in tech_ids:
            problems.append(
                f"knowledge: technique {tid!r} is neither in PaNET nor in the extension vocabulary"
            )
        for c in k.complements:
            if c not in tech_ids:
                problems.append(f"knowledge: {tid}: complements: unknown technique {c!r}")
    inst_seen: dict[str, str] = {}
    for infra in infras:
        fname = f"infrastructures/{infra.id}.yaml"
        if infra.organisation not in org_ids:
            problems.append(f"{fname}: organisation: unknown organisation {infra.organisation!r}")
        for p in infra.partners:
            if p not in org_ids:
                problems.append(f"{fname}: partners: unknown organisation {p!r}")
        for j, inst in enumerate(infra.instruments):
            if inst.id in inst_seen:
                problems.append(
                    f"{fname}: instruments.{j}.id: {inst.id!r} is also used in {inst_seen[inst.id]}"
                )
            inst_seen[inst.id] = fname
            for t in inst.techniques:
                if t not in tech_ids:
                    problems.append(f"{fname}: instruments.{j}.techniques: unknown technique {t!r}")
    for code, lf in read_languages(data_dir, problems).items():
        for tid in lf.techniques:
            if tid not in tech_ids:
                problems.append(f"languages/{code}.yaml: techniques: unknown technique {tid!r}")
    if problems:
        raise RegistryDataError(problems)
    assert orgs is not None
    return Bundle(orgs.organisations, panet, ext, knowledge, infras)


def read_languages(data_dir: Path = DATA_DIR, problems: list[str] | None = None) -> dict[str, LanguageFile]:
    """The matchmaking vocabulary files ``languages/<code>.yaml`` (sv, da, de, nb), validated.

    With ``problems`` given, problems are appended there; otherwise they raise RegistryDataError.
    """
    found: list[str] = [] if problems is None else problems
    out: dict[str, LanguageFile] = {}
    for path in sorted((data_dir / "languages").glob("*.yaml")):
        lf = _parse(LanguageFile, path, found, f"languages/{path.name}")
        if lf is None:
            continue
        if lf.language != path.stem:
            found.append(f"languages/{path.name}: language: must equal the file name ({path.stem!r})")
            continue
        out[lf.language] = lf
    if problems is None and found:
        raise RegistryDataError(found)
    return out


# --- upsert -----------------------------------------------------------------------------------------


def _digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def _org_values(o: OrganisationFile) -> dict[str, Any]:
    return {
        "name": o.name,
        "short_name": o.short_name,
        "country": o.country,
        "city": o.city,
        "kind": o.kind,
        "ror": o.ror,
        "partner": o.partner,
        "funding_eligible": o.funding_eligible,
        "url": str(o.url) if o.url else None,
        "lat": o.location.lat if o.location else None,
        "lon": o.location.lon if o.location else None,
        "source": str(o.source) if o.source else None,
    }


def _technique_rows(b: Bundle) -> dict[str, tuple[dict[str, Any], list[str]]]:
    rows: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for t in b.panet.values():
        rows[t.id] = (
            {"label": t.label, "alt_labels": t.alt_labels, "panet_iri": t.iri, "definition": t.definition,
             "vocabulary": "panet"},
            t.parents,
        )  # fmt: skip
    for e in b.extension.techniques:
        rows[e.id] = (
            {"label": e.label, "alt_labels": e.alt_labels, "panet_iri": None, "definition": e.definition,
             "vocabulary": "halric"},
            e.parents,
        )  # fmt: skip
    for tid, k in b.knowledge.items():
        values, _ = rows[tid]
        extra = [a for a in k.alt_labels if a.lower() not in {x.lower() for x in values["alt_labels"]}]
        values["alt_labels"] = [*values["alt_labels"], *extra]
        values["knowledge"] = k.model_dump(exclude={"technique", "alt_labels"})
    for values, _ in rows.values():
        values.setdefault("knowledge", {})
    return rows


def _infra_values(i: InfrastructureFile) -> dict[str, Any]:
    return {
        "name": i.name,
        "organisation_id": i.organisation,
        "partner_ids": i.partners,
        "kind": i.kind,
        "country": i.country,
        "city": i.city,
        "lat": i.location.lat if i.location else None,
        "lon": i.location.lon if i.location else None,
        "url": str(i.url),
        "contact": i.contact.model_dump(mode="json", exclude_none=True) if i.contact else {},
        "description": i.description,
        "access_routes": i.access_routes,
        "source": str(i.source),
    }


def _inst_values(infra: InfrastructureFile, inst: Any) -> dict[str, Any]:
    return {
        "name": inst.name,
        "infrastructure_id": infra.id,
        "organisation_id": infra.organisation,
        "country": infra.country,
        "city": infra.city,
        "kind": inst.kind,
        "status": inst.status,
        "good_for": inst.good_for,
        "typical_samples": inst.typical_samples,
        "sample_types": inst.sample_types,
        "specs": inst.specs.model_dump(mode="json", exclude_none=True),
        "access_routes": inst.access_routes or infra.access_routes,
        "url": str(inst.url),
        "contact": (inst.contact or infra.contact).model_dump(mode="json", exclude_none=True)
        if (inst.contact or infra.contact)
        else {},
        "source": str(inst.source),
    }


def _upsert(session: Session, model: type, kind: str, rid: str, values: dict[str, Any], report: LoadReport,
            extra_hash: Any = None) -> tuple[Any, bool]:  # fmt: skip
    digest = _digest({"v": values, "x": extra_hash})
    row = session.get(model, rid)
    if row is None:
        row = model(id=rid, origin="file", file_hash=digest, **values)
        session.add(row)
        report.count("created", kind)
        report.changed_ids.append(rid)
        return row, True
    if row.file_hash == digest:
        report.count("unchanged", kind)
        return row, False
    for k, v in values.items():
        setattr(row, k, v)
    row.file_hash = digest
    row.updated_at = utcnow()
    report.count("updated", kind)
    report.changed_ids.append(rid)
    return row, True


def load_bundle(session: Session, bundle: Bundle, actor: Actor, *, prune: bool = True) -> LoadReport:
    report = LoadReport()
    for o in bundle.organisations:
        _upsert(session, Organisation, "organisations", o.id, _org_values(o), report)
    session.flush()

    tech_rows = _technique_rows(bundle)
    changed_parents: list[tuple[Technique, list[str]]] = []
    for tid, (values, parents) in tech_rows.items():
        row, changed = _upsert(session, Technique, "techniques", tid, values, report, extra_hash=parents)
        if changed:
            changed_parents.append((row, parents))
    session.flush()
    for row, _ in changed_parents:
        row.parent_links.clear()  # delete old links before inserting new ones (unique constraint)
    session.flush()
    for row, parents in changed_parents:
        row.parent_links.extend(TechniqueParent(child_id=row.id, parent_id=p) for p in parents)
    session.flush()

    for infra in bundle.infrastructures:
        _upsert(session, Infrastructure, "infrastructures", infra.id, _infra_values(infra), report)
    session.flush()
    relink: list[tuple[Instrument, list[str]]] = []
    for infra, inst in bundle.instruments:
        values = _inst_values(infra, inst)
        row, changed = _upsert(
            session, Instrument, "instruments", inst.id, values, report, extra_hash=inst.techniques
        )
        if changed:
            row.technique_links.clear()
            relink.append((row, inst.techniques))
    session.flush()
    for row, techniques in relink:
        row.technique_links.extend(
            InstrumentTechnique(instrument_id=row.id, technique_id=t, position=n)
            for n, t in enumerate(techniques)
        )
    session.flush()

    if prune:
        live_inst = {inst.id for _, inst in bundle.instruments}
        for row in session.scalars(select(Instrument).where(Instrument.origin == "file")):
            if row.id not in live_inst:
                session.delete(row)
                report.count("deleted", "instruments")
                report.changed_ids.append(row.id)
        session.flush()
        live_infra = {i.id for i in bundle.infrastructures}
        for row in session.scalars(select(Infrastructure).where(Infrastructure.origin == "file")):
            if row.id not in live_infra:
                session.delete(row)
                report.count("deleted", "infrastructures")
                report.changed_ids.append(row.id)
    if report.changes:
        audit.record(
            session, actor, "registry-load", "registry", None,
            {**report.as_dict(), "changed": report.changed_ids[:200]},
        )  # fmt: skip
    return report


def load_into(
    db: Database, data_dir: Path = DATA_DIR, *, console: Any = None, actor: Actor | None = None
) -> LoadReport:
    """Validate the files, then upsert everything in one transaction."""
    bundle = read_bundle(data_dir)
    with db.session() as s:
        report = load_bundle(s, bundle, actor or system_actor("registry-load"))
    if console is not None:
        created = sum(report.created.values())
        updated = sum(report.updated.values())
        deleted = sum(report.deleted.values())
        console.print(
            f"Registry: {len(bundle.organisations)} organisations, {len(bundle.infrastructures)} infrastructures, "
            f"{len(bundle.instruments)} instruments, {len(bundle.panet) + len(bundle.extension.techniques)} techniques "
            f"— {created} created, {updated} updated, {deleted} removed."
        )
    return report
