"""Project spaces: the project page (/projects/{app_id}), the list of one's projects, and their JSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from halric.core.actor import Actor
from halric.projects import service
from halric.web.access import SIGNED_IN
from halric.web.deps import DB
from halric.web.params import RowId
from halric.web.templating import render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/projects", tags=["projects"])

VISIT_ROUTE = "/projects/{app_id}/visit"


def has_route(request: Request, path: str) -> bool:
    """Whether the app serves a page at ``path`` (a route template such as /projects/{app_id}/visit)."""
    from halric.web.app import iter_api_routes

    return any(p == path for p, _route, _extra in iter_api_routes(request.app))


@pages.get("/projects", response_class=HTMLResponse)
def projects_page(request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    return render(request, "projects/list.html", {"projects": service.my_projects(s, actor)})


@pages.get("/projects/{app_id}", response_class=HTMLResponse)
def project_page(
    request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> Response:
    data = service.overview(s, actor, app_id)
    visit = f"/projects/{app_id}/visit" if has_route(request, VISIT_ROUTE) else None
    return render(request, "projects/view.html", {"p": data, "visit_url": visit})


@api.get("", summary="Your projects (and those you follow in a role)")
def my_projects(actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> list[dict[str, Any]]:
    return service.my_projects(s, actor)


@api.get(
    "/{app_id}",
    summary="A project: team, group and proposal ids, datasets you may read, publications, final report",
    responses={404: {"description": "no such project, or not yours to see"}},
)
def project(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
    return service.overview(s, actor, app_id)


def register(app: FastAPI) -> None:
    app.include_router(pages)
    app.include_router(api)
    app.state.dashboard_cards += [
        {"roles": ["applicant", "ambassador", "facility", "committee", "reviewer", "coordinator"],
         "title": "Your projects", "text": "Running pilot projects: team, datasets, publications and the final report.",
         "href": "/projects", "link": "Open your projects"},
    ]  # fmt: skip
