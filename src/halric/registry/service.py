"""Registry operations: browse, filter, export, edit. Take a session (and an Actor for changes)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, HttpUrl, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from halric.core.timeutil import utcnow
from halric.registry.models import (
    ExpertProfile,
    Infrastructure,
    Instrument,
    InstrumentTechnique,
    Organisation,
    Technique,
    TechniqueParent,
)
from halric.registry.vocab import ACCESS_ROUTES, COUNTRIES, SAMPLE_TYPES, STATUS_ORDER, STATUSES

EDITOR_ROLES = ("coordinator", "facility")


# --- techniques ---------------------------------------------------------------------------------------


def get_technique(s: Session, tid: str) -> Technique:
    t = s.get(Technique, tid)
    if t is None:
        raise NotFound(f"No technique with id {tid!r}.")
    return t


def children_map(s: Session) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for child, parent in s.execute(select(TechniqueParent.child_id, TechniqueParent.parent_id)):
        out[parent].append(child)
    return out


def parents_map(s: Session) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for child, parent in s.execute(select(TechniqueParent.child_id, TechniqueParent.parent_id)):
        out[child].append(parent)
    return out


def descendants(s: Session, tid: str, children: dict[str, list[str]] | None = None) -> set[str]:
    children = children if children is not None else children_map(s)
    seen, stack = {tid}, [tid]
    while stack:
        for c in children.get(stack.pop(), []):
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return seen


def ancestors(tid: str, parents: dict[str, list[str]]) -> set[str]:
    seen, stack = set(), [tid]
    while stack:
        for p in parents.get(stack.pop(), []):
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def technique_usage(s: Session) -> dict[str, int]:
    """Number of instruments offering each technique directly."""
    q = select(InstrumentTechnique.technique_id, func.count()).group_by(InstrumentTechnique.technique_id)
    return dict(s.execute(q).all())  # type: ignore[arg-type]


@dataclass
class TreeNode:
    technique: Technique
    direct: int
    total: int
    children: list[TreeNode]


def technique_tree(s: Session, *, used_only: bool = True) -> list[TreeNode]:
    """The technique hierarchy; by default only techniques offered somewhere, with their ancestors."""
    techs = {t.id: t for t in s.scalars(select(Technique))}
    children, parents = children_map(s), parents_map(s)
    usage = technique_usage(s)
    keep = set(techs)
    if used_only:
        keep = set()
        for tid in usage:
            keep.add(tid)
            keep |= ancestors(tid, parents)
    inst_by_tech: dict[str, set[str]] = defaultdict(set)
    for iid, tid in s.execute(select(InstrumentTechnique.instrument_id, InstrumentTechnique.technique_id)):
        inst_by_tech[tid].add(iid)

    memo: dict[str, set[str]] = {}

    def covered(tid: str) -> set[str]:
        if tid not in memo:
            acc = set(inst_by_tech.get(tid, ()))
            for c in children.get(tid, []):
                acc |= covered(c)
            memo[tid] = acc
        return memo[tid]

    def build(tid: str, path: frozenset[str]) -> TreeNode:
        kids = sorted(
            (c for c in children.get(tid, []) if c in keep and c not in path), key=lambda c: techs[c].label
        )
        return TreeNode(
            techs[tid], usage.get(tid, 0), len(covered(tid)), [build(c, path | {c}) for c in kids]
        )

    roots = [t for t in keep if not [p for p in parents.get(t, []) if p in keep]]
    return [build(r, frozenset({r})) for r in sorted(roots, key=lambda r: techs[r].label)]


def search_techniques(s: Session, q: str | None = None, vocabulary: str | None = None) -> list[Technique]:
    rows = list(s.scalars(select(Technique).order_by(Technique.label)))
    if vocabulary:
        rows = [t for t in rows if t.vocabulary == vocabulary]
    if q:
        needle = q.lower()
        rows = [
            t for t in rows if needle in t.label.lower() or any(needle in a.lower() for a in t.alt_labels)
        ]
    return rows


# --- organisations, infrastructures, instruments ----------------------------------------------------------


def get_organisation(s: Session, oid: str) -> Organisation:
    o = s.get(Organisation, oid)
    if o is None:
        raise NotFound(f"No organisation with id {oid!r}.")
    return o


def list_organisations(
    s: Session, *, country: str | None = None, kind: str | None = None, partner: bool | None = None
) -> list[Organisation]:
    q = select(Organisation).order_by(Organisation.country, Organisation.name)
    if country:
        q = q.where(Organisation.country == country.upper())
    if kind:
        q = q.where(Organisation.kind == kind)
    if partner is not None:
        q = q.where(Organisation.partner.is_(partner))
    return list(s.scalars(q))


ORGANISATION_KINDS = (
    "company", "sme", "hospital", "public-body", "university", "research-institute", "region", "cluster", "other",
)  # fmt: skip


class NewOrganisation(BaseModel):
    """An organisation outside the partnership (a company, another hospital), added by a user."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$", description="short id, e.g. acme-pharma")
    name: str = Field(min_length=2, max_length=300)
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2 code")
    city: str | None = Field(default=None, max_length=100)
    kind: str = Field(default="company")
    url: HttpUrl | None = None
    ror: str | None = Field(default=None, pattern=r"^https://ror\.org/0[a-z0-9]{6}\d{2}$")

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        allowed = ORGANISATION_KINDS
        if v not in allowed:
            raise ValueError(f"choose one of {', '.join(allowed)}")
        return v


def add_organisation(s: Session, actor: Actor, data: NewOrganisation) -> Organisation:
    if actor.is_anonymous:
        raise PermissionDenied("Sign in to add an organisation.")
    if s.get(Organisation, data.id) is not None:
        raise Conflict(f"An organisation with id {data.id!r} already exists.", field="id")
    clash = s.scalar(select(Organisation).where(func.lower(Organisation.name) == data.name.lower()))
    if clash is not None:
        raise Conflict(f"{clash.name} is already registered (id {clash.id}).", field="name")
    org = Organisation(
        id=data.id, name=data.name, country=data.country, city=data.city, kind=data.kind,
        url=str(data.url) if data.url else None, ror=data.ror, partner=False, funding_eligible=False, origin="web",
    )  # fmt: skip
    s.add(org)
    s.flush()
    audit.record(s, actor, "create", "organisation", org.id, data.model_dump(mode="json"))
    return org


def get_infrastructure(s: Session, iid: str) -> Infrastructure:
    i = s.get(Infrastructure, iid)
    if i is None:
        raise NotFound(f"No infrastructure with id {iid!r}.")
    return i


def list_infrastructures(
    s: Session, *, country: str | None = None, organisation: str | None = None, kind: str | None = None
) -> list[Infrastructure]:
    q = select(Infrastructure).order_by(Infrastructure.country, Infrastructure.name)
    if country:
        q = q.where(Infrastructure.country == country.upper())
    if organisation:
        q = q.where(Infrastructure.organisation_id == organisation)
    if kind:
        q = q.where(Infrastructure.kind == kind)
    return list(s.scalars(q))


def get_instrument(s: Session, iid: str) -> Instrument:
    i = s.get(Instrument, iid)
    if i is None:
        raise NotFound(f"No instrument with id {iid!r}.")
    return i


@dataclass
class InstrumentFilter:
    country: str | None = None
    organisation: str | None = None
    infrastructure: str | None = None
    technique: str | None = None  # includes narrower techniques
    sample_type: str | None = None
    status: str | None = None
    access_route: str | None = None
    q: str | None = None

    def validate(self) -> InstrumentFilter:
        if self.country and self.country.upper() not in COUNTRIES:
            raise InvalidInput(f"country: use one of {', '.join(COUNTRIES)}", field="country")
        if self.status and self.status not in STATUSES:
            raise InvalidInput(f"status: use one of {', '.join(STATUSES)}", field="status")
        if self.sample_type and self.sample_type not in SAMPLE_TYPES:
            raise InvalidInput(f"sample_type: use one of {', '.join(SAMPLE_TYPES)}", field="sample_type")
        if self.access_route and self.access_route not in ACCESS_ROUTES:
            raise InvalidInput(f"access_route: use one of {', '.join(ACCESS_ROUTES)}", field="access_route")
        return self


def instrument_sort_key(i: Instrument | InstrumentRow) -> tuple[int, str, str]:
    return (STATUS_ORDER.get(i.status, 99), i.country, i.name.lower())


def _where(s: Session, q: Any, f: InstrumentFilter) -> Any:
    """``q`` narrowed by the filters SQL can apply (the list filters and words are applied to the rows)."""
    if f.country:
        q = q.where(Instrument.country == f.country.upper())
    if f.organisation:
        q = q.where(Instrument.organisation_id == f.organisation)
    if f.infrastructure:
        q = q.where(Instrument.infrastructure_id == f.infrastructure)
    if f.status:
        q = q.where(Instrument.status == f.status)
    if f.technique:
        get_technique(s, f.technique)
        wanted = descendants(s, f.technique)
        sub = select(InstrumentTechnique.instrument_id).where(InstrumentTechnique.technique_id.in_(wanted))
        q = q.where(Instrument.id.in_(sub))
    return q


def search_instruments(s: Session, f: InstrumentFilter) -> list[Instrument]:
    """Instruments matching every given filter, operational ones first."""
    f.validate()
    q = select(Instrument)
    q = _where(s, q, f)
    rows = list(s.scalars(q))
    if f.sample_type:
        rows = [r for r in rows if f.sample_type in (r.sample_types or [])]
    if f.access_route:
        rows = [r for r in rows if f.access_route in (r.access_routes or [])]
    if f.q:
        words = f.q.lower().split()
        rows = [r for r in rows if all(w in _haystack(r) for w in words)]
    return sorted(rows, key=instrument_sort_key)


@dataclass(frozen=True)
class InstrumentRow:
    """What filtering and ordering the instrument list needs of an instrument, without the ORM object."""

    id: str
    name: str
    country: str
    status: str
    organisation_label: str  # short name, else name
    haystack: str  # what the words filter searches, lower case
    sample_types: tuple[str, ...]
    access_routes: tuple[str, ...]


def instrument_rows(s: Session, f: InstrumentFilter) -> list[InstrumentRow]:
    """The same instruments as :func:`search_instruments`, in the same order, as plain rows: one query of
    the columns it needs (no technique links, no related objects), for lists that show a page of them."""
    f.validate()
    q = select(
        Instrument.id, Instrument.name, Instrument.country, Instrument.status, Instrument.good_for,
        Instrument.city, Instrument.typical_samples, Instrument.sample_types, Instrument.access_routes,
        Infrastructure.name, Organisation.name, Organisation.short_name,
    ).join(Infrastructure, Instrument.infrastructure_id == Infrastructure.id).join(
        Organisation, Instrument.organisation_id == Organisation.id
    )  # fmt: skip
    q = _where(s, q, f)
    rows = [
        InstrumentRow(
            iid, name, country, status, short or org,
            " ".join([name, good_for, infra, org, city, " ".join(samples or [])]).lower(),
            tuple(sample_types or []), tuple(routes or []),
        )
        for iid, name, country, status, good_for, city, samples, sample_types, routes, infra, org, short in s.execute(q)
    ]  # fmt: skip
    if f.sample_type:
        rows = [r for r in rows if f.sample_type in r.sample_types]
    if f.access_route:
        rows = [r for r in rows if f.access_route in r.access_routes]
    if f.q:
        words = f.q.lower().split()
        rows = [r for r in rows if all(w in r.haystack for w in words)]
    return sorted(rows, key=instrument_sort_key)


def instruments_by_id(s: Session, ids: list[str]) -> list[Instrument]:
    """These instruments (with infrastructure and organisation, without technique links), in this order."""
    from sqlalchemy.orm import lazyload

    found = {
        i.id: i
        for i in s.scalars(
            select(Instrument).options(lazyload(Instrument.technique_links)).where(Instrument.id.in_(ids))
        )
    }
    return [found[i] for i in ids if i in found]


def _haystack(i: Instrument) -> str:
    return " ".join(
        [
            i.name,
            i.good_for,
            i.infrastructure.name,
            i.organisation.name,
            i.city,
            " ".join(i.typical_samples or []),
        ]
    ).lower()


class InstrumentChanges(BaseModel):
    """Fields staff may change in the browser or through the API."""

    model_config = {"extra": "forbid"}

    status: str | None = None
    good_for: str | None = Field(default=None, min_length=20, max_length=5000)
    typical_samples: list[str] | None = None
    access_routes: list[str] | None = None
    url: HttpUrl | None = None
    contact_url: HttpUrl | None = None
    contact_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

    @field_validator("status")
    @classmethod
    def _status(cls, v: str | None) -> str | None:
        if v is not None and v not in STATUSES:
            raise ValueError(f"use one of {', '.join(STATUSES)}")
        return v

    @field_validator("access_routes")
    @classmethod
    def _access(cls, v: list[str] | None) -> list[str] | None:
        bad = [a for a in v or [] if a not in ACCESS_ROUTES]
        if bad:
            raise ValueError(f"unknown access route {bad}; use {', '.join(ACCESS_ROUTES)}")
        return v


def can_edit_instrument(actor: Actor, inst: Instrument) -> bool:
    if actor.is_admin or actor.has_role("coordinator"):
        return True
    # facility staff edit the instruments of their own organisation
    return "facility" in actor.roles and actor.organisation is not None and actor.organisation in (
        inst.organisation_id, *inst.infrastructure.partner_ids
    )  # fmt: skip


def update_instrument(s: Session, actor: Actor, iid: str, changes: InstrumentChanges) -> Instrument:
    inst = get_instrument(s, iid)
    if not can_edit_instrument(actor, inst):
        raise PermissionDenied("Only coordinators and the facility's own staff edit this instrument.")
    diff: dict[str, Any] = {}
    data = changes.model_dump(exclude_unset=True, mode="json")
    contact = dict(inst.contact or {})
    for key in ("contact_url", "contact_email"):
        if key in data:
            new = data.pop(key)
            short = key.split("_", 1)[1]
            if contact.get(short) != new:
                diff[key] = {"from": contact.get(short), "to": new}
                if new is None:
                    contact.pop(short, None)
                else:
                    contact[short] = new
    if "contact_url" in diff or "contact_email" in diff:
        inst.contact = contact
    for key, new in data.items():
        if new is None:
            raise InvalidInput(f"{key}: cannot be empty", field=key)
        old = getattr(inst, key)
        if old != new:
            diff[key] = {"from": old, "to": new}
            setattr(inst, key, new)
    if diff:
        inst.updated_at = utcnow()
        audit.record(s, actor, "update", "instrument", inst.id, diff)
    return inst


# --- experts and ambassadors ----------------------------------------------------------------------------


class ExpertInput(BaseModel):
    model_config = {"extra": "forbid"}

    display_name: str = Field(min_length=2, max_length=200)
    organisation_id: str | None = None
    techniques: list[str] = Field(default_factory=list, max_length=30)
    sample_types: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list, max_length=10)
    countries_served: list[str] = Field(default_factory=list)
    bio: str = Field(default="", max_length=3000)
    contact_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    public: bool = True

    @field_validator("sample_types")
    @classmethod
    def _samples(cls, v: list[str]) -> list[str]:
        bad = [x for x in v if x not in SAMPLE_TYPES]
        if bad:
            raise ValueError(f"unknown sample type {bad}")
        return v

    @field_validator("countries_served")
    @classmethod
    def _countries(cls, v: list[str]) -> list[str]:
        v = [c.upper() for c in v]
        bad = [c for c in v if c not in COUNTRIES]
        if bad:
            raise ValueError(f"unknown country {bad}; use {', '.join(COUNTRIES)}")
        return v


def save_expert_profile(s: Session, actor: Actor, data: ExpertInput) -> ExpertProfile:
    if actor.user_id is None:
        raise PermissionDenied("Sign in to describe your expertise.")
    for t in data.techniques:
        get_technique(s, t)
    if data.organisation_id:
        get_organisation(s, data.organisation_id)
    if data.countries_served and not actor.has_role("ambassador"):
        raise InvalidInput("countries_served: only ambassadors cover regions", field="countries_served")
    prof = s.scalar(select(ExpertProfile).where(ExpertProfile.user_id == actor.user_id))
    values = data.model_dump()
    if prof is None:
        prof = ExpertProfile(user_id=actor.user_id, **values)
        s.add(prof)
        action = "create"
    else:
        for k, v in values.items():
            setattr(prof, k, v)
        action = "update"
    s.flush()
    audit.record(s, actor, action, "expert-profile", prof.id, {"techniques": data.techniques})
    return prof


def get_expert_profile(s: Session, user_id: int) -> ExpertProfile | None:
    return s.scalar(select(ExpertProfile).where(ExpertProfile.user_id == user_id))


def list_experts(
    s: Session, *, technique: str | None = None, public_only: bool = True
) -> list[ExpertProfile]:
    rows = list(s.scalars(select(ExpertProfile).order_by(ExpertProfile.display_name)))
    if public_only:
        rows = [r for r in rows if r.public]
    if technique:
        wanted = descendants(s, technique)
        rows = [r for r in rows if wanted.intersection(r.techniques or [])]
    return rows


def ambassadors_for(s: Session, country: str | None) -> list[ExpertProfile]:
    """Public ambassador profiles covering a country (all ambassadors when no country is given)."""
    rows = [r for r in s.scalars(select(ExpertProfile)) if r.public and r.countries_served]
    if country:
        rows = [r for r in rows if country.upper() in r.countries_served]
    return sorted(rows, key=lambda r: r.display_name)


# --- export ----------------------------------------------------------------------------------------------


def export(s: Session) -> dict[str, list[dict[str, Any]]]:
    """The whole registry as one JSON-able object (contract of `halric registry export --json`)."""
    parents = parents_map(s)
    return {
        "organisations": [
            organisation_dict(o) for o in s.scalars(select(Organisation).order_by(Organisation.id))
        ],
        "infrastructures": [
            infrastructure_dict(i) for i in s.scalars(select(Infrastructure).order_by(Infrastructure.id))
        ],
        "instruments": [instrument_dict(i) for i in s.scalars(select(Instrument).order_by(Instrument.id))],
        "techniques": [
            technique_dict(t, parents.get(t.id, []))
            for t in s.scalars(select(Technique).order_by(Technique.id))
        ],
    }


def organisation_dict(o: Organisation) -> dict[str, Any]:
    return {
        "id": o.id, "name": o.name, "short_name": o.short_name, "country": o.country, "city": o.city,
        "kind": o.kind, "ror": o.ror, "partner": o.partner, "funding_eligible": o.funding_eligible,
        "url": o.url, "lat": o.lat, "lon": o.lon, "source": o.source,
    }  # fmt: skip


def infrastructure_dict(i: Infrastructure) -> dict[str, Any]:
    return {
        "id": i.id, "name": i.name, "organisation": i.organisation_id, "partners": i.partner_ids, "kind": i.kind,
        "country": i.country, "city": i.city, "lat": i.lat, "lon": i.lon, "url": i.url, "contact": i.contact,
        "description": i.description, "access_routes": i.access_routes, "source": i.source,
    }  # fmt: skip


def instrument_dict(i: Instrument) -> dict[str, Any]:
    return {
        "id": i.id, "name": i.name, "infrastructure": i.infrastructure_id, "organisation": i.organisation_id,
        "country": i.country, "city": i.city, "techniques": i.technique_ids, "status": i.status, "url": i.url,
        "kind": i.kind, "good_for": i.good_for, "typical_samples": i.typical_samples,
        "sample_types": i.sample_types, "specs": i.specs, "access_routes": i.access_routes,
        "contact": i.contact, "source": i.source,
    }  # fmt: skip


def technique_dict(t: Technique, parents: list[str]) -> dict[str, Any]:
    return {
        "id": t.id, "label": t.label, "alt_labels": t.alt_labels, "panet_iri": t.panet_iri,
        "parents": sorted(parents), "vocabulary": t.vocabulary, "definition": t.definition,
        "knowledge": t.knowledge or None,
    }  # fmt: skip
