"""Registry pages: browse and filter, one page per instrument, infrastructure, organisation, technique; map."""

from __future__ import annotations

from dataclasses import astuple
from typing import Annotated, Any, NamedTuple
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from halric.core.actor import Actor
from halric.core.errors import HalricError
from halric.match import service as matching
from halric.registry import service as reg
from halric.registry.generation import AnswerCache, generation
from halric.registry.vocab import ACCESS_ROUTES, COUNTRIES, SAMPLE_TYPES, STATUS_LABELS, STATUSES
from halric.web.access import PUBLIC, SIGNED_IN
from halric.web.deps import DB, FORM, FormData
from halric.web.errors import form_error
from halric.web.forms import FormErrors, from_exception, size_errors
from halric.web.routing import attach
from halric.web.templating import TEMPLATES, render

pages = APIRouter(prefix="/registry", include_in_schema=False)

TEMPLATES.env.globals.update(
    COUNTRIES=COUNTRIES, STATUS_LABELS=STATUS_LABELS, ACCESS_ROUTES=ACCESS_ROUTES, SAMPLE_TYPES=SAMPLE_TYPES
)


PAGE_SIZE = 24
SORTS = {
    "": "Operational first", "name": "Name A–Z", "name:desc": "Name Z–A", "country": "Country",
    "organisation": "Organisation",
}  # fmt: skip


def _sorted(rows: list[reg.InstrumentRow], sort: str) -> list[reg.InstrumentRow]:
    """The instruments in the chosen order (the service's order — operational first — by default)."""
    keys = {
        "name": lambda i: i.name.lower(),
        "country": lambda i: (COUNTRIES.get(i.country, i.country), i.name.lower()),
        "organisation": lambda i: (i.organisation_label.lower(), i.name.lower()),
    }
    field, _, direction = sort.partition(":")
    if field not in keys:
        return rows
    return sorted(rows, key=keys[field], reverse=direction == "desc")


class _Option(NamedTuple):
    id: str
    name: str


def _furniture(s: Session) -> dict[str, Any]:
    """What the page shows whatever the filters: the choices of the filter form and the counts."""
    from sqlalchemy import func, select

    from halric.registry.models import Infrastructure, Organisation, Technique

    usage = reg.technique_usage(s)
    techniques = s.execute(select(Technique.id, Technique.label)).all()
    organisations = s.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.country, Organisation.name)
    )
    return {
        "organisations": [_Option(*o) for o in organisations],
        "techniques": sorted(((tid, label) for tid, label in techniques if usage.get(tid)), key=lambda x: x[1].lower()),
        "counts": {
            "organisations": s.scalar(select(func.count()).select_from(Organisation)),
            "infrastructures": s.scalar(select(func.count()).select_from(Infrastructure)),
        },
    }  # fmt: skip


# Per process, under the registry's generation (halric.registry.generation): the ordered ids of each
# filter and sort asked for, and the page's furniture. Nothing here depends on who asks (the registry is
# public); who may edit which instrument is worked out for the shown page on every request.
LISTS = AnswerCache(size=256)


@pages.get("", response_class=HTMLResponse)
def index(
    request: Request,
    q: str | None = None,
    country: str | None = None,
    organisation: str | None = None,
    technique: str | None = None,
    sample_type: str | None = None,
    status: str | None = None,
    access_route: str | None = None,
    sort: str = Query("", max_length=40),
    page: int = Query(1, ge=1, le=10000),
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> Response:
    f = reg.InstrumentFilter(
        country or None, organisation or None, None, technique or None, sample_type or None, status or None,
        access_route or None, (q or "").strip() or None,
    )  # fmt: skip
    sort = sort if sort in SORTS else ""
    url, gen = str(s.get_bind().url), generation(s)
    error, key = None, ("ids", astuple(f), sort)
    ids = LISTS.get(url, gen, key)
    if ids is None:
        try:
            ids = tuple(r.id for r in _sorted(reg.instrument_rows(s, f), sort))
            LISTS.put(url, gen, key, ids)
        except HalricError as exc:
            ids, error = (), exc.detail
    furniture = LISTS.get(url, gen, "furniture")
    if furniture is None:
        furniture = _furniture(s)
        LISTS.put(url, gen, "furniture", furniture)
    pages_total = max(1, (len(ids) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(page, pages_total)
    shown = reg.instruments_by_id(s, list(ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]))
    kept = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return render(
        request,
        "registry/index.html",
        {
            "rows": shown, "total": len(ids), "page": page, "pages_total": pages_total, "sort": sort,
            "sorts": SORTS, "first": (page - 1) * PAGE_SIZE + 1,
            "page_url": lambda n: "/registry?" + urlencode({**kept, "page": n}),
            "editable": set() if actor.is_anonymous else {i.id for i in shown if reg.can_edit_instrument(actor, i)},
            "f": f, "error": error, "statuses": STATUSES, **furniture,
        },
    )  # fmt: skip


@pages.get("/instruments/{instrument_id}", response_class=HTMLResponse)
def instrument(
    request: Request, instrument_id: str, actor: Actor = Depends(PUBLIC), s: Session = DB
) -> Response:
    inst = reg.get_instrument(s, instrument_id)
    techs = [reg.get_technique(s, t) for t in inst.technique_ids]
    return render(
        request, "registry/instrument.html",
        {"inst": inst, "techs": techs, "can_edit": reg.can_edit_instrument(actor, inst) and not actor.is_anonymous},
    )  # fmt: skip


@pages.get("/instruments/{instrument_id}/edit", response_class=HTMLResponse)
def instrument_edit_form(
    request: Request, instrument_id: str, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> Response:
    inst = reg.get_instrument(s, instrument_id)
    if not reg.can_edit_instrument(actor, inst):
        from halric.core.errors import PermissionDenied

        raise PermissionDenied("Only coordinators and the facility's own staff edit this instrument.")
    return render(request, "registry/instrument_edit.html", {"inst": inst, "statuses": STATUSES})


@pages.post("/instruments/{instrument_id}/edit", response_class=HTMLResponse)
def instrument_edit(
    request: Request,
    instrument_id: str,
    status: Annotated[str, Form()],
    good_for: Annotated[str, Form(max_length=5000)],
    typical_samples: Annotated[str, Form(max_length=2000)] = "",
    access_routes: Annotated[list[str] | None, Form()] = None,
    url: Annotated[str, Form(max_length=500)] = "",
    contact_url: Annotated[str, Form(max_length=500)] = "",
    contact_email: Annotated[str, Form(max_length=320)] = "",
    actor: Actor = Depends(SIGNED_IN),
) -> Response:
    db = request.app.state.db
    try:
        fields = {
            "status": status,
            "good_for": good_for.strip(),
            "typical_samples": [x.strip() for x in typical_samples.split(";") if x.strip()],
            "access_routes": access_routes or [],
            "contact_url": contact_url or None,
            "contact_email": contact_email or None,
        }
        if url.strip():
            fields["url"] = url.strip()
        changes = reg.InstrumentChanges(**fields)  # fmt: skip
        with db.session() as s:
            reg.update_instrument(s, actor, instrument_id, changes)
    except (ValidationError, HalricError) as exc:
        msg = form_error(exc)
        if isinstance(exc, HalricError) and exc.status in (403, 404):
            raise
        with db.session() as s:
            inst = reg.get_instrument(s, instrument_id)
            return render(
                request, "registry/instrument_edit.html", {"inst": inst, "statuses": STATUSES, "error": msg},
                status_code=400,
            )  # fmt: skip
    return RedirectResponse(f"/registry/instruments/{instrument_id}?saved=1", status_code=303)


@pages.get("/infrastructures", response_class=HTMLResponse)
def infrastructures(
    request: Request, country: str | None = None, actor: Actor = Depends(PUBLIC), s: Session = DB
) -> Response:
    rows = reg.list_infrastructures(s, country=country or None)
    counts = {i.id: len(reg.search_instruments(s, reg.InstrumentFilter(infrastructure=i.id))) for i in rows}
    return render(
        request, "registry/infrastructures.html", {"rows": rows, "counts": counts, "country": country}
    )


@pages.get("/infrastructures/{infra_id}", response_class=HTMLResponse)
def infrastructure(
    request: Request, infra_id: str, actor: Actor = Depends(PUBLIC), s: Session = DB
) -> Response:
    infra = reg.get_infrastructure(s, infra_id)
    insts = reg.search_instruments(s, reg.InstrumentFilter(infrastructure=infra_id))
    partners = [reg.get_organisation(s, p) for p in infra.partner_ids]
    return render(
        request, "registry/infrastructure.html", {"infra": infra, "insts": insts, "partners": partners}
    )


@pages.get("/organisations", response_class=HTMLResponse)
def organisations(request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    rows = reg.list_organisations(s)
    return render(request, "registry/organisations.html", {"rows": rows})


ORG_LABELS = {"id": "Short id", "name": "Name", "country": "Country code", "city": "City", "kind": "Kind",
              "url": "Web site", "ror": "ROR id"}  # fmt: skip


@pages.get("/organisations/new", response_class=HTMLResponse)
def organisation_form(request: Request, actor: Actor = Depends(SIGNED_IN)) -> Response:
    back = _safe_back(request.query_params.get("back", ""))
    return render(request, "registry/organisation_new.html",
                  {"form": {}, "errors": FormErrors(), "kinds": reg.ORGANISATION_KINDS, "back": back})  # fmt: skip


def _safe_back(back: str) -> str:
    """Only a page of this hub (the application form that linked here) to go back to."""
    return back if back.startswith("/") and not back.startswith("//") else ""


@pages.post("/organisations/new", response_class=HTMLResponse)
def organisation_create(
    request: Request, actor: Actor = Depends(SIGNED_IN), posted: FormData = FORM
) -> Response:
    form = {k: str(v) for k, v in posted.items()}
    back = _safe_back(form.get("back", ""))
    errors = size_errors(form, limit=2000)
    try:
        if not errors:
            data = reg.NewOrganisation(
                id=form.get("id", "").strip().lower(), name=form.get("name", "").strip(),
                country=form.get("country", "").strip().upper(), kind=form.get("kind", "company"),
                city=form.get("city", "").strip() or None, url=form.get("url", "").strip() or None,
                ror=form.get("ror", "").strip() or None,
            )  # fmt: skip
            with request.app.state.db.session() as s:
                oid = reg.add_organisation(s, actor, data).id
    except (ValidationError, HalricError) as exc:
        errors = from_exception(exc, labels=ORG_LABELS)
    if errors:
        return render(request, "registry/organisation_new.html",
                      {"form": form, "errors": errors, "kinds": reg.ORGANISATION_KINDS, "back": back}, status_code=400)  # fmt: skip
    if back:
        return RedirectResponse(back, status_code=303)
    return RedirectResponse(f"/registry/organisations/{oid}", status_code=303)


@pages.get("/organisations/{org_id}", response_class=HTMLResponse)
def organisation(request: Request, org_id: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    org = reg.get_organisation(s, org_id)
    infras = reg.list_infrastructures(s, organisation=org_id)
    insts = reg.search_instruments(s, reg.InstrumentFilter(organisation=org_id))
    return render(request, "registry/organisation.html", {"org": org, "infras": infras, "insts": insts})


@pages.get("/techniques", response_class=HTMLResponse)
def techniques(
    request: Request, all: bool = False, actor: Actor = Depends(PUBLIC), s: Session = DB
) -> Response:
    tree = reg.technique_tree(s, used_only=not all)
    return render(request, "registry/techniques.html", {"tree": tree, "all": all})


@pages.get("/techniques/{technique_id}", response_class=HTMLResponse)
def technique(
    request: Request, technique_id: str, actor: Actor = Depends(PUBLIC), s: Session = DB
) -> Response:
    t = reg.get_technique(s, technique_id)
    parents = [reg.get_technique(s, p) for p in reg.parents_map(s).get(t.id, [])]
    children = [reg.get_technique(s, c) for c in reg.children_map(s).get(t.id, [])]
    insts = reg.search_instruments(s, reg.InstrumentFilter(technique=technique_id))
    complements = [
        reg.get_technique(s, c)
        for c in (t.knowledge or {}).get("complements", [])
        if s.get(type(t), c) is not None
    ]
    experts = reg.list_experts(s, technique=technique_id)
    return render(
        request, "registry/technique.html",
        {"t": t, "parents": parents, "children": sorted(children, key=lambda c: c.label), "insts": insts,
         "complements": complements, "experts": experts, "orcids": matching.expert_orcids(s, experts)},
    )  # fmt: skip


@pages.get("/map", response_class=HTMLResponse)
def region_map(request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    from halric.web.regionmap import build_map

    return render(request, "registry/map.html", {"map": build_map(reg.list_infrastructures(s), s)})


@pages.get("/experts", response_class=HTMLResponse)
def experts(
    request: Request, technique: str | None = None, actor: Actor = Depends(PUBLIC), s: Session = DB
) -> Response:
    rows = reg.list_experts(s, technique=technique or None)
    ambassadors = reg.ambassadors_for(s, None)
    return render(
        request,
        "registry/experts.html",
        {"rows": rows, "technique": technique, "ambassadors": ambassadors,
         "orcids": matching.expert_orcids(s, rows + ambassadors)},
    )  # fmt: skip


def register(app: FastAPI) -> None:
    attach(app, pages)
    app.state.dashboard_cards += [
        {"roles": ["facility"], "title": "Your instruments",
         "text": "Keep your organisation's instruments up to date: status, what each is good for, access "
                 "routes and contacts.",
         "href_for": lambda a: f"/registry?organisation={a.organisation}" if a.organisation else None,
         "link": "Edit your instruments"},
    ]  # fmt: skip
    app.state.nav.extend(
        [
            ("Find", "Instruments", "/registry"),
            ("Find", "Techniques", "/registry/techniques"),
            ("Find", "Map", "/registry/map"),
        ]
    )
