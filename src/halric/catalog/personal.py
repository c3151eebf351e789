"""What the catalog holds about a person, and how it hands it over at an erasure (halric.core.personal).

Catalog records name people by text, as SciCat does: a dataset's ``owner``, ``ownerEmail``,
``contactEmail``, ``orcidOfOwner`` and principal investigators, a proposal's contact and PI e-mail, a
sample's owner, the user name in ``createdBy``/``updatedBy``. Access goes by group (the successor gets the
person's groups from the accounts domain), except published data, which its creator (``createdBy``) may
change.

At an erasure the roles that say whom to ask and who is responsible today — owner, owner and contact
e-mail, a proposal's contact, a sample's owner, the creator of published data — go to the successor.
What records history — principal investigators, ``createdBy``/``updatedBy``, published creators and
authors — keeps the pseudonym.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from halric.accounts.orcid import normalise as normalise_orcid
from halric.catalog.models import (
    Attachment,
    CatalogInstrument,
    Dataset,
    DatasetTerm,
    OrigDatablock,
    Proposal,
    PublishedData,
    Sample,
)
from halric.core.personal import Person, Pseudonym


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _names(person: Person) -> set[str]:
    """How a record may name the person in a free name field (compared case-blind)."""
    return {n.strip().lower() for n in (person.full_name, person.username, *person.emails) if n and n.strip()}


def _is(person: Person, value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() in _names(person)


def _orcid_is(person: Person, value: object) -> bool:
    return bool(person.orcid) and normalise_orcid(value) == person.orcid


def _dataset_roles(person: Person, ds: Dataset) -> list[str]:
    roles = []
    if _is(person, ds.owner) or (ds.owner_email or "").strip().lower() in person.emails:
        roles.append("owner")
    if (ds.contact_email or "").strip().lower() in person.emails:
        roles.append("contact")
    if _orcid_is(person, ds.orcid_of_owner):
        roles.append("owner (ORCID iD)")
    if any(_is(person, p) for p in ds.principal_investigators or []):
        roles.append("principal investigator")
    if ds.created_by == person.username:
        roles.append("created it")
    return roles


def _datasets(s: Session, person: Person) -> list[Dataset]:
    emails = sorted(person.emails)
    names = sorted(_names(person))
    conds = [
        func.lower(Dataset.owner_email).in_(emails),
        func.lower(Dataset.contact_email).in_(emails),
        func.lower(Dataset.owner).in_(names),
        Dataset.created_by == person.username,
        Dataset.updated_by == person.username,
        Dataset.pid.in_(
            select(DatasetTerm.dataset_pid).where(
                DatasetTerm.kind.in_(("pi", "shared")), func.lower(DatasetTerm.value).in_(names)
            )
        ),
    ]
    if person.orcid:
        conds.append(Dataset.orcid_of_owner.contains(person.orcid))
    return list(s.scalars(select(Dataset).where(or_(*conds)).order_by(Dataset.pid)))


def _proposals(s: Session, person: Person) -> list[Proposal]:
    emails = sorted(person.emails)
    q = select(Proposal).where(
        or_(
            func.lower(Proposal.email).in_(emails),
            func.lower(Proposal.pi_email).in_(emails),
            Proposal.created_by == person.username,
            Proposal.updated_by == person.username,
        )
    )
    return list(s.scalars(q.order_by(Proposal.proposal_id)))


def _samples(s: Session, person: Person) -> list[Sample]:
    q = select(Sample).where(
        or_(
            func.lower(Sample.owner).in_(sorted(_names(person))),
            Sample.created_by == person.username,
            Sample.updated_by == person.username,
        )
    )
    return list(s.scalars(q.order_by(Sample.sample_id)))


def _published(s: Session, person: Person) -> list[PublishedData]:
    rows = s.scalars(select(PublishedData).order_by(PublishedData.doi))
    return [
        p
        for p in rows
        if person.username in (p.created_by, p.updated_by)
        or any(_is(person, c) for c in (p.creator or []) + (p.authors or []))
    ]


def export(s: Session, person: Person) -> dict[str, Any]:
    """The records that name the person, with the fields that name them (not other people's)."""
    datasets = []
    for ds in _datasets(s, person):
        mine = {
            "owner": ds.owner if _is(person, ds.owner) else None,
            "ownerEmail": ds.owner_email if (ds.owner_email or "").lower() in person.emails else None,
            "contactEmail": ds.contact_email if (ds.contact_email or "").lower() in person.emails else None,
            "orcidOfOwner": ds.orcid_of_owner if _orcid_is(person, ds.orcid_of_owner) else None,
        }
        datasets.append({
            "pid": ds.pid, "datasetName": ds.dataset_name, "type": ds.type, "ownerGroup": ds.owner_group,
            "creationTime": _iso(ds.creation_time), "isPublished": ds.is_published,
            "you_are": _dataset_roles(person, ds), **{k: v for k, v in mine.items() if v},
        })  # fmt: skip
    proposals = []
    for p in _proposals(s, person):
        roles = []
        if (p.email or "").lower() in person.emails:
            roles.append("contact")
        if (p.pi_email or "").lower() in person.emails:
            roles.append("principal investigator")
        if p.created_by == person.username:
            roles.append("created it")
        item: dict[str, Any] = {"proposalId": p.proposal_id, "title": p.title, "ownerGroup": p.owner_group,
                                "you_are": roles}  # fmt: skip
        if "contact" in roles:
            item.update(email=p.email, firstname=p.firstname, lastname=p.lastname)
        if "principal investigator" in roles:
            item.update(pi_email=p.pi_email, pi_firstname=p.pi_firstname, pi_lastname=p.pi_lastname)
        proposals.append(item)
    samples = [
        {"sampleId": x.sample_id, "sampleName": x.sample_name, "ownerGroup": x.owner_group,
         "owner": x.owner if _is(person, x.owner) else None,
         "you_are": (["owner"] if _is(person, x.owner) else []) + (["created it"] if x.created_by == person.username else [])}
        for x in _samples(s, person)
    ]  # fmt: skip
    published = [
        {"doi": p.doi, "title": p.title, "status": p.status,
         "you_are": (["creator of the record"] if p.created_by == person.username else [])
         + (["named as creator or author"] if any(_is(person, c) for c in (p.creator or []) + (p.authors or [])) else [])}
        for p in _published(s, person)
    ]  # fmt: skip
    return {"datasets": datasets, "proposals": proposals, "samples": samples, "published_data": published}


def _swap(values: list[Any] | None, person: Person, new: str) -> tuple[list[Any], bool]:
    out, changed = [], False
    for v in values or []:
        if _is(person, v):
            out.append(new)
            changed = True
        else:
            out.append(v)
    return out, changed


def _first_last(full_name: str) -> tuple[str | None, str | None]:
    parts = full_name.split()
    if not parts:
        return None, None
    return parts[0], " ".join(parts[1:]) or None


def hand_over(s: Session, person: Person, successor: Person, pseudonym: Pseudonym) -> dict[str, int]:
    from halric.catalog.service import _reindex

    # handed over: records whose owner or contact role went to the successor; named: the others that
    # only keep the pseudonym (investigator, creator, a namesake's ORCID iD)
    counts = {k: 0 for k in ("datasets", "proposals", "samples", "published_data", "records_named")}

    def note(kind: str, moved: bool) -> None:
        counts[kind if moved else "records_named"] += 1

    for ds in _datasets(s, person):
        owner = _is(person, ds.owner) or (ds.owner_email or "").strip().lower() in person.emails
        contact = (ds.contact_email or "").strip().lower() in person.emails
        if owner:
            ds.owner = successor.display_name
            ds.owner_email = successor.email
            ds.orcid_of_owner = successor.orcid
        elif _orcid_is(person, ds.orcid_of_owner):
            ds.orcid_of_owner = None
        if contact:
            ds.contact_email = successor.email
        ds.principal_investigators, _ = _swap(ds.principal_investigators, person, pseudonym.name)
        ds.shared_with, _ = _swap(ds.shared_with, person, pseudonym.name)
        if ds.created_by == person.username:
            ds.created_by = pseudonym.name
        if ds.updated_by == person.username:
            ds.updated_by = pseudonym.name
        _reindex(s, ds)
        note("datasets", owner or contact)
    for p in _proposals(s, person):
        contact = (p.email or "").strip().lower() in person.emails
        if contact:
            p.email = successor.email
            p.firstname, p.lastname = _first_last(successor.display_name)
        if (p.pi_email or "").strip().lower() in person.emails:
            p.pi_email, p.pi_firstname, p.pi_lastname = pseudonym.email, pseudonym.name, None
        if p.created_by == person.username:
            p.created_by = pseudonym.name
        if p.updated_by == person.username:
            p.updated_by = pseudonym.name
        note("proposals", contact)
    for x in _samples(s, person):
        owner = _is(person, x.owner)
        if owner:
            x.owner = successor.display_name
        if x.created_by == person.username:
            x.created_by = pseudonym.name
        if x.updated_by == person.username:
            x.updated_by = pseudonym.name
        note("samples", owner)
    for p in _published(s, person):
        creator = p.created_by == person.username
        if creator:
            p.created_by = successor.username  # the creator may change the record: the successor now
        if p.updated_by == person.username:
            p.updated_by = pseudonym.name
        p.creator, _ = _swap(p.creator, person, pseudonym.name)
        p.authors, _ = _swap(p.authors, person, pseudonym.name)
        note("published_data", creator)
    for model in (OrigDatablock, Attachment, CatalogInstrument):
        for col in (model.created_by, model.updated_by):
            s.execute(
                update(model)
                .where(col == person.username)
                .values({col.key: pseudonym.name})
                .execution_options(synchronize_session=False)
            )
    s.flush()
    return counts
