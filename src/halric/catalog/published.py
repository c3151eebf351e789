"""Published data: a citable publication of datasets, with DataCite metadata and a DOI.

Lifecycle: created (``pending_registration``, visible to its creator and stewards) → ``registered`` by a
data steward, which validates the DataCite metadata, registers the DOI and publishes the datasets.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.accounts import orcid
from halric.accounts.models import User
from halric.catalog import confidential, credit, datacite, dto, rules
from halric.catalog.filters import Filter, project
from halric.catalog.models import Dataset, PublishedData
from halric.catalog.query import Col, FieldMap, JsonDoc, JsonList, dialect_of, filtered
from halric.core import audit, values
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unprocessable
from halric.core.settings import of as settings_of
from halric.core.timeutil import utcnow

PUBLIC_STATES = ("registered", "public")
FIELDS = {
    "title": "title", "abstract": "abstract", "dataDescription": "data_description",
    "resourceType": "resource_type", "creator": "creator", "publisher": "publisher",
    "publicationYear": "publication_year", "affiliation": "affiliation", "authors": "authors",
    "pidArray": "pid_array", "url": "url", "numberOfFiles": "number_of_files",
    "sizeOfArchive": "size_of_archive", "thumbnail": "thumbnail", "metadata": "datacite",
}  # fmt: skip


def published_dict(p: PublishedData) -> dict[str, Any]:
    return dto.compact(
        {
            "doi": p.doi,
            "title": p.title,
            "abstract": p.abstract,
            "dataDescription": p.data_description,
            "resourceType": p.resource_type,
            "creator": list(p.creator or []),
            "publisher": p.publisher,
            "publicationYear": p.publication_year,
            "affiliation": p.affiliation,
            "authors": list(p.authors or []),
            "pidArray": list(p.pid_array or []),
            "url": p.url,
            "numberOfFiles": p.number_of_files,
            "sizeOfArchive": p.size_of_archive,
            "status": p.status,
            "registeredTime": dto.iso(p.registered_time),
            "metadata": values.finite(p.datacite or {}),
            "thumbnail": p.thumbnail,
            "createdBy": p.created_by,
            "createdAt": dto.iso(p.created_at),
            "updatedBy": p.updated_by,
            "updatedAt": dto.iso(p.updated_at),
        }
    )


def _may_see(actor: Actor, p: PublishedData) -> bool:
    return (
        p.status in PUBLIC_STATES
        or rules.is_curator(actor)
        or (not actor.is_anonymous and p.created_by == actor.username)
    )


def _load(s: Session, actor: Actor, doi: str) -> PublishedData:
    p = s.get(PublishedData, doi)
    if p is None or not _may_see(actor, p):
        raise NotFound(f"No published data with DOI {doi!r} (or you may not see it).")
    return p


def _check_datasets(s: Session, actor: Actor, pids: list[str]) -> list[Dataset]:
    from halric.catalog.service import load_dataset_for_change

    if not pids:
        raise InvalidInput("pidArray: list the pids of the datasets to publish", field="pidArray")
    out = []
    for pid in pids:
        try:
            out.append(load_dataset_for_change(s, actor, pid))
        except (NotFound, PermissionDenied):
            raise InvalidInput(
                f"pidArray: {pid!r} is not a dataset you may publish", field="pidArray"
            ) from None
    return out


def create(s: Session, actor: Actor, dto_in: dict[str, Any]) -> dict[str, Any]:
    rules.ensure_signed_in(actor, "publish data")
    data = dto.parse(dto.PublishedDataIn, dto_in, what="published data")
    assert isinstance(data, dto.PublishedDataIn)
    dto.require(data, ("title", "abstract", "creator", "pidArray"), "published data")
    datasets = _check_datasets(s, actor, data.pidArray or [])
    confidential.refuse_publication(datasets, "no DOI is made for it")
    cfg = settings_of(s)
    doi = data.doi or f"{cfg.datacite_prefix}/{uuid.uuid4().hex[:12]}"
    if s.get(PublishedData, doi) is not None:
        raise Conflict(f"doi: published data with DOI {doi!r} already exists", field="doi")
    now = utcnow()
    p = PublishedData(
        doi=doi, title="", abstract="", data_description="", resource_type="Dataset", creator=[],
        publisher=cfg.datacite_publisher, publication_year=now.year, authors=[], pid_array=[], datacite={},
        status="pending_registration", created_by=actor.username, created_at=now, updated_by=actor.username,
        updated_at=now,
    )  # fmt: skip
    for name in data.model_fields_set:
        if name in FIELDS and getattr(data, name) is not None:
            setattr(p, FIELDS[name], getattr(data, name))
    if p.number_of_files is None:
        p.number_of_files = sum(d.number_of_files or 0 for d in datasets)
    if p.size_of_archive is None:
        p.size_of_archive = sum(d.size or 0 for d in datasets)
    s.add(p)
    s.flush()
    audit.record(s, actor, "create", "published-data", doi, {"datasets": p.pid_array})
    return published_dict(p)


def get(s: Session, actor: Actor, doi: str) -> dict[str, Any]:
    return published_dict(_load(s, actor, doi))


QUERY: FieldMap = {
    "doi": Col(PublishedData.doi), "title": Col(PublishedData.title), "abstract": Col(PublishedData.abstract),
    "dataDescription": Col(PublishedData.data_description), "resourceType": Col(PublishedData.resource_type),
    "creator": JsonList(PublishedData.creator), "publisher": Col(PublishedData.publisher),
    "publicationYear": Col(PublishedData.publication_year), "affiliation": Col(PublishedData.affiliation),
    "authors": JsonList(PublishedData.authors), "pidArray": JsonList(PublishedData.pid_array),
    "url": Col(PublishedData.url), "numberOfFiles": Col(PublishedData.number_of_files),
    "sizeOfArchive": Col(PublishedData.size_of_archive), "status": Col(PublishedData.status),
    "registeredTime": Col(PublishedData.registered_time), "metadata": JsonDoc(PublishedData.datacite),
    "thumbnail": Col(PublishedData.thumbnail), "createdBy": Col(PublishedData.created_by),
    "createdAt": Col(PublishedData.created_at), "updatedBy": Col(PublishedData.updated_by),
    "updatedAt": Col(PublishedData.updated_at),
}  # fmt: skip


def _visibility(actor: Actor) -> Any:
    """``_may_see`` in SQL."""
    from sqlalchemy import or_, true

    if rules.is_curator(actor):
        return true()
    public = PublishedData.status.in_(PUBLIC_STATES)
    if actor.is_anonymous:
        return public
    return or_(public, PublishedData.created_by == actor.username)


def find(s: Session, actor: Actor, flt: Filter) -> list[dict[str, Any]]:
    q = select(PublishedData).where(_visibility(actor))
    order = [PublishedData.created_at, PublishedData.doi]
    rows = s.scalars(filtered(q, flt, QUERY, dialect_of(s), default_order=order))
    return [project(published_dict(p), flt.fields) for p in rows]


def update(s: Session, actor: Actor, doi: str, dto_in: dict[str, Any]) -> dict[str, Any]:
    rules.ensure_signed_in(actor, "change published data")
    p = _load(s, actor, doi)
    if not (rules.is_curator(actor) or p.created_by == actor.username):
        raise PermissionDenied("Only its creator and data stewards change published data.")
    if p.status == "registered":
        raise Conflict("The DOI is registered; its record can no longer be changed here.")
    data = dto.parse(dto.PublishedDataIn, dto_in, what="published data")
    assert isinstance(data, dto.PublishedDataIn)
    if data.doi not in (None, doi):
        raise InvalidInput("doi: the DOI cannot change", field="doi")
    if "pidArray" in data.model_fields_set:
        _check_datasets(s, actor, data.pidArray or [])
    for name in data.model_fields_set:
        if name in FIELDS and getattr(data, name) is not None:
            setattr(p, FIELDS[name], getattr(data, name))
    p.updated_by, p.updated_at = actor.username, utcnow()
    audit.record(s, actor, "update", "published-data", doi, {"fields": sorted(data.model_fields_set)})
    return published_dict(p)


def landing_url(base_url: str, doi: str) -> str:
    return f"{base_url.rstrip('/')}/catalog/published/{quote(doi, safe='')}"


def dataset_url(base_url: str, pid: str) -> str:
    return f"{base_url.rstrip('/')}/catalog/datasets/{quote(pid, safe='')}"


def _name_key(name: str | None) -> str:
    """A person's name compared across spellings: "Svensson, Maria" and "maria  svensson" are one."""
    if not name:
        return ""
    if "," in name:
        family, given = name.split(",", 1)
        name = f"{given} {family}"
    return " ".join(name.casefold().split())


def creator_orcids(s: Session, p: PublishedData) -> dict[str, str]:
    """``{creator as written: ORCID iD}`` for the record's creators the hub knows as people.

    A creator is known when their name is that of
    - the owner of one of the published datasets whose ``orcidOfOwner`` is set;
    - a hub account with an ORCID iD (learnt at sign-in, accounts/orcid.py) whose confirmed e-mail is a
      published dataset's ``ownerEmail`` or ``contactEmail`` (that dataset's ``owner`` name counts too,
      for the account with its ``ownerEmail``);
    - the hub account that created the record, when it has an ORCID iD.
    A name that would get two different iDs gets none."""
    creators = [c for c in p.creator or [] if isinstance(c, str)]
    if not creators:
        return {}
    known: dict[str, set[str]] = {}

    def note(name: str | None, oid: str | None) -> None:
        if (key := _name_key(name)) and oid:
            known.setdefault(key, set()).add(oid)

    datasets = (
        list(s.scalars(select(Dataset).where(Dataset.pid.in_(p.pid_array or [])))) if p.pid_array else []
    )
    people = orcid.people(s, [e for d in datasets for e in (d.owner_email, d.contact_email)])
    for d in datasets:
        note(d.owner, orcid.normalise(d.orcid_of_owner))
        if (person := people.get((d.owner_email or "").strip().lower())) is not None:
            note(d.owner, person[1])
    for name, oid in people.values():
        note(name, oid)
    author = s.scalar(select(User).where(User.username == p.created_by)) if p.created_by else None
    if author is not None and author.is_active:
        note(author.full_name, orcid.normalise(author.orcid))
    out = {}
    for c in creators:
        found = known.get(_name_key(c), set())
        if len(found) == 1:
            out[c] = next(iter(found))
    return out


def metadata(s: Session, actor: Actor, doi: str) -> dict[str, Any]:
    """The DataCite document for this record (what registration would send); creators the hub knows
    get their ORCID iD (:func:`creator_orcids`); a pilot project's datasets add the programme's credit
    (:mod:`halric.catalog.credit`)."""
    p = _load(s, actor, doi)
    cfg = settings_of(s)
    doc = datacite.build(
        p,
        landing_url=landing_url(cfg.public_url, p.doi),
        dataset_urls=[dataset_url(cfg.public_url, x) for x in p.pid_array or []],
        publisher=cfg.datacite_publisher,
    )
    doc = datacite.add_orcids(doc, creator_orcids(s, p))
    # a pilot project's datasets credit the programme: funder and award, project, instruments, PaNET
    return credit.add_project_credit(s, doc, list(p.pid_array or []), base_url=cfg.public_url)


def publish(s: Session, actor: Actor, doi: str) -> dict[str, Any]:
    """Make the record public (metadata final) without registering a DOI yet."""
    rules.ensure_signed_in(actor, "publish data")
    p = _load(s, actor, doi)
    if not (rules.is_curator(actor) or p.created_by == actor.username):
        raise PermissionDenied("Only its creator and data stewards publish this record.")
    if p.status == "pending_registration":
        p.status = "public"
        p.updated_by, p.updated_at = actor.username, utcnow()
        audit.record(s, actor, "publish", "published-data", doi)
    return published_dict(p)


def register(s: Session, actor: Actor, doi: str) -> dict[str, Any]:
    """Validate the DataCite metadata, register the DOI, and publish the datasets (stewards only)."""
    from halric.catalog.service import set_published

    if not rules.is_curator(actor):
        raise PermissionDenied("Only data stewards and administrators register DOIs.")
    p = _load(s, actor, doi)
    if p.status == "registered":
        return published_dict(p)
    doc = metadata(s, actor, doi)
    datacite.validate(doc)
    cfg = settings_of(s)
    datasets = [s.get(Dataset, pid) for pid in p.pid_array or []]
    if any(d is None for d in datasets):
        raise Unprocessable("pidArray: a dataset of this record no longer exists.")
    datacite.register(doc, url=cfg.datacite_url, user=cfg.datacite_user, password=cfg.datacite_password)
    for d in datasets:
        assert d is not None
        set_published(s, actor, d, True, reason=f"DOI {doi} registered")
    p.status = "registered"
    p.registered_time = utcnow()
    p.updated_by, p.updated_at = actor.username, utcnow()
    audit.record(s, actor, "register-doi", "published-data", doi, {"datasets": p.pid_array})
    return published_dict(p)


QUEUED = "registration_queued"


def queue_registration(s: Session, actor: Actor, doi: str, reason: str) -> dict[str, Any]:
    """DataCite could not take the registration now: a record not yet public is marked
    ``registration_queued`` (still not public) and the worker's DOI job registers it later (stewards only)."""
    if not rules.is_curator(actor):
        raise PermissionDenied("Only data stewards and administrators register DOIs.")
    p = _load(s, actor, doi)
    if p.status != "registered":
        if p.status == "pending_registration":
            p.status = QUEUED
        p.updated_by, p.updated_at = actor.username, utcnow()
        audit.record(s, actor, "queue-doi-registration", "published-data", doi, {"reason": reason[:500]})
    return published_dict(p)


def queued_count(s: Session) -> int:
    """How many records wait for their DOI registration (DataCite was unreachable)."""
    from sqlalchemy import func

    return int(s.scalar(select(func.count()).where(PublishedData.status == QUEUED)) or 0)


def register_queued(db: Any, actor: Actor, dois: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """Register the given records, or every record whose registration is queued, each in its own
    transaction. Returns (registered DOIs, {doi: problem}) — a record that fails stays queued."""
    if dois is None:
        with db.session() as s:
            dois = list(s.scalars(select(PublishedData.doi).where(PublishedData.status == QUEUED)))
    done: list[str] = []
    problems: dict[str, str] = {}
    for doi in dois:
        try:
            with db.session() as s:
                register(s, actor, doi)
            done.append(doi)
        except (Unprocessable, Conflict, NotFound) as exc:
            problems[doi] = str(exc)
    return done, problems
