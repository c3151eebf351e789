"""Pilot-project pages: calls, the application form (autosaved), the reviewer view with role actions, KPIs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from halric.calls import (
    budget,
    confidential,
    conflicts,
    document,
    organisations,
    rules,
    service,
    solutions,
    team,
    workflow,
)
from halric.calls.schemas import (
    COST_TYPES,
    DEFAULT_FUNDER,
    ORGANISATION_SECTORS,
    SECTORS,
    SOLUTION_KINDS,
    UPTAKE_KINDS,
    CallInput,
    ReviewInput,
    SolutionInput,
    UptakeInput,
)
from halric.core.actor import Actor
from halric.core.errors import HalricError, InvalidInput, NotFound, PermissionDenied
from halric.projects import service as projects
from halric.registry import service as registry
from halric.web import application_form as appform
from halric.web import numbers
from halric.web.access import PUBLIC, SIGNED_IN, require
from halric.web.deps import DB, DB_WRITE, FORM, FormData
from halric.web.forms import FormErrors, from_exception, size_errors
from halric.web.params import RowId
from halric.web.routes.calls_api import pdf_disposition
from halric.web.routing import attach
from halric.web.templating import render

pages = APIRouter(include_in_schema=False)
COORDINATOR = require("coordinator")


class _FormInvalid(Exception):
    """Errors the page finds itself (before the service is asked), raised to leave the transaction."""

    def __init__(self, errors: FormErrors) -> None:
        super().__init__(errors.summary)
        self.errors = errors


# --- calls ----------------------------------------------------------------------------------------


@pages.get("/calls", response_class=HTMLResponse)
def calls(request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    return render(
        request, "calls/list.html", {"calls": service.list_calls(s), "is_open": service.call_is_open}
    )


CALL_LABELS = {
    "slug": "Short name", "title": "Title", "text": "Call text", "opens_on": "Opens on", "deadline": "Single deadline",
    "cutoffs": "Cut-off dates", "budget_ceiling": "Budget ceiling per project", "currency": "Currency",
    "duration_months": "Expected duration (months)", "funder_name": "Funder", "award_number": "Award number",
    "storage_rate_per_tb": "Data storage, rate per TB",
    "data_costs_fundable": "Data-storage costs may be requested",
    "confidentiality_terms": "Confidentiality terms",
}  # fmt: skip


def _call_input(form: dict[str, str]) -> CallInput:
    amounts: dict[str, str | None] = {}
    errors = FormErrors()
    for name in ("budget_ceiling", "storage_rate_per_tb"):
        try:
            amounts[name] = numbers.normalise(str(form.get(name) or ""), money=True) or None
        except numbers.NumberError as exc:
            errors.add(name, str(exc), CALL_LABELS.get(name))
            amounts[name] = None
    try:
        data = _call_model(form, amounts)
    except ValidationError as exc:  # every error at once, the numbers' beside the model's
        found = from_exception(exc, labels=CALL_LABELS, collapse=("cutoffs",))
        errors.items.extend(e for e in found.items if e.name not in errors)
        errors.general.extend(found.general)
    if errors:
        raise _FormInvalid(errors)
    return data


def _call_model(form: dict[str, str], amounts: dict[str, str | None]) -> CallInput:
    return CallInput(
        slug=form.get("slug", ""), title=form.get("title", ""), text=form.get("text", ""),
        opens_on=form.get("opens_on") or None, deadline=form.get("deadline") or None,
        cutoffs=[c.strip() for c in str(form.get("cutoffs", "")).replace(",", " ").split() if c.strip()],
        budget_ceiling=amounts["budget_ceiling"],
        currency=(form.get("currency") or "EUR").strip().upper(),
        duration_months=form.get("duration_months") or 6,
        funder_name=(form.get("funder_name") or "").strip() or DEFAULT_FUNDER,
        award_number=(form.get("award_number") or "").strip(),
        storage_rate_per_tb=amounts["storage_rate_per_tb"],
        data_costs_fundable=form.get("data_costs_fundable") == "true",
        confidentiality_terms=_terms_or_default(str(form.get("confidentiality_terms", ""))),
    )  # fmt: skip


def _terms_or_default(text: str) -> str:
    """The hub's default terms sent back unchanged are stored as "the default" (empty)."""
    same = " ".join(text.split()) == " ".join(confidential.DEFAULT_TERMS.split())
    return "" if same else text


def _call_form_values(call: Any) -> dict[str, str]:
    return {"slug": call.slug, "title": call.title, "text": call.text, "opens_on": call.opens_on.isoformat(),
            "deadline": call.deadline.isoformat() if call.deadline else "", "cutoffs": " ".join(call.cutoffs),
            "budget_ceiling": f"{call.budget_ceiling:.2f}", "currency": call.currency,
            "duration_months": str(call.duration_months), "funder_name": call.funder_name,
            "award_number": call.award_number,
            "storage_rate_per_tb": "" if call.storage_rate_per_tb is None else f"{call.storage_rate_per_tb:.2f}",
            "data_costs_fundable": "true" if call.data_costs_fundable else "",
            "confidentiality_terms": confidential.terms(call)}  # fmt: skip


@pages.get("/calls/new", response_class=HTMLResponse)
def call_form(request: Request, actor: Actor = Depends(COORDINATOR)) -> Response:
    return render(
        request,
        "calls/new.html",
        {
            "form": {"confidentiality_terms": confidential.DEFAULT_TERMS},
            "errors": FormErrors(),
            "rules": rules.DEFAULT_RULES,
            "call": None,
        },
    )


@pages.post("/calls/new", response_class=HTMLResponse)
def call_create(request: Request, actor: Actor = Depends(COORDINATOR), posted: FormData = FORM) -> Response:
    form = {k: str(v) for k, v in posted.items()}
    errors = size_errors(form)
    try:
        if errors:
            raise _FormInvalid(errors)
        data = _call_input(form)
        with request.app.state.db.session() as s:
            cid = service.create_call(s, actor, data).id
    except (ValidationError, HalricError, _FormInvalid) as exc:
        errors = (
            exc.errors
            if isinstance(exc, _FormInvalid)
            else from_exception(exc, labels=CALL_LABELS, collapse=("cutoffs",))
        )
        return render(request, "calls/new.html",
                      {"form": form, "errors": errors, "rules": rules.DEFAULT_RULES, "call": None}, 400)  # fmt: skip
    return RedirectResponse(f"/calls/{cid}?done=created", status_code=303)


@pages.get("/calls/{call_id}/edit", response_class=HTMLResponse)
def call_edit_form(
    request: Request, call_id: RowId, actor: Actor = Depends(COORDINATOR), s: Session = DB
) -> Response:
    call = service.get_call(s, call_id)
    return render(request, "calls/new.html",
                  {"form": _call_form_values(call), "errors": FormErrors(), "rules": call.rules, "call": call})  # fmt: skip


@pages.post("/calls/{call_id}/edit", response_class=HTMLResponse)
def call_update(
    request: Request, call_id: RowId, actor: Actor = Depends(COORDINATOR), posted: FormData = FORM
) -> Response:
    form = {k: str(v) for k, v in posted.items()}
    db = request.app.state.db
    try:
        errors = size_errors(form)
        if errors:
            raise _FormInvalid(errors)
        data = _call_input(form)
        with db.session() as s:
            service.update_call(s, actor, call_id, data)
            projects.sync_call(s, actor, call_id)  # the funder and award its projects' proposals credit
    except (ValidationError, HalricError, _FormInvalid) as exc:
        if isinstance(exc, HalricError) and exc.status in (403, 404):
            raise
        errors = (
            exc.errors
            if isinstance(exc, _FormInvalid)
            else from_exception(exc, labels=CALL_LABELS, collapse=("cutoffs",))
        )
        with db.session() as s:
            call = service.get_call(s, call_id)
            return render(request, "calls/new.html",
                          {"form": form, "errors": errors, "rules": call.rules, "call": call}, 400)  # fmt: skip
    return RedirectResponse(f"/calls/{call_id}?done=updated", status_code=303)


@pages.post("/calls/{call_id}/close")
def call_close(
    request: Request,
    call_id: RowId,
    actor: Actor = Depends(COORDINATOR),
    s: Session = DB,
    form: FormData = FORM,
) -> Response:
    reopen = form.get("reopen") == "1"
    service.close_call(s, actor, call_id, reopen=reopen)
    return RedirectResponse(f"/calls/{call_id}?done={'reopened' if reopen else 'closed'}", status_code=303)


@pages.get("/calls/apply", response_class=HTMLResponse)
def apply_from_match(
    request: Request,
    instrument: str | None = None,
    question: str = "",
    actor: Actor = Depends(SIGNED_IN),
    s: Session = DB,
) -> Response:
    """Start from a matchmaking result: the open calls, each with a button that creates the prefilled draft
    (a POST: visiting this page creates nothing)."""
    open_calls = [c for c in service.list_calls(s) if service.call_is_open(c)]
    inst = None
    if instrument:
        try:
            inst = registry.get_instrument(s, instrument)
        except HalricError:
            inst = None
    return render(request, "calls/choose.html",
                  {"calls": open_calls, "instrument": inst.id if inst else None, "inst": inst, "question": question})  # fmt: skip


@pages.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(request: Request, call_id: RowId, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    call = service.get_call(s, call_id)
    done = {"created": "The call was created.", "updated": "The call was saved.",
            "closed": "The call is closed: no new applications or submissions.", "reopened": "The call is open again."}  # fmt: skip
    return render(request, "calls/call.html", {"call": call, "open": service.call_is_open(call),
                                               "done_message": done.get(request.query_params.get("done", ""))})  # fmt: skip


def _local_next(target: str | None) -> str | None:
    """Where to go back after accepting the terms: a page of the hub, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _terms_page(request: Request, s: Session, actor: Actor, call_id: int, next_: str | None,
                errors: FormErrors | None = None, status: int = 200) -> Response:  # fmt: skip
    call = service.get_call(s, call_id)
    return render(request, "calls/terms.html", {
        "call": call, "terms": confidential.terms(call), "sha256": confidential.terms_sha256(call),
        "accepted": confidential.acceptance(s, call, actor.user_id), "next": _local_next(next_),
        "errors": errors or FormErrors(),
    }, status)  # fmt: skip


@pages.get("/calls/{call_id}/confidentiality", response_class=HTMLResponse)
def terms_page(
    request: Request, call_id: RowId, next: str | None = None, actor: Actor = Depends(PUBLIC), s: Session = DB
) -> Response:
    """The call's confidentiality terms; signed in, a form to accept them (recorded with their version)."""
    return _terms_page(request, s, actor, call_id, next)


@pages.post("/calls/{call_id}/confidentiality", response_class=HTMLResponse)
def terms_accept(
    request: Request, call_id: RowId, actor: Actor = Depends(SIGNED_IN), form: FormData = FORM
) -> Response:
    db = request.app.state.db
    next_ = _local_next(str(form.get("next", "")))
    errors = FormErrors()
    if form.get("agree") != "yes":
        errors.add(
            "agree", "Tick the box to say that you read the terms and accept them.", "Accept the terms"
        )
    else:
        try:
            with db.session() as s:
                confidential.accept(s, actor, call_id, str(form.get("terms_sha256", "")))
        except HalricError as exc:
            if exc.status in (401, 403, 404):
                raise
            errors = from_exception(exc, labels={"terms_sha256": "Terms"})
    if errors:
        with db.session() as s:
            status = 409 if "terms_sha256" in errors else 400
            return _terms_page(request, s, actor, call_id, next_, errors, status=status)
    return RedirectResponse(next_ or f"/calls/{call_id}/confidentiality", status_code=303)


@pages.post("/calls/{call_id}/apply")
def apply(
    request: Request,
    call_id: RowId,
    actor: Actor = Depends(SIGNED_IN),
    s: Session = DB,
    form: FormData = FORM,
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
            app_id = projects.accept_invitation(s, actor, token).id
    except HalricError as exc:
        return render(request, "calls/invitation.html", {"token": token, "error": exc.detail}, exc.status)
    return RedirectResponse(f"/applications/{app_id}", status_code=303)


# --- applications --------------------------------------------------------------------------------------


@pages.get("/applications", response_class=HTMLResponse)
def applications(request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    mine = service.my_applications(s, actor)
    others = [a for a in service.visible_applications(s, actor) if a not in mine]
    ranking_calls = service.list_calls(s) if actor.has_role("coordinator", "committee") else []
    return render(request, "calls/applications.html", {"mine": mine, "others": others, "labels": workflow.LABELS,
                                                       "ranking_calls": ranking_calls,
                                                       "roles_on": lambda a: service.roles_on(s, a, actor)})  # fmt: skip


def _decimal(value: str, field: str) -> Decimal:
    try:
        return Decimal(numbers.normalise(value, money=True))
    except (numbers.NumberError, InvalidOperation) as exc:
        hint = str(exc) if isinstance(exc, numbers.NumberError) else "write a number such as 1,5 or 6 500,00"
        raise InvalidInput(f"{field}: {hint}", field=field) from exc


def _edit_context(s: Session, app: Any, values: dict[str, Any], errors: FormErrors | None = None,
                  **extra: Any) -> dict[str, Any]:  # fmt: skip
    ev = service.evaluate(s, app)
    return {
        "app": app, "d": values, "errors": errors or FormErrors(), "ev": ev, "orgs": registry.list_organisations(s),
        "instruments": registry.search_instruments(s, registry.InstrumentFilter()), "sectors": SECTORS,
        "org_sectors": ORGANISATION_SECTORS, "cost_types": COST_TYPES, "total": service.budget_total(app), **extra,
    }  # fmt: skip


@pages.get("/applications/{app_id}/edit", response_class=HTMLResponse)
def edit(request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    app, hats = service.get_application(s, actor, app_id)
    if "applicant" not in hats or app.state != "draft":
        return RedirectResponse(f"/applications/{app_id}", status_code=303)
    added = request.query_params.get("added")
    added_org = None
    if added:
        try:
            added_org = registry.get_organisation(s, added)
        except HalricError:
            added_org = None
    return render(
        request, "calls/edit.html", _edit_context(s, app, appform.values_from_app(app), added_org=added_org)
    )


@pages.post("/applications/{app_id}/edit", response_class=HTMLResponse)
def save(
    request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), form: FormData = FORM
) -> Response:
    autosave = request.headers.get("x-autosave") == "1"
    intent = str(form.get("action", "save"))
    db = request.app.state.db
    data, errors = appform.parse(form)
    neworg, org_errors = (None, FormErrors()) if autosave else appform.new_organisation(form)
    errors.extend(org_errors)
    status = 422
    added = None
    if not errors and data is not None:
        try:
            with db.session() as s:
                if neworg is not None:
                    org, _created = organisations.add_non_partner(s, actor, neworg)
                    added = org.id
                app = service.save_draft(s, actor, app_id, data)
                version = app.version
                ev = service.evaluate(s, app)
                total = service.budget_total(app)
        except HalricError as exc:
            if exc.status in (403, 404) and not autosave:
                raise
            status = exc.status
            errors = appform.renumber(from_exception(exc, labels=appform.LABELS, aliases=appform.ALIASES),
                                      appform.page_positions(form))  # fmt: skip
    if errors:
        if autosave:
            return JSONResponse({"detail": errors.summary, "errors": errors.by_field}, status_code=status)
        with db.session() as s:
            app, _ = service.get_application(s, actor, app_id)
            values = appform.values_from_form(form, app.call.storage_rate_per_tb)
            return render(request, "calls/edit.html",
                          _edit_context(s, app, values, errors, conflict=status == 409), status_code=status)  # fmt: skip
    if autosave:
        return JSONResponse({"version": version, "eligible": ev.eligible, "total": str(total),
                             "results": [{"id": r.id, "status": r.status, "reason": r.reason} for r in ev.results]})  # fmt: skip
    if intent == "plan":  # the draft is saved first, so nothing typed is lost on the way to the plan
        return RedirectResponse(f"/applications/{app_id}/plan", status_code=303)
    if intent.startswith("inkind-") and intent[len("inkind-") :].isdigit():
        row = int(intent[len("inkind-") :])
        positions = appform.page_positions(form)["budget"]
        try:
            with db.session() as s:
                budget.move_to_in_kind(s, actor, app_id, positions.index(row))
        except (HalricError, ValueError) as exc:
            with db.session() as s:
                app, _ = service.get_application(s, actor, app_id)
                errors = from_exception(exc) if isinstance(exc, HalricError) else FormErrors(
                    general=["That budget line is empty: there is nothing to move."])  # fmt: skip
                return render(request, "calls/edit.html",
                              _edit_context(s, app, appform.values_from_app(app), errors), status_code=400)  # fmt: skip
        return RedirectResponse(f"/applications/{app_id}/edit?moved=1#in-kind", status_code=303)
    if intent == "submit":
        try:
            with db.session() as s:
                service.submit(s, actor, app_id)
        except HalricError as exc:
            with db.session() as s:
                app, _ = service.get_application(s, actor, app_id)
                return render(request, "calls/edit.html",
                              _edit_context(s, app, appform.values_from_app(app), from_exception(exc)), status_code=400)  # fmt: skip
        return RedirectResponse(f"/applications/{app_id}?done=submitted", status_code=303)
    if added:
        return RedirectResponse(f"/applications/{app_id}/edit?saved=1&added={added}#team", status_code=303)
    return RedirectResponse(f"/applications/{app_id}/edit?saved=1", status_code=303)


@pages.get("/applications/{app_id}/delete", response_class=HTMLResponse)
def delete_confirm(
    request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> Response:
    app, _hats = service.get_application(s, actor, app_id)
    if app.state != "draft" or app.owner_id != actor.user_id:
        return RedirectResponse(f"/applications/{app_id}", status_code=303)
    return render(request, "calls/delete.html", {"app": app})


@pages.post("/applications/{app_id}/delete")
def delete(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    service.delete_draft(s, actor, app_id)
    return RedirectResponse("/applications?deleted=1", status_code=303)


DONE = {
    "submitted": "Your application was submitted: a confirmation was sent by e-mail and the eligibility check has started.",
    "comment": "Your comment was added.",
    "invite": "The invitation was sent by e-mail.",
    "feasibility": "Your feasibility verdict was recorded.",
    "review": "Your review was saved.",
    "conflict": "Your conflict of interest was recorded: you will not score this application.",
    "decide": "The decision was recorded and the letter sent to the applicants.",
    "start": "The project was started: its group and catalog proposal are ready on the project page.",
    "followup": "The follow-up was saved.",
    "final-report": "Your final report was submitted.",
    "assign": "The reviewer was assigned and told by e-mail.",
    "lift-conflict": "The declared conflict of interest was lifted; the member may now read and score.",
    "remove-co-applicant": "The co-applicant was taken off the application (and out of the project's group).",
    "solution": "The solution was declared; record its uptake when an organisation takes it up.",
    "uptake": "The uptake was recorded with its evidence.",
}
# where each action's errors go on the page: service field -> input name
ACTION_FIELDS = {
    "final-report": {k: f"sat-{k}" for k in service.SATISFACTION},
    "followup": {
        "cost_claims": "claim_organisation",
        "milestones": "milestone",
        "publications": "publication_doi",
    },
    "solution": {f: f"sol-{f}" for f in ("title", "kind", "description", "uptake_plan")},
    "uptake": {f: f"up-{f}" for f in ("organisation_id", "kind", "happened_on", "evidence", "evidence_url")},
}
ACTION_LABELS = {
    "letter": "Letter to the applicants", "outcome": "Outcome", "started_on": "Start", "ends_on": "End",
    "claim_organisation": "Cost claim, organisation", "claim_amount": "Cost claim, amount", "milestone": "Milestone",
    "conflict_reason": "Reason for the conflict", "comments": "Comments", "text": "Comment", "email": "E-mail",
    "verdict": "Verdict", "reviewer": "Reviewer", "due": "Milestone due date", "reason": "Why the conflict no longer applies",
    "publication_doi": "Publication DOI", "publications": "DOIs of publications", "datasets": "Datasets the report links",
    **{f"sat-{k}": f"Satisfaction, {k.replace('_', ' ')}" for k in service.SATISFACTION},
    **{f: f.replace("_", " ").capitalize() for f in service.REPORT_FIELDS},
    "sol-title": "Solution", "sol-kind": "Kind of solution", "sol-description": "What it does",
    "sol-uptake_plan": "How others can take it up", "up-organisation_id": "Organisation that took it up",
    "up-kind": "What it did", "up-happened_on": "When", "up-evidence": "Evidence", "up-evidence_url": "Link to the evidence",
}  # fmt: skip


def _done_message(request: Request) -> str | None:
    done = request.query_params.get("done")
    if not done:
        return None
    if done.startswith("to-") and done[3:] in workflow.LABELS:
        return f"The application moved to “{workflow.LABELS[done[3:]]}”; the applicants were told by e-mail."
    return DONE.get(done)


def _view_context(s: Session, request: Request, actor: Actor, app: Any, hats: set[str]) -> dict[str, Any]:
    from sqlalchemy import select

    from halric.accounts.models import User
    from halric.calls.models import Comment, CommitteeReview, Decision, FeasibilityReview, Project, Transition

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
    criteria = app.call.criteria
    review_rows = [
        {"n": n, "member_id": r.member_id, "conflict": r.conflict, "reason": r.conflict_reason, "comments": r.comments,
         "scores": [(c["label"], r.scores.get(c["key"])) for c in criteria],
         "weighted": service.weighted(r.scores, criteria) if r.scores and not r.conflict else None,
         "submitted": r.submitted_at is not None}
        for n, r in enumerate(reviews, 1)
    ]  # fmt: skip
    project = confidential.shown_project(
        app, s.scalar(select(Project).where(Project.application_id == app.id))
    )
    reviewers, exclusions = [], None
    if "coordinator" in hats:
        exclusions = service.exclusions(s, actor, app.id)
        barred = {u.id for u, _why in exclusions["people"]}
        reviewers = [u for u in s.scalars(select(User).where(User.is_active.is_(True)).order_by(User.username))
                     if set(u.role_names) & {"reviewer", "committee"} and u.id not in barred]  # fmt: skip
        if not exclusions["organisations"]:
            exclusions = None
    comments = list(s.scalars(select(Comment).where(Comment.application_id == app.id).order_by(Comment.id)))
    decisions = list(s.scalars(select(Decision).where(Decision.application_id == app.id)))
    if app.redacted:  # a confidential application before the terms are accepted: no content of any kind
        infras, feas, review_rows, comments, decisions = {}, {}, [], [], []
    return {
        "app": app, "hats": hats, "has": lambda *names: bool(hats.intersection(names)), "v": view_data,
        "labels": workflow.LABELS, "action_label": workflow.action_label, "infras": infras, "feas": feas,
        "next": [t for t in workflow.next_states(app.state, hats) if t not in ("running", "submitted")],
        "comments": comments, "exclusions": exclusions,
        "transitions": list(s.scalars(select(Transition).where(Transition.application_id == app.id).order_by(Transition.id))),
        "reviews": review_rows if "coordinator" in hats else [], "my_review": my_review, "liftable": liftable,
        "decisions": decisions,
        "project": project, "org_names": view_data["org_names"],
        "conflict": conflicts.has_conflict(app, actor), "criteria": criteria,
        "can_facility": [i for i in infras.values() if actor.is_admin or ("facility" in hats and i.organisation_id == actor.organisation)],
        "report_fields": service.REPORT_FIELDS, "satisfaction": service.SATISFACTION,
        "reviewers": reviewers, "assigned": service.assigned_reviewers(s, app) if "coordinator" in hats else [],
        "co_applicants": team.co_applicants(s, app) if hats & {"applicant", "coordinator"} else [],
        "project_datasets": projects.datasets_of(s, actor, app.id) if project and "applicant" in hats else [],
        "done_message": _done_message(request), "errors": FormErrors(), "f": {}, "failed": None,
        "solutions": solutions.list_solutions(s, app.id) if project and not app.redacted else [],
        "solution_kinds": SOLUTION_KINDS,
        "uptake_kinds": UPTAKE_KINDS, "all_orgs": registry.list_organisations(s) if project else [],
        "org_label": lambda oid: view_data["org_names"].get(oid) or _org_name(s, oid),
    }  # fmt: skip


def _org_name(s: Session, oid: str) -> str:
    try:
        return registry.get_organisation(s, oid).name
    except HalricError:
        return oid


def _excluded_page(request: Request, actor: Actor, app_id: RowId, exc: HalricError) -> Response | None:
    """A committee member or reviewer excluded for a conflict of interest is told so (not "no application")."""
    reason = None
    if exc.detail in (conflicts.EXCLUDED_AUTOMATIC, conflicts.EXCLUDED_DECLARED):
        reason = exc.detail
    elif isinstance(exc, NotFound):
        with request.app.state.db.session() as s:
            reason = service.reviewer_conflict(s, actor, app_id)
    if reason is None:
        return None
    return render(request, "calls/excluded.html", {"app_id": app_id, "reason": reason}, status_code=403)


@pages.get("/applications/{app_id}", response_class=HTMLResponse)
def view(request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    try:
        app, hats = service.get_application(s, actor, app_id)
    except (NotFound, PermissionDenied) as exc:
        excluded = _excluded_page(request, actor, app_id, exc)
        if excluded is not None:
            return excluded
        raise
    return render(request, "calls/view.html", _view_context(s, request, actor, app, hats))


def _review_input(form: Any, criteria: list[dict[str, Any]]) -> tuple[ReviewInput | None, FormErrors]:
    errors = FormErrors()
    conflict = form.get("conflict") == "true"
    scores: dict[str, int] = {}
    for c in criteria:
        raw = str(form.get(f"score-{c['key']}", "")).strip()
        if raw.isdigit() and 1 <= int(raw) <= 5:
            scores[c["key"]] = int(raw)
        elif not conflict:
            errors.add(f"score-{c['key']}", "Choose a score from 1 (poor) to 5 (excellent).", c["label"])
    if conflict and not str(form.get("conflict_reason", "")).strip():
        errors.add(
            "conflict_reason", "Say briefly why you have a conflict of interest.", "Reason for the conflict"
        )
    if errors:
        return None, errors
    try:
        return ReviewInput(scores={} if conflict else scores, comments=str(form.get("comments", "")), conflict=conflict,
                           conflict_reason=str(form.get("conflict_reason", ""))), errors  # fmt: skip
    except ValidationError as exc:
        return None, from_exception(exc, labels=ACTION_LABELS)


def _do(s: Session, request: Request, actor: Actor, app_id: RowId, what: str, form: Any) -> str | Response:
    """Run one role action; returns the key of the success message (or a redirect)."""
    if what == "transition":
        target = str(form.get("target", ""))
        service.transition(s, actor, app_id, target, str(form.get("comment", "")))
        return f"to-{target}"
    if what == "comment":
        service.add_comment(s, actor, app_id, str(form.get("text", "")))
    elif what == "invite":
        service.invite(s, actor, app_id, str(form.get("email", "")), str(form.get("kind", "co-applicant")),
                       request.app.state.settings.base_url)  # fmt: skip
    elif what == "assign":
        raw = str(form.get("reviewer", ""))
        if not raw.isdigit():
            raise InvalidInput("reviewer: choose a reviewer from the list", field="reviewer")
        service.assign_reviewer(s, actor, app_id, int(raw), request.app.state.settings.base_url)
    elif what == "feasibility":
        projects.feasibility(s, actor, app_id, str(form.get("infrastructure_id", "")), str(form.get("verdict", "")),
                             str(form.get("comments", "")))  # fmt: skip
    elif what == "review":
        from halric.calls.models import Application

        app = s.get(Application, app_id)
        data, errors = _review_input(form, app.call.criteria if app else [])
        if errors:
            raise _FormInvalid(errors)
        assert data is not None
        service.committee_review(s, actor, app_id, data)
        return "conflict" if data.conflict else "review"
    elif what == "lift-conflict":
        member = str(form.get("member_id", ""))
        if not member.isdigit():
            raise InvalidInput("member_id: choose a review with a declared conflict", field="member_id")
        conflicts.lift(s, actor, app_id, int(member), str(form.get("reason", "")))
    elif what == "decide":
        service.decide(s, actor, app_id, str(form.get("outcome", "")), str(form.get("letter", "")))
    elif what == "start":
        errors = FormErrors()
        dates = {}
        for name in ("started_on", "ends_on"):
            try:
                dates[name] = date.fromisoformat(str(form.get(name, "")))
            except ValueError:
                errors.add(
                    name, "Give a date as YYYY-MM-DD (or pick one in the calendar).", ACTION_LABELS[name]
                )
        if errors:
            raise _FormInvalid(errors)
        projects.start(s, actor, app_id, dates["started_on"], dates["ends_on"])
    elif what == "followup":
        changes: dict[str, Any] = {}
        _, p, _ = service.get_project(s, actor, app_id)
        title, doi = str(form.get("publication", "")).strip(), str(form.get("publication_doi", "")).strip()
        if title or doi:
            changes["publications"] = [*p.publications, {"title": title, "doi": doi}]
        if form.get("claim_organisation") or str(form.get("claim_amount", "")).strip():
            if not form.get("claim_organisation"):
                raise InvalidInput("claim_organisation: choose the organisation that claims the cost",
                                   field="claim_organisation")  # fmt: skip
            amount = _decimal(str(form.get("claim_amount", "")), "claim_amount")
            if amount <= 0:
                raise InvalidInput("claim_amount: give the amount claimed, above 0", field="claim_amount")
            changes["cost_claims"] = [*p.cost_claims, {"organisation_id": str(form["claim_organisation"]),
                                                       "amount": str(amount)}]  # fmt: skip
        if str(form.get("milestone", "")).strip():
            changes["milestones"] = [
                *p.milestones,
                {"title": str(form["milestone"]).strip(), "due": str(form.get("due", ""))},
            ]
        if not changes:
            raise InvalidInput(
                "Fill in at least one of the follow-up fields (milestone, publication or cost claim)."
            )
        service.update_project(s, actor, app_id, changes)
    elif what == "final-report":
        report = {f: str(form.get(f, "")) for f in service.REPORT_FIELDS}
        errors = FormErrors()
        for f in service.REPORT_FIELDS:
            if not report[f].strip():
                errors.add(f, "Fill in this section of the final report.", ACTION_LABELS[f])
        sat: dict[str, int] = {}
        for k in service.SATISFACTION:
            raw = str(form.get(f"sat-{k}", ""))
            if raw.isdigit() and 1 <= int(raw) <= 5:
                sat[k] = int(raw)
            else:
                errors.add(f"sat-{k}", "Choose from 1 (poor) to 5 (excellent).", ACTION_LABELS[f"sat-{k}"])
        publications = [
            {"doi": line.strip()} for line in str(form.get("publications", "")).splitlines() if line.strip()
        ]
        if errors:
            raise _FormInvalid(errors)
        projects.final_report(s, actor, app_id, report, sat, publications=publications,
                              datasets=[str(x) for x in form.getlist("datasets")])  # fmt: skip
    elif what == "remove-co-applicant":
        raw = str(form.get("collaborator_id", ""))
        if not raw.isdigit():
            raise InvalidInput("collaborator_id: choose a co-applicant", field="collaborator_id")
        projects.remove_co_applicant(s, actor, app_id, int(raw))
    elif what == "solution":
        data = SolutionInput(
            **{k: str(form.get(f"sol-{k}", "")) for k in ("title", "kind", "description", "uptake_plan")}
        )
        solutions.declare(s, actor, app_id, data)
    elif what == "uptake":
        sid = str(form.get("up-solution_id", ""))
        if not sid.isdigit():
            raise InvalidInput(
                "up-solution_id: choose the solution that was taken up", field="up-solution_id"
            )
        values = {k: str(form.get(f"up-{k}", "")).strip() for k in ("organisation_id", "kind", "happened_on",
                                                                       "evidence", "evidence_url")}  # fmt: skip
        up = UptakeInput(**{**values, "happened_on": values["happened_on"] or None})
        solutions.record_uptake(s, actor, app_id, int(sid), up)
    elif what == "copy":
        new = service.copy_application(s, actor, app_id)
        return RedirectResponse(f"/applications/{new.id}/edit", status_code=303)
    else:
        raise InvalidInput("do: unknown action", field="do")
    return what


@pages.post("/applications/{app_id}/action")
def action(
    request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), form: FormData = FORM
) -> Response:
    """One form endpoint for the role actions on the application page (each validated by the service).
    A refused action shows the page again with what was typed and the message by the field."""
    what = str(form.get("do", ""))
    db = request.app.state.db
    try:
        too_long = size_errors({k: str(v) for k, v in form.items()}, limit=20_000)
        if too_long:
            raise _FormInvalid(too_long)
        with db.session() as s:
            done = _do(s, request, actor, app_id, what, form)
    except (HalricError, ValidationError, _FormInvalid) as exc:
        if isinstance(exc, (NotFound, PermissionDenied)):
            excluded = _excluded_page(request, actor, app_id, exc)
            if excluded is not None:
                return excluded
        if isinstance(exc, HalricError) and exc.status in (401, 403, 404):
            raise
        if isinstance(exc, _FormInvalid):
            errors, status = exc.errors, 400
        else:
            errors = from_exception(exc, labels=ACTION_LABELS, aliases=ACTION_FIELDS.get(what, {}))
            status = exc.status if isinstance(exc, HalricError) else 400
        with db.session() as s:
            app, hats = service.get_application(s, actor, app_id)
            ctx = _view_context(s, request, actor, app, hats)
            ctx.update(errors=errors, f={k: str(v) for k, v in form.items()}, failed=what)
            return render(request, "calls/view.html", ctx, status_code=status)
    if isinstance(done, Response):
        return done
    if done == "conflict":  # the member is excluded from now on: the application is no longer theirs to open
        return RedirectResponse("/applications?conflict=1", status_code=303)
    return RedirectResponse(f"/applications/{app_id}?done={done}", status_code=303)


@pages.get("/applications/{app_id}/pdf")
def pdf(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB_WRITE) -> Response:
    app, _ = service.get_application(s, actor, app_id)
    return Response(document.application_pdf(s, actor, app), media_type="application/pdf",
                    headers={"Content-Disposition": f'{pdf_disposition(app)}; filename="halric-application-{app.id}.pdf"'})  # fmt: skip


@pages.get("/calls/{call_id}/ranking", response_class=HTMLResponse)
def ranking(
    request: Request,
    call_id: RowId,
    actor: Actor = Depends(require("coordinator", "committee")),
    s: Session = DB,
) -> Response:
    call = service.get_call(s, call_id)
    return render(request, "calls/ranking.html", {"call": call, "rows": service.ranking(s, actor, call_id)})


def register(app: FastAPI) -> None:
    attach(app, pages)
    app.state.nav.append(("Apply", "Pilot calls", "/calls"))
    app.state.dashboard_cards += [
        {"roles": ["applicant", "ambassador", "facility", "committee", "reviewer", "coordinator"],
         "title": "Applications", "text": "Your pilot-project applications, and those waiting for your review.",
         "href": "/applications", "link": "Open applications"},
        {"roles": ["coordinator"], "title": "Consortium KPIs",
         "text": "Interreg indicators with their evidence, progress to the 75 pilot projects, collaborations, budgets.",
         "href": "/kpi", "link": "Open KPIs"},
        {"roles": ["coordinator"], "title": "New call", "text": "Open a call for pilot projects.",
         "href": "/calls/new", "link": "Create a call"},
    ]  # fmt: skip
