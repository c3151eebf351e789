"""Registry JSON API: organisations, infrastructures, instruments, techniques, experts, export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query
from sqlalchemy.orm import Session

from halric.core.actor import Actor
from halric.match import service as matching
from halric.registry import service as reg
from halric.registry.schemas import (
    ExpertOut,
    InfrastructureDetailOut,
    InfrastructurePage,
    InstrumentOut,
    InstrumentPage,
    OrganisationDetailOut,
    OrganisationOut,
    OrganisationPage,
    TechniqueDetailOut,
    TechniquePage,
)
from halric.web.access import PUBLIC, SIGNED_IN
from halric.web.deps import DB
from halric.web.routing import attach

api = APIRouter(prefix="/api/registry", tags=["registry"])


def _page(items: list[dict[str, Any]], limit: int, offset: int) -> dict[str, Any]:
    return {"total": len(items), "limit": limit, "offset": offset, "items": items[offset : offset + limit]}


LIMIT = Query(50, ge=1, le=500, description="Page size")
OFFSET = Query(0, ge=0, description="Items to skip")


@api.get("/organisations", response_model=OrganisationPage, summary="Organisations (partners and others)")
def organisations(
    country: str | None = Query(None, max_length=2),
    kind: str | None = None,
    partner: bool | None = None,
    limit: int = LIMIT,
    offset: int = OFFSET,
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> dict[str, Any]:
    rows = reg.list_organisations(s, country=country, kind=kind, partner=partner)
    return _page([reg.organisation_dict(o) for o in rows], limit, offset)


@api.get(
    "/organisations/{org_id}",
    response_model=OrganisationDetailOut,
    summary="One organisation with its infrastructures",
)
def organisation(org_id: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
    o = reg.get_organisation(s, org_id)
    infra = reg.list_infrastructures(s, organisation=org_id)
    return {**reg.organisation_dict(o), "infrastructures": [i.id for i in infra]}


@api.post(
    "/organisations",
    status_code=201,
    response_model=OrganisationOut,
    summary="Add an organisation outside the partnership",
)
def add_organisation(
    body: reg.NewOrganisation, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    return reg.organisation_dict(reg.add_organisation(s, actor, body))


@api.get("/infrastructures", response_model=InfrastructurePage, summary="Infrastructures")
def infrastructures(
    country: str | None = Query(None, max_length=2),
    organisation: str | None = None,
    kind: str | None = None,
    limit: int = LIMIT,
    offset: int = OFFSET,
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> dict[str, Any]:
    rows = reg.list_infrastructures(s, country=country, organisation=organisation, kind=kind)
    return _page([reg.infrastructure_dict(i) for i in rows], limit, offset)


@api.get(
    "/infrastructures/{infra_id}",
    response_model=InfrastructureDetailOut,
    summary="One infrastructure with its instruments",
)
def infrastructure(infra_id: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
    i = reg.get_infrastructure(s, infra_id)
    insts = reg.search_instruments(s, reg.InstrumentFilter(infrastructure=infra_id))
    return {**reg.infrastructure_dict(i), "instruments": [reg.instrument_dict(x) for x in insts]}


@api.get("/instruments", response_model=InstrumentPage, summary="Instruments, filtered; operational first")
def instruments(
    country: str | None = Query(None, max_length=2, description="SE, DK, DE or NO"),
    organisation: str | None = None,
    infrastructure: str | None = None,
    technique: str | None = Query(None, description="technique id; narrower techniques included"),
    sample_type: str | None = None,
    status: str | None = None,
    access_route: str | None = None,
    q: str | None = Query(None, max_length=200, description="words in name or description"),
    limit: int = LIMIT,
    offset: int = OFFSET,
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> dict[str, Any]:
    f = reg.InstrumentFilter(
        country, organisation, infrastructure, technique, sample_type, status, access_route, q
    )
    return _page([reg.instrument_dict(i) for i in reg.search_instruments(s, f)], limit, offset)


@api.get("/instruments/{instrument_id}", response_model=InstrumentOut, summary="One instrument")
def instrument(instrument_id: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
    return reg.instrument_dict(reg.get_instrument(s, instrument_id))


@api.patch(
    "/instruments/{instrument_id}",
    response_model=InstrumentOut,
    summary="Update an instrument (coordinators, the facility's staff)",
)
def update_instrument(
    instrument_id: str,
    body: reg.InstrumentChanges,
    actor: Actor = Depends(SIGNED_IN),
    s: Session = DB,
) -> dict[str, Any]:
    return reg.instrument_dict(reg.update_instrument(s, actor, instrument_id, body))


@api.get("/techniques", response_model=TechniquePage, summary="Techniques (PaNET and the HALRIC extension)")
def techniques(
    q: str | None = Query(None, max_length=200),
    vocabulary: str | None = Query(None, pattern="^(panet|halric)$"),
    used: bool = Query(False, description="only techniques some instrument offers"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = OFFSET,
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> dict[str, Any]:
    rows = reg.search_techniques(s, q, vocabulary)
    usage = reg.technique_usage(s)
    if used:
        rows = [t for t in rows if usage.get(t.id)]
    parents = reg.parents_map(s)
    items = [
        {**reg.technique_dict(t, parents.get(t.id, [])), "instrument_count": usage.get(t.id, 0)} for t in rows
    ]
    return _page(items, limit, offset)


@api.get(
    "/techniques/{technique_id}",
    response_model=TechniqueDetailOut,
    summary="One technique with every instrument offering it",
)
def technique(technique_id: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
    t = reg.get_technique(s, technique_id)
    parents = reg.parents_map(s)
    children = reg.children_map(s)
    insts = reg.search_instruments(s, reg.InstrumentFilter(technique=technique_id))
    return {
        **reg.technique_dict(t, parents.get(t.id, [])),
        "children": sorted(children.get(t.id, [])),
        "instruments": [reg.instrument_dict(i) for i in insts],
    }


@api.get(
    "/experts", response_model=list[ExpertOut], summary="Public expert profiles, optionally for one technique"
)
def experts(
    technique: str | None = None, actor: Actor = Depends(PUBLIC), s: Session = DB
) -> list[dict[str, Any]]:
    rows = reg.list_experts(s, technique=technique)
    orcids = matching.expert_orcids(s, rows)
    return [
        {
            "display_name": e.display_name, "organisation": e.organisation_id, "techniques": e.techniques,
            "sample_types": e.sample_types, "languages": e.languages, "countries_served": e.countries_served,
            "bio": e.bio, "contact_email": e.contact_email, "orcid": orcids.get(e.id),
        }
        for e in rows
    ]  # fmt: skip


@api.get("/export", summary="The whole registry as one JSON object")
def export(actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
    return reg.export(s)


def register(app: FastAPI) -> None:
    attach(app, api)
