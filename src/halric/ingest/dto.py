"""SciCat-shaped records (camelCase DTOs) built from journal rows. Pure functions."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from halric.ingest.journal import FileRow
from halric.ingest.nexus import DEFINITION_TECHNIQUES, scientific_metadata
from halric.ingest.writers import INGEST_KEY_FIELD


@dataclass
class DatasetOptions:
    """What the person running the ingest says about the data (everything else comes from the files)."""

    owner_group: str | None = None
    access_groups: list[str] = field(default_factory=list)
    owner: str | None = None
    contact_email: str | None = None
    principal_investigator: str | None = None
    name: str | None = None
    description: str | None = None
    keywords: list[str] = field(default_factory=list)
    instrument_id: str | None = None
    proposal_id: str | None = None
    sample_id: str | None = None
    location: str | None = None


def ingest_key(host: str, source_folder: str) -> str:
    """Identifies 'this folder on this host' in any catalog: the same folder never becomes two datasets."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"halric-ingest://{host}{source_folder}"))


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat(timespec="seconds")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _richness(f: FileRow) -> tuple[int, int, int]:
    entries = f.metadata.get("entries", [])
    return (
        sum(1 for e in entries if e.get("definition")),
        sum(1 for e in entries if e.get("title")),
        len(f.metadata.get("groups", [])),
    )


def dataset_dto(
    key: str,
    source_folder: Path,
    files: list[FileRow],
    opts: DatasetOptions,
    *,
    host: str | None = None,
    default_owner: str = "unknown",
    default_group: str = "unknown",
) -> dict[str, Any]:
    """The SciCat raw DatasetDto for these (done) files. Metadata comes from the first NeXus file."""
    host = host or socket.gethostname()
    nexus = [f for f in files if f.kind == "nexus" and f.metadata.get("entries")]
    # the master file: an application definition and a title, then the most described groups
    best = max(nexus, key=_richness, default=None)
    primary = best.metadata if best else {}
    sci = scientific_metadata(primary) if primary else {}
    formats: dict[str, int] = {}
    for f in files:
        formats[f.kind or "plain"] = formats.get(f.kind or "plain", 0) + 1
    starts = [
        t for f in nexus for e in f.metadata.get("entries", []) if (t := _parse_time(e.get("start_time")))
    ]
    ends = [t for f in nexus for e in f.metadata.get("entries", []) if (t := _parse_time(e.get("end_time")))]
    creation = min(starts) if starts else datetime.fromtimestamp(min(f.mtime_ns for f in files) / 1e9, UTC)
    definitions = sorted(
        {str(e["definition"]) for f in nexus for e in f.metadata.get("entries", []) if e.get("definition")}
    )
    samples = sorted(
        {
            str(fld["value"])
            for f in nexus
            for g in f.metadata.get("groups", [])
            if g["class"] == "NXsample" and (fld := g["fields"].get("name")) and fld.get("value") is not None
        }
    )
    frames = sum(d["shape"][0] for f in files for d in f.metadata.get("stacks", []) if not d.get("external"))
    sci.update(
        {
            "files_by_format": {"value": formats},
            "nexus_files": {"value": len(nexus)},
        }
    )
    if frames:
        sci["frames_total"] = {"value": frames}
    if len(samples) > 1:
        sci["sample_names"] = {"value": samples[:100]}
    if ends:
        sci["end_time"] = {"value": max(ends).isoformat()}
    src = str(source_folder)
    sci[INGEST_KEY_FIELD] = {"value": ingest_key(host, src)}
    title = next(
        (e.get("title") for f in nexus for e in f.metadata.get("entries", []) if e.get("title")), None
    )
    owner = opts.owner or default_owner
    instrument_name = sci.get("instrument_name", {}).get("value")
    techniques = [
        {"pid": DEFINITION_TECHNIQUES[d][0], "name": DEFINITION_TECHNIQUES[d][1]}
        for d in definitions
        if d in DEFINITION_TECHNIQUES
    ]
    dto: dict[str, Any] = {
        "type": "raw",
        "datasetName": opts.name
        or (source_folder.name if key == "." else f"{source_folder.parent.name}/{key}"),
        "description": opts.description or title or f"Files ingested from {src}",
        "owner": owner,
        "ownerGroup": opts.owner_group or default_group,
        "accessGroups": list(opts.access_groups),
        "principalInvestigator": opts.principal_investigator or owner,
        "creationLocation": opts.location or opts.instrument_id or instrument_name or host,
        "sourceFolder": src,
        "sourceFolderHost": host,
        "creationTime": creation.isoformat(),
        "size": sum(f.size for f in files),
        "numberOfFiles": len(files),
        "scientificMetadata": sci,
        "keywords": sorted({*opts.keywords, "halric-ingest", *definitions}),
        "techniques": techniques,
        "isPublished": False,
    }
    if opts.contact_email:
        dto["contactEmail"] = opts.contact_email
    if opts.instrument_id:
        dto["instrumentId"] = opts.instrument_id
    if opts.proposal_id:
        dto["proposalId"] = opts.proposal_id
    if opts.sample_id:
        dto["sampleId"] = opts.sample_id
    return dto


def datablock_dto(pid: str, files: list[FileRow], algorithm: str, prefix: str = "") -> dict[str, Any]:
    """An OrigDatablock: paths relative to the dataset's sourceFolder, the checksum of each file."""
    return {
        "datasetId": pid,
        "size": sum(f.size for f in files),
        "chkAlg": algorithm,
        "dataFileList": [
            {
                "path": f.path[len(prefix) :] if prefix and f.path.startswith(prefix) else f.path,
                "size": f.size,
                "time": _iso(f.mtime_ns),
                "chk": f.checksums[algorithm],
            }
            for f in files
        ],
    }
