"""Pilot-project pages: calls, the application form (autosaved), the reviewer view with role actions, KPIs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from halric.calls import conflicts, document, kpi, rules, service, workflow
from halric.calls.schemas import COST_TYPES, SECTORS, ApplicationInput, CallInput, ReviewInput
from halric.core.actor import Actor
from halric.core.errors import Conflict, HalricError, InvalidInput
from halric.registry import service as registry
from halric.web import charts
from halric.web.access import PUBLIC, SIGNED_IN, require
from halric.web.deps import DB, DB_WRITE, FORM, FormData
from halric.web.errors import form_error
from halric.web.templating import render

pages = APIRouter(include_in_schema=False)
COORDINATOR = require("coordinator")


# --- calls ----------------------------------------------------------------------------------------


@pages.get("/calls", response_class=HTMLResponse)
def calls(request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    return render(
        request, "calls/list.html", {"calls": service.list_calls(s), "is_open": service.call_is_open}
    )


@pages.get("/calls/new", response_class=HTMLResponse)
def call_form(request: Request, actor: Actor = Depends(COORDINATOR)) -> Response:
    return render(request, "calls/new.html", {"form": {}, "rules": rules.DEFAULT_RULES})


@pages.post("/calls/new", response_class=HTMLResponse)
def call_create(request: Request, actor: Actor = Depends(COORDINATOR), posted: FormData = FORM) -> Response:
    form = dict(posted)
    try:
        data = CallInput(
            slug=form.get("slug", ""), title=form.get("title", ""), text=form.get("text", ""),
            opens_on=form.get("opens_on") or None, deadline=form.get("deadline") or None,
            cutoffs=[c.strip() for c in str(form.get("cutoffs", "")).replace(",", " ").split() if c.strip()],
            budget_ceiling=form.get("budget_ceiling") or None, currency=form.get("currency") or "EUR",
            duration_months=form.get("duration_months") or 6,
        )  # fmt: skip
        with request.app.state.db.session() as s:
            call = service.create_call(s, actor, data)
            cid = call.id
    except (ValidationError, HalricError) as exc:
        msg = form_error(exc)
        return render(
            request, "calls/new.html", {"form": form, "error": msg, "rules": rules.DEFAULT_RULES}, 400
        )
    return RedirectResponse(f"/calls/{cid}", status_code=303)


@pages.get("/calls/apply", response_class=HTMLResponse)
def apply_from_match(
    request: Request,
    instrument: str | None = None,
    question: str = "",
    actor: Actor = Depends(SIGNED_IN),
    s: Session = DB_WRITE,  # creates the draft
) -> Response:
    """Start a draft from a matchmaking result: the instrument and the question are prefilled."""
    open_calls = [c for c in service.list_calls(s) if service.call_is_open(c)]
    if len(open_calls) == 1:
        app = service.create_draft(s, actor, open_calls[0].id, instruments=[instrument] if instrument else [],
                                   question=question)  # fmt: skip
        return RedirectResponse(f"/applications/{app.id}/edit", status_code=303)
    return render(
        request, "calls/choose.html", {"calls": open_calls, "instrument": instrument, "question": question}
    )


@pages.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(request: Request, call_id: int, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    call = service.get_call(s, call_id)
    return render(request, "calls/call.html", {"call": call, "open": service.call_is_open(call)})


@pages.post("/calls/{call_id}/apply")
def apply(
    request: Request, call_id: int, actor: Actor = Depends(SIGNED_IN), s: Session = DB, form: FormData = FORM
) -> Response:
    instruments = [str(x) for x in form.getlist("instrument") if x]
    app = service.create_draft(
        s, actor, call_id, instruments=instruments, question=str(form.get("question", ""))
    )
    return RedirectResponse(f"/applications/{app.id}/edit", status_code=303)


@pages.get("/calls/invitations/{token}", response_class=HTMLResponse)
def invitation(request: Request, token: str, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    try:
        service.check_invitation(s, actor, token)
    except HalricError as exc:  # said before the button, not after it
        return render(request, "calls/invitation.html", {"token": token, "error": exc.detail}, exc.status)
    return render(request, "calls/invitation.html", {"token": token})


@pages.post("/calls/invitations/{token}")
def invitation_accept(request: Request, token: str, actor: Actor = Depends(SIGNED_IN)) -> Response:
    try:
        with request.app.state.db.session() as s:
            app_id = service.accept_invitation(s, actor, token).id
    except HalricError as exc:
        return render(request, "calls/invitation.html", {"token": token, "error": exc.detail}, exc.status)
    return RedirectResponse(f"/applications/{app_id}", status_code=303)


# --- applications --------------------------------------------------------------------------------------


@pages.get("/applications", response_class=HTMLResponse)
def applications(request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    mine = service.my_applications(s, actor)
    others = [a for a in service.visible_applications(s, actor) if a not in mine]
    return render(request, "calls/applications.html", {"mine": mine, "others": others, "labels": workflow.LABELS,
                                                       "roles_on": lambda a: service.roles_on(s, a, actor)})  # fmt: skip


def _rows(
    form: Any, prefix: str, fields: tuple[str, ...], defaults: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    """Rows of a repeated form section; a row where only preset fields (``defaults``) have values is empty."""
    out = []
    for n in range(60):
        if not any(f"{prefix}-{n}-{f}" in form for f in fields):
            break
        row = {f: str(form.get(f"{prefix}-{n}-{f}", "")).strip() for f in fields}
        if any(v for k, v in row.items() if k not in defaults):
            out.append(row)
    return out


def _decimal(value: str, field: str) -> Decimal:
    try:
        return Decimal(value.replace(" ", "").replace(",", "."))
    except InvalidOperation as exc:
        raise InvalidInput(f"{field}: write a number such as 1.5 or 6500.00", field=field) from exc


def parse_form(form: Any) -> ApplicationInput:
    team = _rows(form, "team", ("name", "email", "organisation_id", "country", "sector", "role"))
    budget = _rows(
        form,
        "budget",
        ("organisation_id", "cost_type", "description", "person_months", "monthly_cost"),
        defaults=("cost_type",),
    )
    inkind = _rows(form, "inkind", ("organisation_id", "description", "amount"))
    for n, b in enumerate(budget):
        b["person_months"] = _decimal(b["person_months"] or "0", f"budget.{n}.person_months")  # type: ignore[assignment]
        b["monthly_cost"] = _decimal(b["monthly_cost"] or "0", f"budget.{n}.monthly_cost")  # type: ignore[assignment]
    for n, k in enumerate(inkind):
        k["amount"] = _decimal(k["amount"] or "0", f"in_kind.{n}.amount")  # type: ignore[assignment]
    for m in team:
        m["country"] = m["country"].upper()
    duration = str(form.get("duration_months", "")).strip()
    return ApplicationInput(
        version=int(form.get("version", 0) or 0),
        title=str(form.get("title", "")), lay_summary=str(form.get("lay_summary", "")),
        research_question=str(form.get("research_question", "")),
        instruments=[str(x) for x in form.getlist("instruments") if x],
        work_plan=str(form.get("work_plan", "")), timeline=str(form.get("timeline", "")),
        duration_months=int(duration) if duration.isdigit() else None,
        impact=str(form.get("impact", "")), data_management=str(form.get("data_management", "")),
        motivations={k[len("motivation-"):]: str(v) for k, v in form.items() if k.startswith("motivation-") and str(v).strip()},
        team=team, budget=budget, in_kind=inkind,
    )  # fmt: skip


def _edit_context(s: Session, app: Any, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    ev = service.evaluate(s, app)
    return {
        "app": app, "ev": ev, "orgs": registry.list_organisations(s),
        "instruments": registry.search_instruments(s, registry.InstrumentFilter()), "sectors": SECTORS,
        "cost_types": COST_TYPES, "total": service.budget_total(app), **(extra or {}),
    }  # fmt: skip


@pages.get("/applications/{app_id}/edit", response_class=HTMLResponse)
def edit(request: Request, app_id: int, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    app, hats = service.get_application(s, actor, app_id)
    if "applicant" not in hats or app.state != "draft":
        return RedirectResponse(f"/applications/{app_id}", status_code=303)
    return render(request, "calls/edit.html", _edit_context(s, app))


@pages.post("/applications/{app_id}/edit", response_class=HTMLResponse)
def save(request: Request, app_id: int, actor: Actor = Depends(SIGNED_IN), form: FormData = FORM) -> Response:
    autosave = request.headers.get("x-autosave") == "1"
    db = request.app.state.db
    try:
        data = parse_form(form)
        with db.session() as s:
            app = service.save_draft(s, actor, app_id, data)
            version = app.version
            ev = service.evaluate(s, app)
            total = service.budget_total(app)
    except (ValidationError, HalricError) as exc:
        msg = form_error(exc)
        status = exc.status if isinstance(exc, HalricError) else 422
        if autosave:
            return JSONResponse({"detail": msg}, status_code=status)
        if isinstance(exc, HalricError) and status in (403, 404):
            raise
        with db.session() as s:
            app, _ = service.get_application(s, actor, app_id)
            return render(request, "calls/edit.html", _edit_context(s, app, {"error": msg, "conflict": isinstance(exc, Conflict)}),
                          status_code=status)  # fmt: skip
    if autosave:
        return JSONResponse({"version": version, "eligible": ev.eligible, "total": str(total),
                             "results": [{"id": r.id, "status": r.status, "reason": r.reason} for r in ev.results]})  # fmt: skip
    if form.get("action") == "submit":
        try:
            with db.session() as s:
                service.submit(s, actor, app_id)
        except HalricError as exc:
            with db.session() as s:
                app, _ = service.get_application(s, actor, app_id)
                return render(
                    request, "calls/edit.html", _edit_context(s, app, {"error": exc.detail}), status_code=400
                )
        return RedirectResponse(f"/applications/{app_id}?submitted=1", status_code=303)
    return RedirectResponse(f"/applications/{app_id}/edit?saved=1", status_code=303)


@pages.get("/applications/{app_id}", response_class=HTMLResponse)
def view(request: Request, app_id: int, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    from sqlalchemy import select

    from halric.accounts.models import User
    from halric.calls.models import Comment, CommitteeReview, Decision, FeasibilityReview, Project, Transition

    app, hats = service.get_application(s, actor, app_id)
    view_data = document.review_view(s, app)
    infras = service.requested_infrastructures(s, app)
    feas = {
        f.infrastructure_id: f
        for f in s.scalars(select(FeasibilityReview).where(FeasibilityReview.application_id == app.id))
    }
    reviews = list(s.scalars(select(CommitteeReview).where(CommitteeReview.application_id == app.id)))
    my_review = next((r for r in reviews if r.member_id == actor.user_id), None)
    team_orgs = conflicts.team_organisations(app)
    liftable = {r.member_id for r in reviews if r.conflict and (m := s.get(User, r.member_id)) is not None
                and m.organisation_id not in team_orgs}  # fmt: skip
    ctx = {
        "app": app, "hats": hats, "has": lambda *names: bool(hats.intersection(names)), "v": view_data, "labels": workflow.LABELS, "infras": infras, "feas": feas,
        "next": [t for t in workflow.next_states(app.state, hats) if t not in ("running",)],
        "comments": list(s.scalars(select(Comment).where(Comment.application_id == app.id).order_by(Comment.id))),
        "transitions": list(s.scalars(select(Transition).where(Transition.application_id == app.id).order_by(Transition.id))),
        "reviews": reviews if hats & {"coordinator"} else [], "my_review": my_review, "liftable": liftable,
        "decisions": list(s.scalars(select(Decision).where(Decision.application_id == app.id))),
        "project": s.scalar(select(Project).where(Project.application_id == app.id)),
        "conflict": conflicts.has_conflict(app, actor), "criteria": app.call.criteria,
        "can_facility": [i for i in infras.values() if actor.is_admin or ("facility" in hats and i.organisation_id == actor.organisation)],
        "report_fields": service.REPORT_FIELDS, "satisfaction": service.SATISFACTION,
    }  # fmt: skip
    return render(request, "calls/view.html", ctx)


@pages.post("/applications/{app_id}/action")
def action(
    request: Request, app_id: int, actor: Actor = Depends(SIGNED_IN), form: FormData = FORM
) -> Response:
    """One form endpoint for the role actions on the application page (each validated by the service)."""
    what = str(form.get("do", ""))
    db = request.app.state.db
    with db.session() as s:
        if what == "transition":
            service.transition(s, actor, app_id, str(form.get("target", "")), str(form.get("comment", "")))
        elif what == "comment":
            service.add_comment(s, actor, app_id, str(form.get("text", "")))
        elif what == "invite":
            service.invite(s, actor, app_id, str(form.get("email", "")), str(form.get("kind", "co-applicant")),
                           request.app.state.settings.base_url)  # fmt: skip
        elif what == "feasibility":
            service.feasibility(s, actor, app_id, str(form.get("infrastructure_id", "")), str(form.get("verdict", "")),
                                str(form.get("comments", "")))  # fmt: skip
        elif what == "review":
            scores = {k[6:]: int(v) for k, v in form.items() if k.startswith("score-") and str(v).isdigit()}
            data = ReviewInput(scores=scores, comments=str(form.get("comments", "")),
                               conflict=form.get("conflict") == "true", conflict_reason=str(form.get("conflict_reason", "")))  # fmt: skip
            service.committee_review(s, actor, app_id, data)
        elif what == "lift-conflict":
            member = str(form.get("member_id", ""))
            if not member.isdigit():
                raise InvalidInput("member_id: choose a review with a declared conflict", field="member_id")
            conflicts.lift(s, actor, app_id, int(member), str(form.get("reason", "")))
        elif what == "decide":
            service.decide(s, actor, app_id, str(form.get("outcome", "")), str(form.get("letter", "")))
        elif what == "start":
            try:
                start, end = (
                    date.fromisoformat(str(form.get("started_on"))),
                    date.fromisoformat(str(form.get("ends_on"))),
                )
            except ValueError as exc:
                raise InvalidInput("started_on: give dates as YYYY-MM-DD", field="started_on") from exc
            service.start_project(s, actor, app_id, start, end)
        elif what == "followup":
            changes: dict[str, Any] = {}
            if form.get("dataset"):
                _, p, _ = service.get_project(s, actor, app_id)
                changes["datasets"] = [*p.datasets, str(form["dataset"]).strip()]
            if form.get("publication"):
                _, p, _ = service.get_project(s, actor, app_id)
                changes["publications"] = [*p.publications, {"title": str(form["publication"]).strip()}]
            if form.get("claim_organisation"):
                _, p, _ = service.get_project(s, actor, app_id)
                changes["cost_claims"] = [*p.cost_claims, {"organisation_id": str(form["claim_organisation"]),
                                                           "amount": str(_decimal(str(form.get("claim_amount", "0")), "claim_amount"))}]  # fmt: skip
            if form.get("milestone"):
                _, p, _ = service.get_project(s, actor, app_id)
                changes["milestones"] = [
                    *p.milestones,
                    {"title": str(form["milestone"]).strip(), "due": str(form.get("due", ""))},
                ]
            service.update_project(s, actor, app_id, changes)
        elif what == "final-report":
            report = {f: str(form.get(f, "")) for f in service.REPORT_FIELDS}
            sat = {k: int(str(form.get(f"sat-{k}", "0")) or 0) for k in service.SATISFACTION}
            service.final_report(s, actor, app_id, report, sat)
        elif what == "copy":
            new = service.copy_application(s, actor, app_id)
            return RedirectResponse(f"/applications/{new.id}/edit", status_code=303)
        else:
            raise InvalidInput("do: unknown action", field="do")
    return RedirectResponse(f"/applications/{app_id}?done={what}", status_code=303)


@pages.get("/applications/{app_id}/pdf")
def pdf(app_id: int, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    app, _ = service.get_application(s, actor, app_id)
    return Response(document.pdf(document.review_view(s, app)), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="halric-application-{app.id}.pdf"'})  # fmt: skip


@pages.get("/calls/{call_id}/ranking", response_class=HTMLResponse)
def ranking(
    request: Request,
    call_id: int,
    actor: Actor = Depends(require("coordinator", "committee")),
    s: Session = DB,
) -> Response:
    call = service.get_call(s, call_id)
    return render(request, "calls/ranking.html", {"call": call, "rows": service.ranking(s, actor, call_id)})


@pages.get("/kpi", response_class=HTMLResponse)
def kpi_page(request: Request, actor: Actor = Depends(COORDINATOR), s: Session = DB) -> Response:
    data = kpi.compute(s, actor)
    t = data["tables"]
    figs = {
        "progress": charts.progress(data["funded"], data["target"], "Funded pilot projects"),
        "cutoffs": charts.bars([r[0] for r in t["cutoffs"].rows],
                               {"submitted": [r[1] for r in t["cutoffs"].rows], "approved": [r[2] for r in t["cutoffs"].rows]},
                               "Applications per cut-off") if t["cutoffs"].rows else "",
        "pairs": charts.heatmap(t["country_pairs"].header[1:], t["country_pairs"].header[1:],
                                [[x if x != "" else 0 for x in r[1:]] for r in t["country_pairs"].rows], "Country pairs"),
        "infra": charts.bars([r[0] for r in t["infrastructures"].rows], {"projects": [r[1] for r in t["infrastructures"].rows]},
                             "Projects per infrastructure", horizontal=True) if t["infrastructures"].rows else "",
        "budget": charts.bars([r[0] for r in t["budget"].rows], {"committed": [float(r[1]) for r in t["budget"].rows],
                                                                  "spent": [float(r[2]) for r in t["budget"].rows]},
                              "Budget per organisation") if t["budget"].rows else "",
    }  # fmt: skip
    return render(request, "calls/kpi.html", {"data": data, "figs": figs})


def register(app: FastAPI) -> None:
    app.include_router(pages)
    app.state.nav.append(("Apply", "Pilot calls", "/calls"))
    app.state.dashboard_cards += [
        {"roles": ["applicant", "ambassador", "facility", "committee", "reviewer", "coordinator"],
         "title": "Applications", "text": "Your pilot-project applications, and those waiting for your review.",
         "href": "/applications", "link": "Open applications"},
        {"roles": ["coordinator"], "title": "Consortium KPIs",
         "text": "Progress to the 75 pilot projects, approvals per cut-off, collaborations, budgets.",
         "href": "/kpi", "link": "Open KPIs"},
        {"roles": ["coordinator"], "title": "New call", "text": "Open a call for pilot projects.",
         "href": "/calls/new", "link": "Create a call"},
    ]  # fmt: skip
