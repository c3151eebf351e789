"""Home page and the role-aware dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from halric.accounts.roles import ROLES
from halric.core.actor import Actor
from halric.web.access import PUBLIC, SIGNED_IN
from halric.web.routing import attach
from halric.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: Actor = Depends(PUBLIC)) -> HTMLResponse:
    return render(request, "home.html")


@router.get("/favicon.ico")
def favicon(actor: Actor = Depends(PUBLIC)) -> RedirectResponse:
    """Browsers ask for it on pages without an icon link (an API answer opened in a tab): the hub's icon."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, actor: Actor = Depends(SIGNED_IN)) -> HTMLResponse:
    cards = []
    for card in request.app.state.dashboard_cards:
        if not actor.has_role(*card["roles"]):
            continue
        if "href_for" in card:  # a card whose address depends on the person (e.g. their organisation)
            href = card["href_for"](actor)
            if href is None:
                continue
            card = {**card, "href": href}
        cards.append(card)
    roles = [(r, ROLES[r]) for r in sorted(actor.roles) if r in ROLES]
    return render(request, "dashboard.html", {"cards": cards, "roles": roles})


def register(app: FastAPI) -> None:
    app.state.dashboard_cards = [
        {
            "roles": list(ROLES),
            "title": "Your account",
            "text": "Change your password, manage personal API tokens for scripts and the command line, and "
            "download everything the hub holds about you.",
            "href": "/account",
            "link": "Open account",
        },
    ]
    attach(app, router)
