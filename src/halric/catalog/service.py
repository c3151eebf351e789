"""Catalog operations on datasets, original data blocks and attachments.

Every function takes a Session and an Actor and returns SciCat-shaped dictionaries (camelCase). Records
the actor may not read answer NotFound, exactly like records that do not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from halric.catalog import collections as coll
from halric.catalog import confidential, dto, embargo, folders, fulltext, jurisdiction, rules
from halric.catalog.embargo import embargo_for
from halric.catalog.filters import Filter, dataset_condition, dataset_order, project
from halric.catalog.models import Attachment, Dataset, DatasetTerm, OrigDatablock, Proposal, Sample
from halric.catalog.query import Col, FieldMap, JsonList, dialect_of, filtered
from halric.core import audit, values
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from halric.core.settings import of as settings_of
from halric.core.timeutil import utcnow
from halric.privacy import guard as personal_data

DEFAULT_CLASSIFICATION = "IN=medium,AV=low,CO=low"
DATASET_INCLUDES = {"origdatablocks", "attachments", "samples", "proposals", "instruments", "datablocks"}

# camelCase DTO field -> model attribute (simple copies; list fields and v3's singular ones separately)
DATASET_FIELDS = {
    "type": "type", "datasetName": "dataset_name", "description": "description", "owner": "owner",
    "ownerEmail": "owner_email", "orcidOfOwner": "orcid_of_owner", "contactEmail": "contact_email",
    "ownerGroup": "owner_group", "accessGroups": "access_groups", "instrumentGroup": "instrument_group",
    "sharedWith": "shared_with", "sourceFolder": "source_folder", "sourceFolderHost": "source_folder_host",
    "creationLocation": "creation_location", "creationTime": "creation_time", "startTime": "start_time",
    "endTime": "end_time", "dataFormat": "data_format", "size": "size", "packedSize": "packed_size",
    "numberOfFiles": "number_of_files", "numberOfFilesArchived": "number_of_files_archived",
    "principalInvestigators": "principal_investigators", "keywords": "keywords",
    "scientificMetadata": "scientific_metadata", "scientificMetadataSchema": "scientific_metadata_schema",
    "scientificMetadataValid": "scientific_metadata_valid", "proposalIds": "proposal_ids",
    "sampleIds": "sample_ids", "instrumentIds": "instrument_ids", "inputDatasets": "input_datasets",
    "usedSoftware": "used_software", "jobParameters": "job_parameters", "jobLogData": "job_log_data",
    "license": "license", "classification": "classification", "comment": "comment",
    "dataQualityMetrics": "data_quality_metrics", "runNumber": "run_number",
    "validationStatus": "validation_status",
}  # fmt: skip
LEGACY_LISTS = {
    "proposalId": "proposal_ids", "sampleId": "sample_ids", "instrumentId": "instrument_ids",
    "principalInvestigator": "principal_investigators",
}  # fmt: skip


# --- output ---------------------------------------------------------------------------------------------


def dataset_dict(ds: Dataset) -> dict[str, Any]:
    """The dataset as SciCat answers it (the current model; `/api/v3` adds its singular fields at the edge,
    ``halric.web.scicat_v3``)."""
    out = dto.compact(
        {
            "pid": ds.pid,
            "type": ds.type,
            "datasetName": ds.dataset_name,
            "description": ds.description,
            "owner": ds.owner,
            "ownerEmail": ds.owner_email,
            "orcidOfOwner": ds.orcid_of_owner,
            "contactEmail": ds.contact_email,
            "ownerGroup": ds.owner_group,
            "accessGroups": list(ds.access_groups or []),
            "instrumentGroup": ds.instrument_group,
            "sharedWith": list(ds.shared_with or []),
            "sourceFolder": ds.source_folder,
            "sourceFolderHost": ds.source_folder_host,
            "creationLocation": ds.creation_location,
            "creationTime": dto.iso(ds.creation_time),
            "startTime": dto.iso(ds.start_time),
            "endTime": dto.iso(ds.end_time),
            "dataFormat": ds.data_format,
            "size": ds.size or 0,
            "packedSize": ds.packed_size or 0,
            "numberOfFiles": ds.number_of_files or 0,
            "numberOfFilesArchived": ds.number_of_files_archived or 0,
            "principalInvestigators": list(ds.principal_investigators or []),
            "keywords": list(ds.keywords or []),
            "techniques": [dict(t) for t in ds.techniques or []],
            "scientificMetadata": values.finite(ds.scientific_metadata or {}),
            "scientificMetadataSchema": ds.scientific_metadata_schema,
            "scientificMetadataValid": ds.scientific_metadata_valid,
            "proposalIds": list(ds.proposal_ids or []),
            "sampleIds": list(ds.sample_ids or []),
            "instrumentIds": list(ds.instrument_ids or []),
            "inputDatasets": list(ds.input_datasets or []),
            "usedSoftware": list(ds.used_software or []),
            "jobParameters": values.finite(ds.job_parameters),
            "jobLogData": ds.job_log_data,
            "license": ds.license,
            "classification": ds.classification,
            "comment": ds.comment,
            "dataQualityMetrics": ds.data_quality_metrics,
            "runNumber": ds.run_number,
            "validationStatus": ds.validation_status,
            "relationships": [dict(r) for r in ds.relationships or []],
            "isPublished": bool(ds.is_published),
            "datasetlifecycle": {
                "archivable": True,
                "retrievable": False,
                "publishable": bool(ds.is_published),
                "isOnCentralDisk": True,
                "archiveStatusMessage": "datasetCreated",
                "retrieveStatusMessage": "",
                "retrieveIntegrityCheck": False,
                **({"publishedOn": dto.iso(ds.published_at)} if ds.published_at else {}),
            },
            "embargoUntil": dto.iso(ds.embargo_until),
            "neverRelease": bool(ds.never_release) or None,
            "version": ds.version,
            "createdBy": ds.created_by,
            "createdAt": dto.iso(ds.created_at),
            "updatedBy": ds.updated_by,
            "updatedAt": dto.iso(ds.updated_at),
        }
    )
    return out


def origdatablock_dict(b: OrigDatablock, published: bool = False) -> dict[str, Any]:
    files = []
    for f in b.data_file_list or []:
        files.append(
            dto.compact({k: f.get(k) for k in ("path", "size", "time", "chk", "uid", "gid", "perm", "type")})
        )
    return dto.compact(
        {
            "_id": b.id,
            "id": b.id,
            "datasetId": b.dataset_pid,
            "size": b.size,
            "chkAlg": b.chk_alg,
            "dataFileList": files,
            "ownerGroup": b.owner_group,
            "accessGroups": list(b.access_groups or []),
            "instrumentGroup": b.instrument_group,
            "isPublished": published,
            "createdBy": b.created_by,
            "createdAt": dto.iso(b.created_at),
            "updatedBy": b.updated_by,
            "updatedAt": dto.iso(b.updated_at),
        }
    )


def attachment_dict(a: Attachment) -> dict[str, Any]:
    rels = []
    for kind, target in (("dataset", a.dataset_pid), ("proposal", a.proposal_id), ("sample", a.sample_id)):
        if target:
            rels.append({"targetId": target, "targetType": kind, "relationType": "is attached to"})
    out = dto.compact(
        {
            "aid": a.id,
            "id": a.id,
            "caption": a.caption,
            "thumbnail": a.thumbnail,
            "ownerGroup": a.owner_group,
            "accessGroups": list(a.access_groups or []),
            "instrumentGroup": a.instrument_group,
            "isPublished": bool(a.is_published),
            "relationships": rels,
            "createdBy": a.created_by,
            "createdAt": dto.iso(a.created_at),
            "updatedBy": a.updated_by,
            "updatedAt": dto.iso(a.updated_at),
        }
    )
    return out


# --- loading with access rules ------------------------------------------------------------------------


def _not_found(pid: str) -> NotFound:
    return NotFound(f"No dataset with pid {pid!r} (or you may not see it).")


def load_dataset(s: Session, actor: Actor, pid: str) -> Dataset:
    """The dataset if the actor may read it; NotFound otherwise (existence is not revealed)."""
    ds = s.get(Dataset, pid)
    if ds is None or not rules.can_read_dataset(actor, ds):
        raise _not_found(pid)
    return ds


def load_dataset_for_change(s: Session, actor: Actor, pid: str) -> Dataset:
    rules.ensure_signed_in(actor, "change datasets")
    ds = load_dataset(s, actor, pid)
    if not rules.can_write(actor, ds.owner_group):
        raise PermissionDenied(
            f"Only members of {ds.owner_group!r} (or data stewards) change dataset {pid!r}."
        )
    return ds


# --- datasets -----------------------------------------------------------------------------------------


def _search_text(ds: Dataset) -> str:
    """The lower-cased words a full-text search looks in; not the pid (``fulltext.pid_condition``)."""
    parts: list[str] = [
        ds.dataset_name or "", ds.description or "", ds.owner or "", ds.creation_location or "",
        ds.owner_group, ds.data_format or "", ds.type,
    ]  # fmt: skip
    parts += [str(x) for x in (ds.keywords or []) + (ds.principal_investigators or [])]
    parts += [str(x) for x in (ds.proposal_ids or []) + (ds.sample_ids or []) + (ds.instrument_ids or [])]
    parts += [str(t.get("name", "")) for t in ds.techniques or []]
    for key, value in (ds.scientific_metadata or {}).items():
        parts.append(str(key))
        if isinstance(value, str):
            parts.append(value[:200])
    return " ".join(" ".join(p.split()) for p in parts if p).lower()


def dataset_terms(ds: Dataset) -> list[tuple[str, str]]:
    out: set[tuple[str, str]] = set()

    def add(kind: str, values: list[Any] | None) -> None:
        for v in values or []:
            if v not in (None, ""):
                out.add((kind, str(v)[:255]))

    add("proposal", ds.proposal_ids)
    add("sample", ds.sample_ids)
    add("instrument", ds.instrument_ids)
    add("technique", [t.get("pid") for t in ds.techniques or []])
    add("techname", [t.get("name") for t in ds.techniques or []])
    add("keyword", ds.keywords)
    add("group", ds.access_groups)
    add("pi", ds.principal_investigators)
    add("input", ds.input_datasets)
    add("software", ds.used_software)
    add("shared", ds.shared_with)
    return sorted(out)


def _reindex(s: Session, ds: Dataset, *, new: bool = False) -> None:
    """Search text and terms from the dataset's fields; ``new``: a dataset stored in this transaction,
    whose search text was set before its INSERT (so no UPDATE follows) and which has no terms yet."""
    text = _search_text(ds)
    if ds.search_text != text:
        ds.search_text = text
    if not new:
        s.execute(delete(DatasetTerm).where(DatasetTerm.dataset_pid == ds.pid))
    s.add_all(DatasetTerm(dataset_pid=ds.pid, kind=k, value=v) for k, v in dataset_terms(ds))


def _apply(ds: Dataset, data: dto.DatasetIn) -> list[str]:
    """Copy the given fields onto the model; returns the camelCase names that were set."""
    given = data.model_fields_set
    for name in given:
        if name in DATASET_FIELDS:
            value = getattr(data, name)
            if value is None and name in (
                "accessGroups",
                "sharedWith",
                "keywords",
                "principalInvestigators",
                "proposalIds",
                "sampleIds",
                "instrumentIds",
                "inputDatasets",
                "usedSoftware",
            ):
                value = []  # fmt: skip
            if name in ("size", "packedSize", "numberOfFiles", "numberOfFilesArchived") and value is None:
                value = 0
            if name == "scientificMetadata" and value is None:
                value = {}
            setattr(ds, DATASET_FIELDS[name], value)
    for name, attr in LEGACY_LISTS.items():
        if name in given and f"{name}s" not in given:
            value = getattr(data, name)
            setattr(ds, attr, [value] if value else [])
    if "investigator" in given and not {"principalInvestigator", "principalInvestigators"} & given:
        ds.principal_investigators = [data.investigator] if data.investigator else []
    if "techniques" in given:
        ds.techniques = [t.model_dump() for t in data.techniques or []]
    if "relationships" in given:
        ds.relationships = [r.model_dump() for r in data.relationships or []]
    return sorted(given)


def _named_proposals(data: dto.DatasetIn) -> list[str]:
    """The proposal ids a dataset DTO names (``proposalIds``, or the v3 ``proposalId``)."""
    if "proposalIds" in data.model_fields_set:
        return [str(x) for x in data.proposalIds or []]
    return [data.proposalId] if data.proposalId else []


def _check_links(s: Session, actor: Actor, ds: Dataset, before: list[Any] | None = None) -> None:
    """Linked proposals and samples, when the hub knows them, must be visible to the actor. A dataset joins
    a pilot project's proposal (``pilotProjectId``) only from a member of the project's group — its team and
    facility contacts (halric.projects) — or a data steward; ``before``: the proposals it had already."""
    for pid in ds.proposal_ids or []:
        p = s.get(Proposal, pid)
        if p is not None and not rules.can_read(actor, p.owner_group, p.access_groups, p.is_published):
            raise InvalidInput(f"proposalIds: no proposal {pid!r} that you may use", field="proposalIds")
        joins = p is not None and p.pilot_project_id and pid not in (before or [])
        if joins and not rules.can_write(actor, p.owner_group):
            raise PermissionDenied(
                f"proposalIds: {pid} is pilot project {p.pilot_project_id}'s proposal; only the project's "
                f"team and facility contacts (group {p.owner_group!r}) add datasets to it.",
                field="proposalIds",
            )
    for sid in ds.sample_ids or []:
        smp = s.get(Sample, sid)
        if smp is not None and not rules.can_read(
            actor, smp.owner_group, smp.access_groups, smp.is_published
        ):
            raise InvalidInput(f"sampleIds: no sample {sid!r} that you may use", field="sampleIds")


IDEMPOTENCY = uuid.UUID("5b0c7a3e-6a55-4a0e-9d0c-2f1d6f3d9a11")


def new_pid(prefix: str, seed: str | None = None) -> str:
    """A new pid under the site's ``prefix``; with a seed (the caller and its Idempotency-Key) always the
    same pid for that seed."""
    tail = uuid.uuid4() if seed is None else uuid.uuid5(IDEMPOTENCY, seed)
    return f"{prefix}/{tail}"


def validate_dataset(dto_in: dict[str, Any]) -> tuple[bool, str | None]:
    """SciCat's ``isValid``: would this DTO be accepted as a new dataset?"""
    try:
        data = dto.parse(dto.DatasetIn, dto_in, what="dataset")
        dto.require(data, dto.DATASET_REQUIRED, "dataset")
    except InvalidInput as exc:
        return False, exc.detail
    return True, None


def create_dataset(
    s: Session,
    actor: Actor,
    dto_in: dict[str, Any],
    *,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Store a new dataset from a SciCat DatasetDto; returns it as SciCat answers (with ``pid``).

    Without a pid in the DTO the hub makes one; with an ``idempotency_key`` that pid is derived from the
    caller and the key, so a retried request finds the dataset its first attempt stored."""
    ds = create_dataset_model(s, actor, dto_in, idempotency_key=idempotency_key)
    return dataset_dict(ds)


def create_dataset_model(
    s: Session, actor: Actor, dto_in: dict[str, Any], *, idempotency_key: str | None = None
) -> Dataset:
    rules.ensure_signed_in(actor, "create datasets")
    data = dto.parse(dto.DatasetIn, dto_in, what="dataset")
    assert isinstance(data, dto.DatasetIn)
    if not data.ownerGroup:  # a pilot project's dataset belongs to the project's group unless told otherwise
        pilots = coll.pilot_proposals(s, _named_proposals(data))
        if pilots:
            data.ownerGroup = pilots[0].owner_group
    dto.require(data, dto.DATASET_REQUIRED, "dataset")
    rules.ensure_may_own(actor, data.ownerGroup or "", "create datasets")
    personal_data.check(personal_data.dataset_findings(dto_in), "dataset")
    # A pid the hub draws at random (no pid in the DTO, no Idempotency-Key) cannot name a stored dataset,
    # and no retry can race for it: neither the look-up of an earlier record nor the savepoint is needed.
    fresh = not data.pid and idempotency_key is None
    cfg = settings_of(s)
    pid = data.pid or new_pid(
        cfg.catalog_pid_prefix, None if idempotency_key is None else f"{actor.user_id}:{idempotency_key}"
    )
    now = utcnow()
    ds = Dataset(
        pid=pid, access_groups=[], shared_with=[], principal_investigators=[], keywords=[], techniques=[],
        scientific_metadata={}, proposal_ids=[], sample_ids=[], instrument_ids=[], input_datasets=[],
        used_software=[], relationships=[], size=0, packed_size=0, number_of_files=0,
        number_of_files_archived=0, classification=DEFAULT_CLASSIFICATION, is_published=False,
        never_release=False, version="4", created_by=actor.username, created_at=now,
        updated_by=actor.username, updated_at=now,
    )  # fmt: skip
    _apply(ds, data)
    ds.is_published = bool(data.isPublished)
    _check_links(s, actor, ds)
    years, never = _policy(s, ds)
    ds.never_release = never
    existing = None if fresh else s.get(Dataset, pid)
    registered = existing.created_at if existing is not None else now  # a retry compares like with like
    ds.embargo_until = data.embargoUntil or embargo_for(
        ds.creation_time, years, never, registered, site_years=cfg.catalog_embargo_years
    )
    confidential.settle(s, ds, recompute=True)  # a confidential project's data: private, no embargo end
    jurisdiction.check_location(s, ds)  # a project that restricts where its data live
    if ds.is_published:
        ds.published_at = now
    if existing is None:
        _claim_folder(s, actor, ds, new=True)
        ds.search_text = _search_text(ds)  # in the INSERT, not an UPDATE after it
    if fresh:
        s.add(ds)
        s.flush()
    elif existing is None:
        try:
            with s.begin_nested():  # a retry racing its first attempt: one of them stores it
                s.add(ds)
                s.flush()
        except IntegrityError:
            existing = s.get(Dataset, pid)
            if existing is None:
                raise
            if not ds.confidential:
                ds.embargo_until = data.embargoUntil or embargo_for(
                    ds.creation_time, years, never, existing.created_at, site_years=cfg.catalog_embargo_years
                )
    if existing is not None:
        visible = rules.can_read_dataset(actor, existing)
        if visible and dto.same_record(dataset_dict(existing), dataset_dict(ds)):
            return existing  # a retried upload of the same dataset
        raise Conflict(f"pid: a dataset with pid {pid!r} already exists", field="pid")
    _reindex(s, ds, new=True)
    audit.record(s, actor, "create", "dataset", pid, {"ownerGroup": ds.owner_group, "type": ds.type})
    return ds


def _claim_folder(s: Session, actor: Actor, ds: Dataset, *, new: bool = False) -> None:
    """Fix the dataset's canonical folder and check that no other group claims it (catalog/folders.py)."""
    ds.canonical_folder = folders.canonical(ds.source_folder)
    folders.check_claim(
        s,
        folder=ds.canonical_folder,
        owner_group=ds.owner_group,
        pid=None if new else ds.pid,
        roots=folders.serving_roots(settings_of(s)),
        curator=rules.is_curator(actor),
        readable=lambda group, access, published, secret: rules.can_read(
            actor, group, access, published, confidential=secret
        ),
    )


def _policy(s: Session, ds: Dataset) -> tuple[int | None, bool]:
    """Embargo years and never-release flag from the dataset's first known proposal."""
    for pid in ds.proposal_ids or []:
        p = s.get(Proposal, pid)
        if p is not None:
            return p.embargo_years, bool(p.never_release)
    return None, False


def get_dataset(
    s: Session,
    actor: Actor,
    pid: str,
    *,
    include: list[str] | tuple[str, ...] = (),
) -> dict[str, Any]:
    """One dataset (NotFound when the actor may not see it); ``include`` adds related records the actor
    may also see: origdatablocks, attachments, samples, proposals, instruments."""
    ds = load_dataset(s, actor, pid)
    out = dataset_dict(ds)
    unknown = [i for i in include if i.lower() not in DATASET_INCLUDES]
    if unknown:
        raise InvalidInput(
            f"include: unknown relation {unknown[0]!r}; use {', '.join(sorted(DATASET_INCLUDES))}",
            field="include",
        )
    return {**out, **related(s, actor, [ds], include)[ds.pid]}


def related(
    s: Session,
    actor: Actor,
    datasets: list[Dataset],
    include: list[str] | tuple[str, ...],
) -> dict[str, dict[str, Any]]:
    """The included relations of several datasets the actor may read, per pid, in one query per relation
    (not per dataset)."""
    unknown = [i for i in include if i.lower() not in DATASET_INCLUDES]
    if unknown:
        raise InvalidInput(
            f"include: unknown relation {unknown[0]!r}; use {', '.join(sorted(DATASET_INCLUDES))}",
            field="include",
        )
    wanted = {i.lower() for i in include}
    out: dict[str, dict[str, Any]] = {ds.pid: {} for ds in datasets}
    pids = list(out)
    if not wanted or not pids:
        return out
    published = {ds.pid: ds.is_published for ds in datasets}
    if "origdatablocks" in wanted:
        for d in out.values():
            d["origdatablocks"] = []
        q = select(OrigDatablock).where(OrigDatablock.dataset_pid.in_(pids))
        for b in s.scalars(q.order_by(OrigDatablock.created_at, OrigDatablock.id)):
            out[b.dataset_pid]["origdatablocks"].append(origdatablock_dict(b, published[b.dataset_pid]))
    if "datablocks" in wanted:
        for d in out.values():
            d["datablocks"] = []
    if "attachments" in wanted:
        for d in out.values():
            d["attachments"] = []
        q = select(Attachment).where(Attachment.dataset_pid.in_(pids))
        for a in s.scalars(q.order_by(Attachment.created_at, Attachment.id)):
            out[a.dataset_pid or ""]["attachments"].append(attachment_dict(a))
    if wanted & {"samples", "proposals", "instruments"}:
        for name, ids_of, lookup in (
            ("samples", lambda ds: ds.sample_ids, lambda ids: coll.samples_by_id(s, actor, ids)),
            ("proposals", lambda ds: ds.proposal_ids, lambda ids: coll.proposals_by_id(s, actor, ids)),
            ("instruments", lambda ds: ds.instrument_ids, lambda ids: coll.instrument_map(s, ids)),
        ):
            if name not in wanted:
                continue
            found = lookup(sorted({str(i) for ds in datasets for i in ids_of(ds) or []}))
            for ds in datasets:
                out[ds.pid][name] = [found[str(i)] for i in ids_of(ds) or [] if str(i) in found]
    return out


def update_dataset(s: Session, actor: Actor, pid: str, dto_in: dict[str, Any]) -> dict[str, Any]:
    ds = load_dataset_for_change(s, actor, pid)
    data = dto.parse(dto.DatasetIn, dto_in, what="dataset")
    assert isinstance(data, dto.DatasetIn)
    if data.pid is not None and data.pid != pid:
        raise InvalidInput("pid: the pid of a dataset cannot change", field="pid")
    personal_data.check(personal_data.dataset_findings(dto_in), "dataset")
    for name in ("type", "ownerGroup", "owner", "contactEmail", "sourceFolder", "creationTime"):
        if name in data.model_fields_set and getattr(data, name) in (None, ""):
            raise InvalidInput(f"{name}: cannot be emptied", field=name)
    if "ownerGroup" in data.model_fields_set and data.ownerGroup != ds.owner_group:
        rules.ensure_may_own(actor, data.ownerGroup or "", "give datasets to a group")
    was_published = ds.is_published
    old_claim = (ds.source_folder, ds.owner_group)
    old_proposals = list(ds.proposal_ids or [])
    changed = _apply(ds, data)
    if (ds.source_folder, ds.owner_group) != old_claim:
        with s.no_autoflush:
            _claim_folder(s, actor, ds)
    changed = [c for c in changed if c not in ("pid",)]
    _check_links(s, actor, ds, old_proposals)
    if "isPublished" in data.model_fields_set and data.isPublished is not None:
        ds.is_published = data.isPublished
    if "embargoUntil" in data.model_fields_set:
        ds.embargo_until = data.embargoUntil
    with s.no_autoflush:
        confidential.settle(s, ds, recompute=list(ds.proposal_ids or []) != old_proposals)
        if ds.source_folder != old_claim[0] or list(ds.proposal_ids or []) != old_proposals:
            jurisdiction.check_location(s, ds)
    if ds.is_published and not was_published:
        ds.published_at = utcnow()
    elif not ds.is_published:
        ds.published_at = None
    ds.updated_by = actor.username
    ds.updated_at = utcnow()
    _reindex(s, ds)
    _sync_children(s, ds)
    action = "publish" if ds.is_published and not was_published else "update"
    audit.record(s, actor, action, "dataset", pid, {"fields": changed})
    return dataset_dict(ds)


def set_published(s: Session, actor: Actor, ds: Dataset, published: bool, *, reason: str) -> None:
    """Publish or withdraw a dataset (audited); used by embargo release and published data."""
    if ds.is_published == published:
        return
    if published:
        confidential.refuse_publication([ds], "it is not published automatically")
    ds.is_published = published
    ds.published_at = utcnow() if published else None
    ds.updated_by = actor.username
    ds.updated_at = utcnow()
    audit.record(s, actor, "publish" if published else "unpublish", "dataset", ds.pid, {"reason": reason})


def _sync_children(s: Session, ds: Dataset) -> None:
    """Blocks and attachments follow their dataset's owner group."""
    for b in s.scalars(select(OrigDatablock).where(OrigDatablock.dataset_pid == ds.pid)):
        b.owner_group = ds.owner_group


def delete_dataset(s: Session, actor: Actor, pid: str) -> dict[str, Any]:
    ds = load_dataset_for_change(s, actor, pid)
    out = dataset_dict(ds)
    s.execute(delete(DatasetTerm).where(DatasetTerm.dataset_pid == pid))
    s.execute(delete(OrigDatablock).where(OrigDatablock.dataset_pid == pid))
    s.execute(delete(Attachment).where(Attachment.dataset_pid == pid))
    s.delete(ds)
    audit.record(s, actor, "delete", "dataset", pid, {"ownerGroup": out["ownerGroup"]})
    return out


def dataset_select(
    actor: Actor,
    where: dict[str, Any] | None = None,
    text: str | None = None,
    *,
    narrowed: bool = False,
    narrowed_in_index: bool = False,
    extra: Any = None,
) -> Any:
    """SELECT of the datasets the actor may read, matching a SciCat ``where`` and full-text words
    (``narrowed``: ``where`` filters on terms such as an instrument, ``narrowed_in_index``: on an instrument
    or technique; see ``fulltext.text_condition``) and an ``extra`` SQL condition on the datasets (the PaNOSC
    API's parameter scopes)."""
    q = select(Dataset).where(rules.dataset_visibility(actor))
    if where:
        q = q.where(dataset_condition(where))
    if extra is not None:
        q = q.where(extra)
    for cond in fulltext.text_condition(text, narrowed=narrowed, narrowed_in_index=narrowed_in_index):
        q = q.where(cond)
    return q


def find_datasets(
    s: Session,
    actor: Actor,
    flt: Filter,
    *,
    text: str | None = None,
    max_limit: int = 1000,
    extra: Any = None,
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The datasets matching the filter, each as SciCat answers it; ``shape`` (an API version's serializer,
    given by the edge) is applied to each before the filter's ``fields`` pick what is answered."""
    q = dataset_select(actor, flt.where, text, extra=extra)
    order = dataset_order(flt.order) or [Dataset.creation_time.desc()]
    q = q.order_by(*order, Dataset.pid).offset(flt.skip).limit(min(flt.limit or max_limit, max_limit))
    rows = list(s.scalars(q).all())
    extra = related(s, actor, rows, flt.include) if flt.include else {}
    out = []
    for ds in rows:
        d = dataset_dict(ds)
        if flt.include:
            d = {**d, **{k: v for k, v in extra[ds.pid].items() if k not in d}}
        out.append(project(shape(d) if shape is not None else d, flt.fields))
    return out


def count_datasets(
    s: Session, actor: Actor, where: dict[str, Any] | None = None, text: str | None = None
) -> int:
    q = dataset_select(actor, where, text).with_only_columns(func.count(Dataset.pid)).order_by(None)
    return int(s.scalar(q) or 0)


def find_datasets_any_word(
    s: Session,
    actor: Actor,
    where: dict[str, Any] | None,
    words: list[str],
    per_word: int,
    *,
    extra: Any = None,
) -> list[dict[str, Any]]:
    """Datasets the actor may read that match ``where`` and any of ``words``: for each word its newest
    ``per_word`` matches (what ``find_datasets`` with that word as text and that limit gives), together, in
    one statement. Newest first."""
    if not words:
        return []
    order = (Dataset.creation_time.desc(), Dataset.pid)
    picks = [
        dataset_select(actor, where, w, extra=extra)
        .with_only_columns(Dataset.pid)
        .order_by(*order)
        .limit(per_word)
        .subquery()
        for w in words
    ]
    pids = union(*(select(p.c.pid) for p in picks))
    q = select(Dataset).where(rules.dataset_visibility(actor), Dataset.pid.in_(pids)).order_by(*order)
    return [dataset_dict(ds) for ds in s.scalars(q)]


def count_datasets_per_word(
    s: Session, actor: Actor, where: dict[str, Any] | None, words: list[str]
) -> tuple[int, dict[str, int]]:
    """How many datasets the actor may read match ``where``, and how many of them contain each word (what
    ``count_datasets`` gives without and with each word), in one statement."""
    counts = [
        dataset_select(actor, where, w)
        .with_only_columns(func.count(Dataset.pid))
        .order_by(None)
        .scalar_subquery()
        for w in [None, *words]
    ]
    row = s.execute(select(*counts)).one()
    return int(row[0] or 0), {w: int(n or 0) for w, n in zip(words, row[1:], strict=True)}


# --- original data blocks --------------------------------------------------------------------------------


def add_origdatablock(
    s: Session, actor: Actor, dto_in: dict[str, Any], *, dataset_pid: str | None = None
) -> dict[str, Any]:
    """Store a file list for a dataset and update the dataset's size and numberOfFiles."""
    data = dto.parse(dto.OrigDatablockIn, dto_in, what="origdatablock")
    assert isinstance(data, dto.OrigDatablockIn)
    pid = dataset_pid or data.datasetId
    if not pid:
        raise InvalidInput("datasetId: name the dataset these files belong to", field="datasetId")
    if dataset_pid and data.datasetId and data.datasetId != dataset_pid:
        raise InvalidInput("datasetId: differs from the dataset in the address", field="datasetId")
    ds = load_dataset_for_change(s, actor, pid)
    if data.ownerGroup and data.ownerGroup != ds.owner_group:
        raise InvalidInput(
            f"ownerGroup: must be the dataset's owner group {ds.owner_group!r}", field="ownerGroup"
        )
    personal_data.check(personal_data.file_list_findings(f.path for f in data.dataFileList), "file list")
    files = []
    for f in data.dataFileList:
        files.append(
            dto.compact(
                {
                    "path": f.path,
                    "size": f.size,
                    "time": dto.iso(f.time) if f.time else None,
                    "chk": f.chk,
                    "uid": None if f.uid is None else str(f.uid),
                    "gid": None if f.gid is None else str(f.gid),
                    "perm": None if f.perm is None else str(f.perm),
                    "type": f.type,
                }
            )
        )
    now = utcnow()
    block = OrigDatablock(
        id=str(uuid.uuid4()),
        dataset_pid=ds.pid,
        size=data.size,
        chk_alg=None if data.chkAlg is None else str(data.chkAlg),
        data_file_list=files,
        owner_group=ds.owner_group,
        access_groups=list(data.accessGroups if data.accessGroups is not None else ds.access_groups or []),
        instrument_group=data.instrumentGroup or ds.instrument_group,
        created_by=actor.username,
        created_at=now,
        updated_by=actor.username,
        updated_at=now,
    )
    s.add(block)
    s.flush()
    _recount(s, ds)
    ds.updated_by = actor.username
    ds.updated_at = now
    audit.record(
        s,
        actor,
        "create",
        "origdatablock",
        block.id,
        {"dataset": ds.pid, "files": len(files), "size": data.size},
    )
    return origdatablock_dict(block, ds.is_published)


def _recount(s: Session, ds: Dataset) -> None:
    blocks = s.scalars(select(OrigDatablock).where(OrigDatablock.dataset_pid == ds.pid)).all()
    ds.size = sum(b.size or 0 for b in blocks)
    ds.number_of_files = sum(len(b.data_file_list or []) for b in blocks)


def list_origdatablocks(s: Session, actor: Actor, pid: str) -> list[dict[str, Any]]:
    ds = load_dataset(s, actor, pid)
    q = (
        select(OrigDatablock)
        .where(OrigDatablock.dataset_pid == pid)
        .order_by(OrigDatablock.created_at, OrigDatablock.id)
    )
    return [origdatablock_dict(b, ds.is_published) for b in s.scalars(q)]


def get_origdatablock(s: Session, actor: Actor, block_id: str) -> dict[str, Any]:
    b = s.get(OrigDatablock, block_id)
    if b is None:
        raise NotFound(f"No origdatablock with id {block_id!r} (or you may not see it).")
    try:
        ds = load_dataset(s, actor, b.dataset_pid)
    except NotFound:
        raise NotFound(f"No origdatablock with id {block_id!r} (or you may not see it).") from None
    return origdatablock_dict(b, ds.is_published)


BLOCK_QUERY: FieldMap = {
    "_id": Col(OrigDatablock.id), "id": Col(OrigDatablock.id), "datasetId": Col(OrigDatablock.dataset_pid),
    "size": Col(OrigDatablock.size), "chkAlg": Col(OrigDatablock.chk_alg),
    "dataFileList": JsonList(OrigDatablock.data_file_list), "ownerGroup": Col(OrigDatablock.owner_group),
    "accessGroups": JsonList(OrigDatablock.access_groups), "instrumentGroup": Col(OrigDatablock.instrument_group),
    "isPublished": Col(Dataset.is_published), "createdBy": Col(OrigDatablock.created_by),
    "createdAt": Col(OrigDatablock.created_at), "updatedBy": Col(OrigDatablock.updated_by),
    "updatedAt": Col(OrigDatablock.updated_at),
}  # fmt: skip
MAX_BLOCKS = 10000


def find_origdatablocks(s: Session, actor: Actor, flt: Filter) -> list[dict[str, Any]]:
    """Blocks of the datasets the actor may read, filtered in SQL (at most MAX_BLOCKS per answer)."""
    q = select(OrigDatablock, Dataset.is_published).join(Dataset, Dataset.pid == OrigDatablock.dataset_pid)
    q = q.where(rules.dataset_visibility(actor))
    order = [OrigDatablock.created_at, OrigDatablock.id]
    q = filtered(q, flt, BLOCK_QUERY, dialect_of(s), default_order=order, max_limit=MAX_BLOCKS)
    return [project(origdatablock_dict(b, published), flt.fields) for b, published in s.execute(q)]


# --- attachments ------------------------------------------------------------------------------------------


def add_attachment(
    s: Session, actor: Actor, dto_in: dict[str, Any], *, dataset_pid: str | None = None
) -> dict[str, Any]:
    """An attachment (caption and thumbnail) for a dataset, sample or proposal the actor may change."""
    data = dto.parse(dto.AttachmentIn, dto_in, what="attachment")
    assert isinstance(data, dto.AttachmentIn)
    targets: dict[str, str] = {}
    for rel in data.relationships or []:
        if rel.targetType not in ("dataset", "proposal", "sample"):
            raise InvalidInput(
                f"relationships.targetType: attachments to {rel.targetType} are not supported here",
                field="relationships",
            )
        targets[rel.targetType] = rel.targetId
    for kind, value in (
        ("dataset", dataset_pid or data.datasetId or data.rawDatasetId or data.derivedDatasetId),
        ("sample", data.sampleId),
        ("proposal", data.proposalId),
    ):
        if value:
            targets.setdefault(kind, value)
    if not targets:
        raise InvalidInput(
            "relationships: say what the attachment belongs to (targetType dataset, sample or proposal)",
            field="relationships",
        )
    owner_group = None
    published = False
    if "dataset" in targets:
        ds = load_dataset_for_change(s, actor, targets["dataset"])
        owner_group, published = ds.owner_group, ds.is_published
    for kind in ("sample", "proposal"):
        if kind in targets:
            from halric.catalog import collections as coll

            rec = coll.load_for_change(s, actor, kind, targets[kind])
            owner_group = owner_group or rec.owner_group
    owner_group = data.ownerGroup or owner_group
    assert owner_group is not None
    rules.ensure_may_own(actor, owner_group, "add attachments")
    aid = data.aid or data.id or str(uuid.uuid4())
    if s.get(Attachment, aid) is not None:
        raise Conflict(f"aid: an attachment with id {aid!r} already exists", field="aid")
    now = utcnow()
    a = Attachment(
        id=aid,
        dataset_pid=targets.get("dataset"),
        sample_id=targets.get("sample"),
        proposal_id=targets.get("proposal"),
        caption=data.caption,
        thumbnail=data.thumbnail,
        owner_group=owner_group,
        access_groups=list(data.accessGroups or []),
        instrument_group=data.instrumentGroup,
        is_published=bool(data.isPublished) if data.isPublished is not None else published,
        created_by=actor.username,
        created_at=now,
        updated_by=actor.username,
        updated_at=now,
    )
    s.add(a)
    s.flush()
    audit.record(s, actor, "create", "attachment", aid, {k: v for k, v in targets.items()})
    return attachment_dict(a)


def list_attachments(s: Session, actor: Actor, pid: str) -> list[dict[str, Any]]:
    load_dataset(s, actor, pid)
    q = select(Attachment).where(Attachment.dataset_pid == pid).order_by(Attachment.created_at, Attachment.id)
    return [attachment_dict(a) for a in s.scalars(q)]


def get_attachment(s: Session, actor: Actor, aid: str) -> dict[str, Any]:
    a = s.get(Attachment, aid)
    missing = NotFound(f"No attachment with id {aid!r} (or you may not see it).")
    if a is None:
        raise missing
    if a.dataset_pid:
        try:
            load_dataset(s, actor, a.dataset_pid)
        except NotFound:
            raise missing from None
    elif not rules.can_read(actor, a.owner_group, a.access_groups, a.is_published):
        raise missing
    return attachment_dict(a)


def release_embargoed(s: Session, actor: Actor, now: datetime | None = None) -> list[str]:
    """Publish every dataset whose embargo has ended; each release is audited. Running it again
    changes nothing (idempotent), so it is safe from cron."""
    if not actor.has_role("steward"):
        raise PermissionDenied("Only data stewards and administrators release embargoed datasets.")
    released = []
    for pid in embargo.due(s, now):
        ds = s.get(Dataset, pid)
        if ds is None:
            continue
        set_published(
            s,
            actor,
            ds,
            True,
            reason=f"embargo ended {ds.embargo_until.isoformat() if ds.embargo_until else ''}",
        )
        released.append(pid)
    return released
