"""Project spaces: the project page (/projects/{app_id}), the list of one's projects, publishing a project's
datasets, and their JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from halric.core.actor import Actor
from halric.core.errors import HalricError
from halric.projects import service
from halric.projects.schemas import DataCountriesOut, ProjectListItemOut, ProjectOut
from halric.web.access import SIGNED_IN
from halric.web.deps import DB, FORM, FormData
from halric.web.forms import FormErrors, from_exception, size_errors
from halric.web.params import RowId
from halric.web.routing import attach
from halric.web.templating import render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/projects", tags=["projects"])

VISIT_ROUTE = "/projects/{app_id}/visit"
PUBLISH_LABELS = {"title": "Title of the published data", "abstract": "Abstract", "description": "Methods",
                  "datasets": "Datasets to publish"}  # fmt: skip
PUBLISH_FIELDS = {"pidArray": "datasets"}


def has_route(request: Request, path: str) -> bool:
    """Whether the app serves a page at ``path`` (a route template such as /projects/{app_id}/visit)."""
    from halric.web.app import iter_api_routes

    return any(p == path for p, _route, _extra in iter_api_routes(request.app))


def _context(request: Request, s: Session, actor: Actor, app_id: int, **extra: Any) -> dict[str, Any]:
    data = service.overview(s, actor, app_id)
    visit = f"/projects/{app_id}/visit" if has_route(request, VISIT_ROUTE) else None
    return {"p": data, "visit_url": visit, "errors": FormErrors(), "f": {}, **extra}


@pages.get("/projects", response_class=HTMLResponse)
def projects_page(request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    return render(request, "projects/list.html", {"projects": service.my_projects(s, actor)})


@pages.get("/projects/{app_id}", response_class=HTMLResponse)
def project_page(
    request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> Response:
    return render(request, "projects/view.html", _context(request, s, actor, app_id))


@pages.post("/projects/{app_id}/publish", response_class=HTMLResponse)
def publish_page(
    request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), form: FormData = FORM
) -> Response:
    """Publish some of the project's datasets (published data awaiting its DOI), then open its page. A
    refusal shows the project page again with what was typed and the message by the field."""
    db = request.app.state.db
    pids = [str(x) for x in form.getlist("datasets")]
    text = {k: str(form.get(k, "")) for k in ("title", "abstract", "description")}
    errors = size_errors(text, limit=20_000)
    status = 400
    if not errors:
        try:
            with db.session() as s:
                rec = service.publish(s, actor, app_id, pids, title=text["title"], abstract=text["abstract"],
                                      description=text["description"])  # fmt: skip
            return RedirectResponse(f"/catalog/published/{quote(rec['doi'], safe='')}", status_code=303)
        except HalricError as exc:
            if exc.status in (401, 403, 404):
                raise
            errors, status = from_exception(exc, labels=PUBLISH_LABELS, aliases=PUBLISH_FIELDS), exc.status
    with db.session() as s:
        ctx = _context(request, s, actor, app_id, errors=errors, f={**text, "datasets": pids})
    return render(request, "projects/view.html", ctx, status_code=status)


@api.get(
    "", summary="Your projects (and those you follow in a role)", response_model=list[ProjectListItemOut]
)
def my_projects(actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> list[dict[str, Any]]:
    return service.my_projects(s, actor)


@api.get(
    "/{app_id}",
    summary="A project: team, group and proposal ids, datasets you may read, publications, final report",
    responses={404: {"description": "no such project, or not yours to see"}},
    response_model=ProjectOut,
    response_model_exclude_unset=True,
)
def project(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
    return service.overview(s, actor, app_id)


class PublishBody(BaseModel):
    pidArray: list[str] = Field(min_length=1, max_length=1000, description="pids of the project's datasets")
    title: str = Field(max_length=500)
    abstract: str = Field(max_length=20000)
    description: str = Field(default="", max_length=20000, description="how the data were made (Methods)")


@api.post(
    "/{app_id}/published-data",
    status_code=201,
    summary="Publish project datasets: published data with the team as creators, crediting the programme",
)
def publish(
    app_id: RowId, body: PublishBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    return service.publish(s, actor, app_id, body.pidArray, title=body.title, abstract=body.abstract,
                           description=body.description)  # fmt: skip


class DataCountriesBody(BaseModel):
    restrict: bool = Field(description="whether the project restricts where its data may live")
    countries: list[str] = Field(default_factory=list, max_length=50,
                                 description="ISO 3166 alpha-2 codes; empty: the countries of the team's organisations")  # fmt: skip


@api.put(
    "/{app_id}/data-countries",
    summary="Where the project's data may live and be downloaded from",
    response_model=DataCountriesOut,
)
def data_countries(
    app_id: RowId, body: DataCountriesBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    allowed = service.set_data_countries(s, actor, app_id, body.restrict, body.countries)
    return {"allowedCountries": allowed}


def register(app: FastAPI) -> None:
    attach(app, pages)
    attach(app, api)
    app.state.dashboard_cards += [
        {"roles": ["applicant", "ambassador", "facility", "committee", "reviewer", "coordinator"],
         "title": "Your projects", "text": "Running pilot projects: team, datasets, publications and the final report.",
         "href": "/projects", "link": "Open your projects"},
    ]  # fmt: skip
