"""Samples, proposals (a pilot project is one) and instruments (the registry's, plus any created through
the SciCat API). Filters compile to SQL (``halric.catalog.query``) over each collection's field map."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.catalog import confidential, dto, rules
from halric.catalog.embargo import embargo_for
from halric.catalog.filters import Filter, project
from halric.catalog.models import CatalogInstrument, Dataset, DatasetTerm, Proposal, Sample
from halric.catalog.query import Col, FieldMap, JsonDoc, JsonList, Related, dialect_of, filtered
from halric.core import audit, values
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from halric.core.settings import of as settings_of
from halric.core.timeutil import utcnow
from halric.privacy import guard as personal_data
from halric.privacy.scan import scan_metadata

POLICY_ROLES = ("steward", "coordinator")
# proposals of the hub's pilot projects (halric.projects) have ids with this prefix; nobody else makes them
PILOT_PREFIX = "HALRIC-"
INSTRUMENT_ROLES = ("steward", "facility")


# --- output ---------------------------------------------------------------------------------------------


def sample_dict(x: Sample) -> dict[str, Any]:
    return dto.compact(
        {
            "sampleId": x.sample_id,
            "sampleName": x.sample_name,
            "owner": x.owner,
            "ownerGroup": x.owner_group,
            "accessGroups": list(x.access_groups or []),
            "instrumentGroup": x.instrument_group,
            "description": x.description,
            "sampleCharacteristics": values.finite(x.sample_characteristics or {}),
            "proposalId": x.proposal_id,
            "parentSampleId": x.parent_sample_id,
            "type": x.type,
            "isPublished": bool(x.is_published),
            "createdBy": x.created_by,
            "createdAt": dto.iso(x.created_at),
            "updatedBy": x.updated_by,
            "updatedAt": dto.iso(x.updated_at),
        }
    )


def proposal_dict(p: Proposal) -> dict[str, Any]:
    periods = [dto.compact(dict(m)) for m in p.measurement_periods or []]
    return dto.compact(
        {
            "proposalId": p.proposal_id,
            "title": p.title,
            "abstract": p.abstract,
            "email": p.email,
            "firstname": p.firstname,
            "lastname": p.lastname,
            "pi_email": p.pi_email,
            "pi_firstname": p.pi_firstname,
            "pi_lastname": p.pi_lastname,
            "ownerGroup": p.owner_group,
            "accessGroups": list(p.access_groups or []),
            "instrumentGroup": p.instrument_group,
            "startTime": dto.iso(p.start_time),
            "endTime": dto.iso(p.end_time),
            "type": p.type,
            "parentProposalId": p.parent_proposal_id,
            "metadata": values.finite(p.proposal_metadata),
            "MeasurementPeriodList": periods,
            "measurementPeriodList": periods,
            "isPublished": bool(p.is_published),
            "pilotProjectId": p.pilot_project_id,
            "embargoYears": p.embargo_years,
            "neverRelease": bool(p.never_release),
            "createdBy": p.created_by,
            "createdAt": dto.iso(p.created_at),
            "updatedBy": p.updated_by,
            "updatedAt": dto.iso(p.updated_at),
        }
    )


def instrument_dict(i: CatalogInstrument) -> dict[str, Any]:
    return {
        "pid": i.pid,
        "uniqueName": i.unique_name,
        "name": i.name,
        "customMetadata": values.finite(i.custom_metadata or {}),
    }


def registry_instrument_dict(i: Any) -> dict[str, Any]:
    return {
        "pid": i.id,
        "uniqueName": i.id,
        "name": i.name,
        "customMetadata": {
            "source": "halric-registry",
            "infrastructure": i.infrastructure_id,
            "organisation": i.organisation_id,
            "country": i.country,
            "city": i.city,
            "status": i.status,
            "techniques": i.technique_ids,
            "url": i.url,
        },
    }


# --- common ---------------------------------------------------------------------------------------------

MODELS: dict[str, Any] = {"sample": Sample, "proposal": Proposal}


def _readable(actor: Actor, rec: Any) -> bool:
    return rules.can_read(actor, rec.owner_group, rec.access_groups, rec.is_published)


def load(s: Session, actor: Actor, kind: str, key: str) -> Any:
    rec = s.get(MODELS[kind], key)
    if rec is None or not _readable(actor, rec):
        raise NotFound(f"No {kind} with id {key!r} (or you may not see it).")
    return rec


def load_for_change(s: Session, actor: Actor, kind: str, key: str) -> Any:
    rules.ensure_signed_in(actor, f"change {kind}s")
    rec = load(s, actor, kind, key)
    if not rules.can_write(actor, rec.owner_group):
        raise PermissionDenied(
            f"Only members of {rec.owner_group!r} (or data stewards) change {kind} {key!r}."
        )
    return rec


def _ownable_fields(model: Any) -> FieldMap:
    return {
        "ownerGroup": Col(model.owner_group), "accessGroups": JsonList(model.access_groups),
        "instrumentGroup": Col(model.instrument_group), "isPublished": Col(model.is_published),
        "createdBy": Col(model.created_by), "createdAt": Col(model.created_at),
        "updatedBy": Col(model.updated_by), "updatedAt": Col(model.updated_at),
    }  # fmt: skip


def _find(s: Session, actor: Actor, model: Any, fields: FieldMap, flt: Filter, key: Any) -> list[Any]:
    dialect = dialect_of(s)
    q = select(model).where(rules.ownable_visibility(actor, model, dialect))
    return list(s.scalars(filtered(q, flt, fields, dialect, default_order=[model.created_at, key])))


# --- samples --------------------------------------------------------------------------------------------

SAMPLE_FIELDS = {
    "sampleName": "sample_name", "owner": "owner", "ownerGroup": "owner_group", "accessGroups": "access_groups",
    "instrumentGroup": "instrument_group", "description": "description",
    "sampleCharacteristics": "sample_characteristics", "proposalId": "proposal_id",
    "parentSampleId": "parent_sample_id", "type": "type", "isPublished": "is_published",
}  # fmt: skip


def _apply(rec: Any, data: Any, fields: dict[str, str]) -> list[str]:
    for name in data.model_fields_set:
        if name in fields:
            value = getattr(data, name)
            if name == "accessGroups" and value is None:
                value = []
            if name == "isPublished":
                value = bool(value)
            setattr(rec, fields[name], value)
    return sorted(data.model_fields_set)


def create_sample(s: Session, actor: Actor, dto_in: dict[str, Any]) -> dict[str, Any]:
    rules.ensure_signed_in(actor, "create samples")
    data = dto.parse(dto.SampleIn, dto_in, what="sample")
    assert isinstance(data, dto.SampleIn)
    personal_data.check(scan_metadata(dto_in, prefix="sample"), "sample")
    dto.require(data, ("ownerGroup",), "sample")
    rules.ensure_may_own(actor, data.ownerGroup or "", "create samples")
    sid = data.sampleId or str(uuid.uuid4())
    now = utcnow()
    smp = Sample(
        sample_id=sid, access_groups=[], sample_characteristics={}, is_published=False,
        created_by=actor.username, created_at=now, updated_by=actor.username, updated_at=now,
    )  # fmt: skip
    _apply(smp, data, SAMPLE_FIELDS)
    smp.sample_characteristics = smp.sample_characteristics or {}
    return _create_once(s, actor, smp, s.get(Sample, sid), sample_dict, "sample", "sampleId", sid)


def get_sample(s: Session, actor: Actor, sample_id: str) -> dict[str, Any]:
    return sample_dict(load(s, actor, "sample", sample_id))


def update_sample(s: Session, actor: Actor, sample_id: str, dto_in: dict[str, Any]) -> dict[str, Any]:
    smp = load_for_change(s, actor, "sample", sample_id)
    data = dto.parse(dto.SampleIn, dto_in, what="sample")
    assert isinstance(data, dto.SampleIn)
    personal_data.check(scan_metadata(dto_in, prefix="sample"), "sample")
    if data.sampleId not in (None, sample_id):
        raise InvalidInput("sampleId: the id of a sample cannot change", field="sampleId")
    if "ownerGroup" in data.model_fields_set and data.ownerGroup != smp.owner_group:
        rules.ensure_may_own(actor, data.ownerGroup or "", "give samples to a group")
    changed = _apply(smp, data, SAMPLE_FIELDS)
    smp.updated_by, smp.updated_at = actor.username, utcnow()
    audit.record(s, actor, "update", "sample", sample_id, {"fields": changed})
    return sample_dict(smp)


SAMPLE_QUERY: FieldMap = {
    "sampleId": Col(Sample.sample_id), "sampleName": Col(Sample.sample_name), "owner": Col(Sample.owner),
    "description": Col(Sample.description), "sampleCharacteristics": JsonDoc(Sample.sample_characteristics),
    "proposalId": Col(Sample.proposal_id), "parentSampleId": Col(Sample.parent_sample_id),
    "type": Col(Sample.type), **_ownable_fields(Sample),
}  # fmt: skip


def find_samples(s: Session, actor: Actor, flt: Filter) -> list[dict[str, Any]]:
    rows = _find(s, actor, Sample, SAMPLE_QUERY, flt, Sample.sample_id)
    return [project(sample_dict(x), flt.fields) for x in rows]


def _by_id(s: Session, actor: Actor, model: Any, key: Any, as_dict: Any, ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    dialect = dialect_of(s)
    for i in range(0, len(ids), 500):
        q = select(model).where(key.in_(ids[i : i + 500]), rules.ownable_visibility(actor, model, dialect))
        for rec in s.scalars(q):
            d = as_dict(rec)
            out[str(getattr(rec, key.key))] = d
    return out


def samples_by_id(s: Session, actor: Actor, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The samples with these ids the actor may read, by id (one query per 500 ids)."""
    return _by_id(s, actor, Sample, Sample.sample_id, sample_dict, ids)


def proposals_by_id(s: Session, actor: Actor, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The proposals with these ids the actor may read, by id."""
    return _by_id(s, actor, Proposal, Proposal.proposal_id, proposal_dict, ids)


def instrument_map(s: Session, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The instruments with these pids (created here first, then the registry's), by pid."""
    from halric.registry.models import Instrument

    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for reg in s.scalars(select(Instrument).where(Instrument.id.in_(chunk))):
            out[reg.id] = registry_instrument_dict(reg)
        for own in s.scalars(select(CatalogInstrument).where(CatalogInstrument.pid.in_(chunk))):
            out[own.pid] = instrument_dict(own)
    return out


def visible_samples(s: Session, actor: Actor, ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for sid in ids:
        rec = s.get(Sample, sid)
        if rec is not None and _readable(actor, rec):
            out.append(sample_dict(rec))
    return out


# --- proposals ------------------------------------------------------------------------------------------

PROPOSAL_FIELDS = {
    "title": "title", "abstract": "abstract", "email": "email", "firstname": "firstname",
    "lastname": "lastname", "pi_email": "pi_email", "pi_firstname": "pi_firstname",
    "pi_lastname": "pi_lastname", "ownerGroup": "owner_group", "accessGroups": "access_groups",
    "instrumentGroup": "instrument_group", "startTime": "start_time", "endTime": "end_time", "type": "type",
    "parentProposalId": "parent_proposal_id", "metadata": "proposal_metadata", "isPublished": "is_published",
    "pilotProjectId": "pilot_project_id", "embargoYears": "embargo_years", "neverRelease": "never_release",
}  # fmt: skip


def _apply_proposal(p: Proposal, data: dto.ProposalIn, actor: Actor) -> list[str]:
    given = data.model_fields_set
    if {"embargoYears", "neverRelease"} & given and not actor.has_role(*POLICY_ROLES):
        raise PermissionDenied("Only data stewards and coordinators set a proposal's embargo policy.")
    changed = _apply(p, data, PROPOSAL_FIELDS)
    periods = data.measurementPeriodList if "measurementPeriodList" in given else data.MeasurementPeriodList
    if {"measurementPeriodList", "MeasurementPeriodList"} & given:
        p.measurement_periods = [
            dto.compact({**m.model_dump(), "start": dto.iso(m.start), "end": dto.iso(m.end)})
            for m in periods or []
        ]
    p.never_release = bool(p.never_release)
    return changed


def create_proposal(s: Session, actor: Actor, dto_in: dict[str, Any]) -> dict[str, Any]:
    rules.ensure_signed_in(actor, "create proposals")
    data = dto.parse(dto.ProposalIn, dto_in, what="proposal")
    assert isinstance(data, dto.ProposalIn)
    dto.require(data, ("proposalId", "ownerGroup", "email"), "proposal")
    rules.ensure_may_own(actor, data.ownerGroup or "", "create proposals")
    pid = data.proposalId or ""
    _check_pilot_fields(actor, data, pid)
    now = utcnow()
    p = Proposal(
        proposal_id=pid, title="", access_groups=[], measurement_periods=[], is_published=False,
        never_release=False, created_by=actor.username, created_at=now, updated_by=actor.username, updated_at=now,
    )  # fmt: skip
    _apply_proposal(p, data, actor)
    p.title = p.title or ""
    return _create_once(s, actor, p, s.get(Proposal, pid), proposal_dict, "proposal", "proposalId", pid)


def get_proposal(s: Session, actor: Actor, proposal_id: str) -> dict[str, Any]:
    return proposal_dict(load(s, actor, "proposal", proposal_id))


def update_proposal(s: Session, actor: Actor, proposal_id: str, dto_in: dict[str, Any]) -> dict[str, Any]:
    p = load_for_change(s, actor, "proposal", proposal_id)
    data = dto.parse(dto.ProposalIn, dto_in, what="proposal")
    assert isinstance(data, dto.ProposalIn)
    if data.proposalId not in (None, proposal_id):
        raise InvalidInput("proposalId: the id of a proposal cannot change", field="proposalId")
    if "ownerGroup" in data.model_fields_set and data.ownerGroup != p.owner_group:
        if p.pilot_project_id and not rules.is_curator(actor):
            raise PermissionDenied(
                f"ownerGroup: {proposal_id} is a pilot project's proposal; it stays with the project's group "
                f"{p.owner_group!r}, which the hub keeps in step with the team.",
                field="ownerGroup",
            )
        rules.ensure_may_own(actor, data.ownerGroup or "", "give proposals to a group")
    if "pilotProjectId" in data.model_fields_set and data.pilotProjectId != p.pilot_project_id:
        _check_pilot_fields(actor, data, proposal_id)
    before = (p.embargo_years, p.never_release)
    changed = _apply_proposal(p, data, actor)
    p.updated_by, p.updated_at = actor.username, utcnow()
    audit.record(s, actor, "update", "proposal", proposal_id, {"fields": changed})
    if (p.embargo_years, p.never_release) != before:
        set_proposal_policy(s, actor, proposal_id, years=p.embargo_years, never_release=p.never_release)
    return proposal_dict(p)


def _check_pilot_fields(actor: Actor, data: dto.ProposalIn, proposal_id: str) -> None:
    """The proposals of pilot projects are made by the hub when a pilot starts (``put_pilot_proposal``);
    through the API only data stewards make or relabel them."""
    if rules.is_curator(actor):
        return
    if proposal_id.upper().startswith(PILOT_PREFIX):
        raise PermissionDenied(
            f"proposalId: ids starting with {PILOT_PREFIX} belong to the hub's pilot projects and are "
            "made when a pilot starts; choose another id.",
            field="proposalId",
        )
    if "pilotProjectId" in data.model_fields_set and data.pilotProjectId:
        raise PermissionDenied(
            "pilotProjectId: the hub links a proposal to its pilot project itself; leave this field out.",
            field="pilotProjectId",
        )


PILOT_FIELDS = ("title", "abstract", "email", "firstname", "lastname", "pi_email", "pi_firstname",
                "pi_lastname", "start_time", "end_time", "type", "proposal_metadata", "confidential",
                "allowed_countries")  # fmt: skip


def put_pilot_proposal(
    s: Session,
    actor: Actor,
    proposal_id: str,
    *,
    pilot_project_id: str,
    owner_group: str,
    fields: dict[str, Any],
) -> Proposal:
    """Create the proposal of a pilot project, or bring it in line with the project (``fields``: model
    attributes from ``PILOT_FIELDS``). For ``halric.projects``, which checks the actor's right to the
    project first. A proposal with this id that belongs to something else is a Conflict. Audited."""
    unknown = set(fields) - set(PILOT_FIELDS)
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]}: not a field of a pilot project's proposal")
    now = utcnow()
    p = s.get(Proposal, proposal_id)
    if p is None:
        p = Proposal(
            proposal_id=proposal_id, access_groups=[], measurement_periods=[], is_published=False,
            never_release=False, created_by=actor.username, created_at=now,
        )  # fmt: skip
        p.pilot_project_id, p.owner_group = pilot_project_id, owner_group
        for k, v in fields.items():
            setattr(p, k, v)
        p.title = p.title or proposal_id
        p.updated_by, p.updated_at = actor.username, now
        secret = bool(p.confidential)
        p.confidential = False
        s.add(p)
        s.flush()
        audit.record(s, actor, "create", "proposal", proposal_id,
                     {"pilotProjectId": pilot_project_id, "ownerGroup": owner_group})  # fmt: skip
        if secret:  # datasets that named the proposal before it existed become the project's secret too
            confidential.mark_proposal(s, actor, p, True)
        return p
    if p.pilot_project_id != pilot_project_id:
        raise Conflict(
            f"proposalId: a proposal {proposal_id!r} exists already and is not pilot project "
            f"{pilot_project_id}'s; a data steward must rename or remove it first",
            field="proposalId",
        )
    changed = []
    if "confidential" in fields and bool(fields["confidential"]) != bool(p.confidential):
        confidential.mark_proposal(s, actor, p, bool(fields["confidential"]))  # audited, with its datasets
    for k, v in {"pilot_project_id": pilot_project_id, "owner_group": owner_group, **fields}.items():
        if getattr(p, k) != v:
            setattr(p, k, v)
            changed.append(k)
    if changed:
        p.updated_by, p.updated_at = actor.username, now
        s.flush()
        audit.record(s, actor, "update", "proposal", proposal_id, {"fields": sorted(changed)})
    return p


def pilot_proposals(s: Session, ids: list[str]) -> list[Proposal]:
    """Of these proposal ids, the proposals of pilot projects, in the order given."""
    out = []
    for pid in dict.fromkeys(str(i) for i in ids):
        p = s.get(Proposal, pid)
        if p is not None and p.pilot_project_id:
            out.append(p)
    return out


PROPOSAL_QUERY: FieldMap = {
    "proposalId": Col(Proposal.proposal_id), "title": Col(Proposal.title), "abstract": Col(Proposal.abstract),
    "email": Col(Proposal.email), "firstname": Col(Proposal.firstname), "lastname": Col(Proposal.lastname),
    "pi_email": Col(Proposal.pi_email), "pi_firstname": Col(Proposal.pi_firstname),
    "pi_lastname": Col(Proposal.pi_lastname), "startTime": Col(Proposal.start_time),
    "endTime": Col(Proposal.end_time), "type": Col(Proposal.type),
    "parentProposalId": Col(Proposal.parent_proposal_id), "metadata": JsonDoc(Proposal.proposal_metadata),
    "MeasurementPeriodList": JsonList(Proposal.measurement_periods),
    "measurementPeriodList": JsonList(Proposal.measurement_periods),
    "pilotProjectId": Col(Proposal.pilot_project_id), "embargoYears": Col(Proposal.embargo_years),
    "neverRelease": Col(Proposal.never_release), **_ownable_fields(Proposal),
}  # fmt: skip


def find_proposals(s: Session, actor: Actor, flt: Filter) -> list[dict[str, Any]]:
    rows = _find(s, actor, Proposal, PROPOSAL_QUERY, flt, Proposal.proposal_id)
    return [project(proposal_dict(x), flt.fields) for x in rows]


def visible_proposals(s: Session, actor: Actor, ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for pid in ids:
        rec = s.get(Proposal, pid)
        if rec is not None and _readable(actor, rec):
            out.append(proposal_dict(rec))
    return out


# --- instruments ----------------------------------------------------------------------------------------


def all_instruments(s: Session) -> list[dict[str, Any]]:
    from halric.registry.models import Instrument

    own = [instrument_dict(i) for i in s.scalars(select(CatalogInstrument).order_by(CatalogInstrument.pid))]
    reg = [registry_instrument_dict(i) for i in s.scalars(select(Instrument).order_by(Instrument.id))]
    return own + reg


OWN_INSTRUMENT_QUERY: FieldMap = {
    "pid": Col(CatalogInstrument.pid), "uniqueName": Col(CatalogInstrument.unique_name),
    "name": Col(CatalogInstrument.name), "customMetadata": JsonDoc(CatalogInstrument.custom_metadata),
}  # fmt: skip


def _registry_instrument_query() -> FieldMap:
    from sqlalchemy import literal

    from halric.registry.models import Instrument, InstrumentTechnique

    return {
        "pid": Col(Instrument.id), "uniqueName": Col(Instrument.id), "name": Col(Instrument.name),
        "customMetadata.source": Col(literal("halric-registry")),
        "customMetadata.infrastructure": Col(Instrument.infrastructure_id),
        "customMetadata.organisation": Col(Instrument.organisation_id),
        "customMetadata.country": Col(Instrument.country), "customMetadata.city": Col(Instrument.city),
        "customMetadata.status": Col(Instrument.status), "customMetadata.url": Col(Instrument.url),
        "customMetadata.techniques": Related(
            InstrumentTechnique.technique_id, InstrumentTechnique.instrument_id == Instrument.id
        ),
    }  # fmt: skip


def find_instruments(s: Session, flt: Filter) -> list[dict[str, Any]]:
    """The instruments created here, then the registry's, each filtered in SQL. With an ``order`` the two
    (at most skip + limit of each) are merged in that order."""
    from halric.registry.models import Instrument

    dialect = dialect_of(s)
    window = Filter(where=flt.where, order=flt.order, skip=0, limit=None)
    if flt.limit is not None:
        window.limit = flt.skip + flt.limit
    own_q = filtered(
        select(CatalogInstrument),
        window,
        OWN_INSTRUMENT_QUERY,
        dialect,
        default_order=[CatalogInstrument.pid],
    )
    reg_q = filtered(
        select(Instrument), window, _registry_instrument_query(), dialect, default_order=[Instrument.id]
    )
    docs = [instrument_dict(i) for i in s.scalars(own_q)]
    docs += [registry_instrument_dict(i) for i in s.scalars(reg_q)]
    for name, desc in reversed(flt.order):
        docs.sort(key=lambda d, n=name: (d.get(n) is None, str(d.get(n))), reverse=desc)
    docs = docs[flt.skip :]
    if flt.limit is not None:
        docs = docs[: flt.limit]
    return [project(d, flt.fields) for d in docs]


def get_instrument(s: Session, pid: str) -> dict[str, Any]:
    from halric.registry.models import Instrument

    own = s.get(CatalogInstrument, pid)
    if own is not None:
        return instrument_dict(own)
    reg = s.get(Instrument, pid)
    if reg is not None:
        return registry_instrument_dict(reg)
    raise NotFound(f"No instrument with pid {pid!r}.")


def instruments_by_id(s: Session, ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for pid in ids:
        try:
            out.append(get_instrument(s, pid))
        except NotFound:
            continue
    return out


def create_instrument(s: Session, actor: Actor, dto_in: dict[str, Any]) -> dict[str, Any]:
    rules.ensure_signed_in(actor, "create instruments")
    if not actor.has_role(*INSTRUMENT_ROLES):
        raise PermissionDenied("Only facility staff, data stewards and administrators create instruments.")
    data = dto.parse(dto.InstrumentIn, dto_in, what="instrument")
    assert isinstance(data, dto.InstrumentIn)
    dto.require(data, ("name",), "instrument")
    pid = data.pid or str(uuid.uuid4())
    unique = data.uniqueName or pid
    try:
        get_instrument(s, pid)
        raise Conflict(f"pid: an instrument with pid {pid!r} already exists", field="pid")
    except NotFound:
        pass
    if s.scalar(select(CatalogInstrument).where(CatalogInstrument.unique_name == unique)) is not None:
        raise Conflict(f"uniqueName: an instrument named {unique!r} already exists", field="uniqueName")
    now = utcnow()
    inst = CatalogInstrument(
        pid=pid, unique_name=unique, name=data.name or "", custom_metadata=data.customMetadata or {},
        created_by=actor.username, created_at=now, updated_by=actor.username, updated_at=now,
    )  # fmt: skip
    s.add(inst)
    s.flush()
    audit.record(s, actor, "create", "instrument", pid, {"name": inst.name})
    return instrument_dict(inst)


def update_instrument(s: Session, actor: Actor, pid: str, dto_in: dict[str, Any]) -> dict[str, Any]:
    rules.ensure_signed_in(actor, "change instruments")
    inst = s.get(CatalogInstrument, pid)
    if inst is None:
        get_instrument(s, pid)  # NotFound if it is nowhere
        raise PermissionDenied(f"Instrument {pid!r} comes from the registry; change it there (/registry).")
    if not actor.has_role(*INSTRUMENT_ROLES):
        raise PermissionDenied("Only facility staff, data stewards and administrators change instruments.")
    data = dto.parse(dto.InstrumentIn, dto_in, what="instrument")
    assert isinstance(data, dto.InstrumentIn)
    if data.pid not in (None, pid):
        raise InvalidInput("pid: the pid of an instrument cannot change", field="pid")
    if data.name is not None:
        inst.name = data.name
    if data.uniqueName is not None:
        inst.unique_name = data.uniqueName
    if data.customMetadata is not None:
        inst.custom_metadata = data.customMetadata
    inst.updated_by, inst.updated_at = actor.username, utcnow()
    audit.record(s, actor, "update", "instrument", pid, {"fields": sorted(data.model_fields_set)})
    return instrument_dict(inst)


def _create_once(
    s: Session, actor: Actor, new: Any, existing: Any, as_dict: Any, kind: str, field: str, key: str
) -> dict[str, Any]:
    """Insert ``new``; an identical repeat of a readable record returns it (SciCat retries), else 409."""
    if existing is not None:
        if _readable(actor, existing) and dto.same_record(as_dict(existing), as_dict(new)):
            return as_dict(existing)
        raise Conflict(f"{field}: a {kind} with id {key!r} already exists", field=field)
    s.add(new)
    s.flush()
    audit.record(s, actor, "create", kind, key, {"ownerGroup": new.owner_group})
    return as_dict(new)


def set_proposal_policy(
    s: Session, actor: Actor, proposal_id: str, *, years: int | None, never_release: bool
) -> int:
    """Change a proposal's embargo policy and recompute the embargo end of its unpublished datasets."""
    p = load_for_change(s, actor, "proposal", proposal_id)
    p.embargo_years = years
    p.never_release = never_release
    pids = select(DatasetTerm.dataset_pid).where(
        DatasetTerm.kind == "proposal", DatasetTerm.value == proposal_id
    )
    n = 0
    site_years = settings_of(s).catalog_embargo_years
    for ds in s.scalars(select(Dataset).where(Dataset.pid.in_(pids), Dataset.is_published.is_(False))):
        ds.never_release = never_release
        ds.embargo_until = embargo_for(
            ds.creation_time, years, never_release, ds.created_at, site_years=site_years
        )
        n += 1
    audit.record(
        s, actor, "embargo-policy", "proposal", proposal_id,
        {"years": years, "neverRelease": never_release, "datasets": n},
    )  # fmt: skip
    return n
