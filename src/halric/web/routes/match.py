"""Matchmaking: the question box, the results page, feedback, the gaps report, and POST /api/match."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from halric.core.actor import Actor
from halric.core.errors import HalricError
from halric.match import service as matching
from halric.match.schemas import FeedbackOut, MatchOut
from halric.match.service import MAX_QUESTION, MAX_TOP, MatchRequest
from halric.match.text import first_sentence
from halric.registry import service as reg
from halric.web.access import PUBLIC, SIGNED_IN, require
from halric.web.deps import DB, FORM, FormData
from halric.web.forms import FormErrors, from_exception, size_errors
from halric.web.params import RowId
from halric.web.routing import attach
from halric.web.templating import TEMPLATES, render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/match", tags=["matchmaking"])
REPORT_ROLES = require("ambassador", "coordinator")

TEMPLATES.env.globals["first_sentence"] = first_sentence  # match.html: the why without the summary it repeats


def _cache_dir(request: Request):
    return request.app.state.settings.cache_path


class MatchBody(BaseModel):
    question: str = Field(
        description=f"The research question in plain words (at most {MAX_QUESTION} characters)"
    )
    country: str | None = Field(default=None, description="Where the work should happen: SE, DK, DE or NO")
    top: int = Field(default=5, description=f"Number of techniques, 1–{MAX_TOP}")
    organisation: str | None = Field(default=None, description="Only instruments of this organisation id")
    operational_only: bool = False
    access_route: str | None = Field(default=None, description="e.g. proprietary, peer-reviewed, service")
    sample_type: str | None = Field(default=None, description="e.g. crystal, solution, tissue, human")


class FeedbackBody(BaseModel):
    technique_id: str
    helpful: bool
    comment: str = ""


@api.post(
    "",
    summary="Rank techniques, instruments and contacts for a research question",
    response_model=MatchOut,
    response_model_exclude_unset=True,
)
def match_api(
    request: Request, body: MatchBody, actor: Actor = Depends(PUBLIC), s: Session = DB
) -> dict[str, Any]:
    req = MatchRequest(**body.model_dump())
    return matching.match(s, actor, req, cache_dir=_cache_dir(request))


@api.post(
    "/{query_id}/feedback",
    status_code=201,
    summary="Mark a suggestion helpful or not",
    response_model=FeedbackOut,
)
def feedback_api(
    query_id: RowId, body: FeedbackBody, actor: Actor = Depends(PUBLIC), s: Session = DB
) -> dict[str, Any]:
    fb = matching.record_feedback(s, actor, query_id, body.technique_id, body.helpful, body.comment)
    return {"id": fb.id, "query_id": query_id, "technique_id": fb.technique_id, "helpful": fb.helpful}


@api.get("/report", summary="Questions without a good answer and suggestions marked unhelpful")
def report_api(actor: Actor = Depends(REPORT_ROLES), s: Session = DB) -> dict[str, Any]:
    return matching.gaps_report(s)


@pages.get("/match", response_class=HTMLResponse)
def match_page(
    request: Request,
    question: str | None = Query(None),
    country: str | None = None,
    operational_only: bool = False,
    access_route: str | None = None,
    sample_type: str | None = None,
    top: int = Query(5, ge=1, le=MAX_TOP),
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,  # reads; the question is logged at the end (SQLite: a short upgrade to a write)
) -> Response:
    form = {"question": question or "", "country": country or "", "operational_only": operational_only,
            "access_route": access_route or "", "sample_type": sample_type or "", "top": top}  # fmt: skip
    if question is None:
        return render(request, "match.html", {"form": form, "answer": None})
    try:
        req = MatchRequest(
            question, country or None, top, None, operational_only, access_route or None, sample_type or None
        )
        answer = matching.match(s, actor, req, cache_dir=_cache_dir(request))
    except HalricError as exc:
        return render(
            request, "match.html", {"form": form, "answer": None, "error": exc.detail}, status_code=400
        )
    return render(request, "match.html", {"form": form, "answer": answer})


@pages.post("/match/{query_id}/feedback", response_class=HTMLResponse)
def match_feedback(
    request: Request,
    query_id: RowId,
    technique_id: Annotated[str, Form(max_length=80)],
    helpful: Annotated[bool, Form()],
    back: Annotated[str, Form(max_length=4000)] = "/match",
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> Response:
    matching.record_feedback(s, actor, query_id, technique_id, helpful)
    target = back if back.startswith("/match") else "/match"
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}thanks={technique_id}", status_code=303)


@pages.get("/match/report", response_class=HTMLResponse)
def report_page(request: Request, actor: Actor = Depends(REPORT_ROLES), s: Session = DB) -> Response:
    return render(request, "match_report.html", {"report": matching.gaps_report(s)})


@pages.get("/account/expertise", response_class=HTMLResponse)
def expertise_form(request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    prof = reg.get_expert_profile(s, actor.user_id)  # type: ignore[arg-type]
    return render(
        request, "expertise.html", {"prof": prof, "techniques": _pickable(s, prof), "errors": FormErrors()}
    )


EXPERTISE_LABELS = {
    "display_name": "Name shown to others", "techniques": "Techniques", "sample_types": "Sample types",
    "languages": "Languages", "countries_served": "Countries you cover", "bio": "Short description",
    "contact_email": "Contact e-mail",
}  # fmt: skip


@pages.post("/account/expertise", response_class=HTMLResponse)
def expertise_save(request: Request, actor: Actor = Depends(SIGNED_IN), form: FormData = FORM) -> Response:
    from types import SimpleNamespace

    from pydantic import ValidationError

    posted = SimpleNamespace(
        display_name=str(form.get("display_name", "")), techniques=[str(x) for x in form.getlist("techniques")],
        sample_types=[str(x) for x in form.getlist("sample_types")],
        languages=[x.strip() for x in str(form.get("languages", "")).split(",") if x.strip()],
        countries_served=[str(x) for x in form.getlist("countries_served")], bio=str(form.get("bio", "")),
        contact_email=str(form.get("contact_email", "")).strip() or None, public=form.get("public") == "true",
    )  # fmt: skip
    errors = size_errors({k: str(v) for k, v in form.items()})
    try:
        if errors:
            raise ValueError("too large")
        data = reg.ExpertInput(organisation_id=actor.organisation, **vars(posted))
        with request.app.state.db.session() as s:
            reg.save_expert_profile(s, actor, data)
    except (ValidationError, HalricError, ValueError) as exc:
        if not errors:
            errors = from_exception(exc, labels=EXPERTISE_LABELS, collapse=tuple(EXPERTISE_LABELS))
        with request.app.state.db.session() as s:
            techs = _pickable(s, posted)
        return render(
            request,
            "expertise.html",
            {"prof": posted, "techniques": techs, "errors": errors},
            status_code=400,
        )
    return RedirectResponse("/account/expertise?saved=1", status_code=303)


def _pickable(s: Session, prof: Any) -> list[Any]:
    """Techniques a person can have expertise in (PaNET's organising classes hidden, unless already chosen)."""
    from halric.registry.vocab import is_abstract_technique

    mine = set(prof.techniques) if prof else set()
    return [t for t in reg.search_techniques(s) if t.id in mine or not is_abstract_technique(t.id, t.label)]


def register(app: FastAPI) -> None:
    attach(app, pages)
    attach(app, api)
    app.state.nav.insert(0, ("Find", "Ask a question", "/match"))
    app.state.dashboard_cards += [
        {"roles": ["ambassador", "coordinator"], "title": "Matchmaking gaps",
         "text": "Questions the hub could not answer well, and suggestions users marked unhelpful.",
         "href": "/match/report", "link": "Open report"},
        {"roles": ["ambassador", "facility", "reviewer", "committee", "steward", "coordinator", "applicant", "admin"],
         "title": "Your expertise", "text": "Describe the techniques and samples you know, so matchmaking can suggest you.",
         "href": "/account/expertise", "link": "Edit expertise"},
    ]  # fmt: skip
