"""Federation: federated search (page and JSON), site registration for coordinators, users' own site
tokens, and the PaNOSC search API over the hub's public catalog (``/panosc-api``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from halric import panosc
from halric.core.actor import Actor
from halric.core.answers import Out
from halric.core.errors import HalricError
from halric.federation import search as federated
from halric.federation import service
from halric.federation.crypto import TokenBox
from halric.federation.models import MODES
from halric.federation.schemas import SiteOut, format_group_map, parse_group_map
from halric.federation.sites import kinds
from halric.web.access import PUBLIC, SIGNED_IN, require
from halric.web.deps import DB
from halric.web.errors import form_error
from halric.web.routes.jobs import JobOut
from halric.web.routing import attach
from halric.web.templating import render

COORDINATORS = require("coordinator")
pages = APIRouter(prefix="/federation", include_in_schema=False)
api = APIRouter(prefix="/api/federation", tags=["federation"])
pan = APIRouter(prefix="/panosc-api", tags=["PaNOSC search API"])


def _box(request: Request) -> TokenBox:
    return TokenBox(request.app.state.settings.signing_key)


# --- federated search --------------------------------------------------------------------------------


async def _search(request: Request, actor: Actor, q: str, limit: int, local: bool) -> dict[str, Any]:
    return await federated.search_async(
        request.app.state.db, actor, _box(request), q, limit=limit, include_local=local, base_url=""
    )


@pages.get("/search", response_class=HTMLResponse)
async def search_page(
    request: Request,
    q: str = Query("", max_length=300),
    limit: int = Query(25, ge=1, le=200),
    actor: Actor = Depends(PUBLIC),
) -> Response:
    result = await _search(request, actor, q, limit, True) if q.strip() else None
    return render(request, "federation/search.html", {"q": q, "result": result})


@api.get(
    "/search", summary="Search the hub and every registered site at once (per-site status, merged results)"
)
async def search_api(
    request: Request,
    q: str = Query("", max_length=300, description="words to find"),
    limit: int = Query(25, ge=1, le=200),
    local: bool = Query(True, description="include the hub's own catalog"),
    actor: Actor = Depends(PUBLIC),
) -> dict[str, Any]:
    return await _search(request, actor, q, limit, local)


# --- sites (coordinators) ----------------------------------------------------------------------------


def _form_data(
    name: str, url: str, kind: str, mode: str, timeout: str, description: str, landing_template: str,
    group_map: str, enabled: bool, harvest_interval: str = "",
) -> dict[str, Any]:  # fmt: skip
    from halric.core.errors import InvalidInput

    try:
        seconds = float(timeout)
    except ValueError:
        raise InvalidInput("timeout: give a number of seconds, e.g. 5", field="timeout") from None
    interval: int | None = None
    if harvest_interval.strip():
        try:
            interval = int(harvest_interval)
        except ValueError:
            raise InvalidInput(
                "harvest_interval_minutes: give whole minutes, 0 for never, or leave it empty",
                field="harvest_interval_minutes",
            ) from None
    return {
        "name": name, "url": url, "kind": kind, "mode": mode, "timeout": seconds, "description": description,
        "landing_template": landing_template or None, "group_map": parse_group_map(group_map), "enabled": enabled,
        "harvest_interval_minutes": interval,
    }  # fmt: skip


def _sites_context(s: Session) -> dict[str, Any]:
    counts = service.record_counts(s)
    return {
        "sites": [service.site_dict(x, records=counts.get(x.id, 0)) for x in service.list_sites(s)],
        "kinds": kinds(),
        "modes": MODES,
    }


@pages.get("/sites", response_class=HTMLResponse)
def sites_page(request: Request, actor: Actor = Depends(COORDINATORS), s: Session = DB) -> Response:
    return render(
        request,
        "federation/sites.html",
        {**_sites_context(s), "form": {}, "flash": request.query_params.get("done")},
    )


@pages.post("/sites", response_class=HTMLResponse)
def sites_add(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    url: Annotated[str, Form(max_length=500)],
    kind: Annotated[str, Form(max_length=16)],
    mode: Annotated[str, Form(max_length=16)] = "live",
    timeout: Annotated[str, Form(max_length=10)] = "5",
    token: Annotated[str, Form(max_length=8000)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    landing_template: Annotated[str, Form(max_length=500)] = "",
    group_map: Annotated[str, Form(max_length=20000)] = "",
    harvest_interval_minutes: Annotated[str, Form(max_length=10)] = "",
    actor: Actor = Depends(COORDINATORS),
) -> Response:
    form = {"name": name, "url": url, "kind": kind, "mode": mode, "timeout": timeout, "description": description,
            "landing_template": landing_template, "group_map": group_map,
            "harvest_interval_minutes": harvest_interval_minutes}  # fmt: skip
    try:
        data = service.validate(
            _form_data(
                name,
                url,
                kind,
                mode,
                timeout,
                description,
                landing_template,
                group_map,
                True,
                harvest_interval_minutes,
            )
        )
        with request.app.state.db.session() as s:
            service.add_site(s, actor, _box(request), data, token=token.strip() or None)
    except HalricError as exc:
        with request.app.state.db.session() as s:
            ctx = _sites_context(s)
        return render(
            request, "federation/sites.html", {**ctx, "form": form, "error": form_error(exc)}, status_code=400
        )
    return RedirectResponse(f"/federation/sites?done=Added+{name}", status_code=303)


@pages.get("/sites/{name}", response_class=HTMLResponse)
def site_page(name: str, request: Request, actor: Actor = Depends(COORDINATORS), s: Session = DB) -> Response:
    site = service.get_site(s, name)
    d = service.site_dict(site, records=service.record_counts(s).get(site.id, 0))
    form = {
        **d,
        "group_map": format_group_map(d["group_map"]),
        "landing_template": d["landing_template"] or "",
        "harvest_interval_minutes": ""
        if d["harvest_interval_minutes"] is None
        else d["harvest_interval_minutes"],
    }
    return render(
        request, "federation/site.html",
        {"site": d, "form": form, "kinds": kinds(), "modes": MODES, "flash": request.query_params.get("done")},
    )  # fmt: skip


@pages.post("/sites/{name}", response_class=HTMLResponse)
def site_update(
    name: str,
    request: Request,
    new_name: Annotated[str, Form(alias="name", max_length=64)],
    url: Annotated[str, Form(max_length=500)],
    kind: Annotated[str, Form(max_length=16)],
    mode: Annotated[str, Form(max_length=16)] = "live",
    timeout: Annotated[str, Form(max_length=10)] = "5",
    token: Annotated[str, Form(max_length=8000)] = "",
    clear_token: Annotated[bool, Form()] = False,
    enabled: Annotated[bool, Form()] = False,
    description: Annotated[str, Form(max_length=2000)] = "",
    landing_template: Annotated[str, Form(max_length=500)] = "",
    group_map: Annotated[str, Form(max_length=20000)] = "",
    harvest_interval_minutes: Annotated[str, Form(max_length=10)] = "",
    actor: Actor = Depends(COORDINATORS),
) -> Response:
    form = {"name": new_name, "url": url, "kind": kind, "mode": mode, "timeout": timeout, "enabled": enabled,
            "description": description, "landing_template": landing_template, "group_map": group_map,
            "harvest_interval_minutes": harvest_interval_minutes}  # fmt: skip
    try:
        data = service.validate(
            _form_data(
                new_name,
                url,
                kind,
                mode,
                timeout,
                description,
                landing_template,
                group_map,
                enabled,
                harvest_interval_minutes,
            )
        )
        with request.app.state.db.session() as s:
            site = service.update_site(
                s, actor, _box(request), name, data, token=token.strip() or None, clear_token=clear_token
            )
            new = site.name
    except HalricError as exc:
        with request.app.state.db.session() as s:
            d = service.site_dict(service.get_site(s, name))
        return render(
            request, "federation/site.html",
            {"site": d, "form": form, "kinds": kinds(), "modes": MODES, "error": form_error(exc)}, status_code=400,
        )  # fmt: skip
    return RedirectResponse(f"/federation/sites/{new}?done=Saved", status_code=303)


@pages.post("/sites/{name}/delete")
def site_delete(name: str, actor: Actor = Depends(COORDINATORS), s: Session = DB) -> Response:
    service.remove_site(s, actor, name)
    return RedirectResponse(f"/federation/sites?done=Removed+{name}", status_code=303)


@pages.post("/sites/{name}/check")
def site_check(
    name: str, request: Request, actor: Actor = Depends(COORDINATORS), s: Session = DB
) -> Response:
    site = service.get_site(s, name)
    res = service.check_health(s, _box(request), [site])[0]
    return RedirectResponse(f"/federation/sites/{name}?done=Health:+{res['status']}", status_code=303)


def _queue_harvest(request: Request, s: Session, actor: Actor, name: str) -> Any:
    """A harvest job for the site, run by the worker after this request commits (one at a time)."""
    from halric.jobs import service as jobs

    site = service.get_site(s, name)
    service.ensure_manager(actor)
    st = request.app.state.settings
    return jobs.enqueue(
        s, actor, "federation.harvest", {"site": site.name}, max_attempts=st.job_max_retries + 1, dedupe=True
    )


@pages.post("/sites/{name}/harvest")
def site_harvest(
    name: str, request: Request, actor: Actor = Depends(COORDINATORS), s: Session = DB
) -> Response:
    job = _queue_harvest(request, s, actor, name)
    msg = f"Harvest queued as job {job.id}; the counts below change when it has run"
    return RedirectResponse(f"/federation/sites/{name}?done={msg.replace(' ', '+')}", status_code=303)


class SiteBody(BaseModel):
    name: str
    url: str
    kind: str
    mode: str = "live"
    timeout: float = 5.0
    enabled: bool = True
    description: str = ""
    landing_template: str | None = None
    group_map: dict[str, list[str]] = Field(default_factory=dict)
    harvest_interval_minutes: int | None = Field(
        default=None, description="minutes between scheduled harvests (empty: the hub's default; 0: never)"
    )
    token: str | None = Field(default=None, description="service token (stored encrypted, never shown again)")


class HarvestQueued(Out):
    job: JobOut


@api.get(
    "/sites", summary="Registered sites with their health and harvest state", response_model=list[SiteOut]
)
def api_sites(actor: Actor = Depends(COORDINATORS), s: Session = DB) -> list[dict[str, Any]]:
    return _sites_context(s)["sites"]


@api.post("/sites", status_code=201, summary="Register a site (coordinators)", response_model=SiteOut)
def api_site_add(
    body: SiteBody, request: Request, actor: Actor = Depends(COORDINATORS), s: Session = DB
) -> dict[str, Any]:
    data = service.validate(body.model_dump(exclude={"token"}))
    return service.site_dict(service.add_site(s, actor, _box(request), data, token=body.token))


@api.delete("/sites/{name}", status_code=204, summary="Remove a site and its harvested records")
def api_site_delete(name: str, actor: Actor = Depends(COORDINATORS), s: Session = DB) -> Response:
    service.remove_site(s, actor, name)
    return Response(status_code=204)


@api.post(
    "/sites/{name}/harvest",
    status_code=202,
    summary="Queue a harvest of the site into the local index (runs in a worker; see the job)",
    response_model=HarvestQueued,
)
def api_site_harvest(
    name: str, request: Request, actor: Actor = Depends(COORDINATORS), s: Session = DB
) -> dict[str, Any]:
    from halric.jobs.service import job_dict

    return {"job": job_dict(_queue_harvest(request, s, actor, name))}


# --- users' own tokens ---------------------------------------------------------------------------------


@pages.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    state = service.token_status(s, actor, _box(request))
    sites = [
        {"name": x.name, "url": x.url, "kind": x.kind, "token": state.get(x.id)}
        for x in service.list_sites(s)
    ]
    return render(
        request, "federation/tokens.html", {"sites": sites, "flash": request.query_params.get("done")}
    )


@pages.post("/tokens/{name}")
def tokens_set(
    name: str,
    request: Request,
    token: Annotated[str, Form(max_length=8000)],
    actor: Actor = Depends(SIGNED_IN),
    s: Session = DB,
) -> Response:
    service.set_user_token(s, actor, _box(request), name, token)
    return RedirectResponse(f"/federation/tokens?done=Token+for+{name}+stored", status_code=303)


@pages.post("/tokens/{name}/delete")
def tokens_delete(name: str, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    service.remove_user_token(s, actor, name)
    return RedirectResponse(f"/federation/tokens?done=Token+for+{name}+removed", status_code=303)


class TokenBody(BaseModel):
    token: str = Field(min_length=1, max_length=8000)


@api.put("/sites/{name}/token", status_code=204, summary="Store your own token for a site (encrypted)")
def api_token_set(
    name: str, body: TokenBody, request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> Response:
    service.set_user_token(s, actor, _box(request), name, body.token)
    return Response(status_code=204)


@api.delete("/sites/{name}/token", status_code=204, summary="Forget your own token for a site")
def api_token_delete(name: str, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    service.remove_user_token(s, actor, name)
    return Response(status_code=204)


# --- the PaNOSC search API (public data only) ------------------------------------------------------------

FILTER = Query(
    None, description='LoopBack filter, e.g. {"where": {...}, "include": [...], "limit": 10, "skip": 0}'
)
WHERE = Query(None, description='LoopBack where, e.g. {"title": {"ilike": "lysozyme"}}')
TEXT = Query(
    None, max_length=300, description="free text; answers carry a relevance score and are ranked by it"
)


def _model_routes(r: APIRouter, plural: str, find: Any, count: Any, get: Any, *, schema: bool) -> None:
    def many(
        filter: str | None = FILTER, query: str | None = TEXT, actor: Actor = Depends(PUBLIC), s: Session = DB
    ) -> Any:
        return find(s, panosc.load(filter, "filter"), query)

    def how_many(where: str | None = WHERE, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Any:
        return count(s, panosc.load(where, "where"))

    def one(pid: str, filter: str | None = FILTER, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Any:
        return get(s, pid, panosc.load(filter, "filter"))

    r.add_api_route(
        f"/{plural}/count", how_many, methods=["GET"], include_in_schema=schema, summary=f"Number of {plural}"
    )
    if plural.lower() == "datasets":

        def files(
            pid: str, filter: str | None = FILTER, actor: Actor = Depends(PUBLIC), s: Session = DB
        ) -> Any:
            return panosc.dataset_files(s, pid, panosc.load(filter, "filter"))

        def files_count(
            pid: str, where: str | None = WHERE, actor: Actor = Depends(PUBLIC), s: Session = DB
        ) -> Any:
            return panosc.count_files(s, pid, panosc.load(where, "where"))

        r.add_api_route(f"/{plural}/{{pid:path}}/files/count", files_count, methods=["GET"], include_in_schema=schema,
                        summary="Number of files of a dataset")  # fmt: skip
        r.add_api_route(f"/{plural}/{{pid:path}}/files", files, methods=["GET"], include_in_schema=schema,
                        summary="Files of a dataset")  # fmt: skip
    r.add_api_route(
        f"/{plural}/{{pid:path}}",
        one,
        methods=["GET"],
        include_in_schema=schema,
        summary=f"One of the {plural}",
    )
    r.add_api_route(f"/{plural}", many, methods=["GET"], include_in_schema=schema,
                    summary=f"{plural} matching a filter (and free-text query)")  # fmt: skip


for _plural, _find, _count, _get in (
    ("Datasets", panosc.find_datasets, panosc.count_datasets, panosc.get_dataset),
    ("Documents", panosc.find_documents, panosc.count_documents, panosc.get_document),
    ("Instruments", panosc.find_instruments, panosc.count_instruments, panosc.get_instrument),
):
    _model_routes(pan, _plural, _find, _count, _get, schema=True)
    _model_routes(pan, _plural.lower(), _find, _count, _get, schema=False)


def register(app: FastAPI) -> None:
    attach(app, pages)
    attach(app, api)
    attach(app, pan)
    app.state.nav.append(("Data", "All catalogs", "/federation/search"))
    app.state.dashboard_cards += [
        {"roles": ["coordinator", "admin"], "title": "Connected catalogs",
         "text": "Register other hubs, SciCat and PaNOSC sites; see their health; harvest them.",
         "href": "/federation/sites", "link": "Manage sites"},
        {"roles": ["applicant", "ambassador", "reviewer", "committee", "facility", "steward", "coordinator", "admin"],
         "title": "Your site tokens", "text": "Give the hub your own token for a facility's catalog, so searches "
         "across catalogs show what that facility lets you see.", "href": "/federation/tokens", "link": "Manage tokens"},
    ]  # fmt: skip
