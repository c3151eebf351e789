"""Access visit pages: a project's visit (slots, samples and their safety review, visitors, confirmation,
feedback), the facility calendar (week by week, and as iCalendar) and the visitors' feedback form."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from halric.calls import visit_views as views
from halric.calls import visits
from halric.calls.schemas import CHEMICAL_HAZARDS, SAMPLE_KINDS, SampleIn, SlotIn, VisitorIn
from halric.core.actor import Actor
from halric.core.errors import HalricError, InvalidInput, NotFound
from halric.registry import service as registry
from halric.web.access import PUBLIC, SIGNED_IN, require
from halric.web.deps import DB, FORM, FormData
from halric.web.forms import FormErrors, from_exception, size_errors
from halric.web.params import RowId
from halric.web.routing import attach
from halric.web.templating import render

pages = APIRouter(include_in_schema=False)
CALENDAR = require("facility", "coordinator")

LABELS = {
    "instrument_id": "Instrument", "starts_at": "Start", "ends_at": "End", "capacity": "Visitors on site at once",
    "notes": "Notes for the team", "name": "Name", "kind": "Kind of sample", "quantity": "Quantity",
    "description": "Description", "biosafety_level": "Biosafety level", "chemical_hazards": "Chemical hazards",
    "hazard_details": "Hazardous substances and their handling", "radiation_details": "Isotope and activity",
    "ethics_reference": "Ethics approval reference", "organisation_id": "Organisation", "email": "E-mail",
    "arrives_on": "Arrival", "departs_on": "Departure", "decision": "Safety decision",
    "comment": "Comment to the team", "rating": "Your rating", "comments": "Comments",
}  # fmt: skip
DONE = {
    "offer": "The slot is offered; the team was told by e-mail.",
    "withdraw": "The slot was withdrawn.",
    "book": "The slot is booked; the facility was told by e-mail.",
    "cancel": "Your booking was cancelled; the slot is free again.",
    "sample-add": "The sample was declared. Submit it for the safety review when your list is complete.",
    "sample-edit": "The sample was changed; submit it again for the safety review.",
    "sample-remove": "The sample was removed.",
    "samples-submit": "The samples were submitted for the safety review; the facility was told by e-mail.",
    "sample-review": "Your safety review was recorded.",
    "visitor-add": "The visitor is registered.",
    "visitor-remove": "The visitor was removed.",
    "confirm": "The visit is confirmed; the team and the visitors were told by e-mail.",
    "reopen": "The visit is open for changes again; the team was told by e-mail.",
    "done": "The visit is marked done; every visitor was asked for feedback by e-mail.",
    "feedback-resend": "A new feedback link was sent.",
}
IDS = ("visit_id", "slot_id", "sample_id", "visitor_id")


def _id(form: Any, name: str) -> int:
    raw = str(form.get(name, ""))
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(f"{name}: this form lost its record number; reload the page", field=name)
    return int(raw)


def _checked(form: Any, name: str) -> bool:
    return str(form.get(name, "")) in ("1", "on", "true", "yes")


def _sample_in(form: Any) -> SampleIn:
    bsl = str(form.get("biosafety_level", "1"))
    return SampleIn(
        name=str(form.get("name", "")), kind=str(form.get("kind", "")), quantity=str(form.get("quantity", "")),
        description=str(form.get("description", "")), biosafety_level=int(bsl) if bsl.isdigit() and len(bsl) < 3 else 0,
        chemical_hazards=[str(x) for x in form.getlist("chemical_hazards")],
        hazard_details=str(form.get("hazard_details", "")), radioactive=_checked(form, "radioactive"),
        radiation_details=str(form.get("radiation_details", "")), human_material=_checked(form, "human_material"),
        ethics_reference=str(form.get("ethics_reference", "")),
    )  # fmt: skip


def _do(s: Session, request: Request, actor: Actor, app_id: int, what: str, form: Any) -> str:
    base = request.app.state.settings.base_url
    if what == "offer":
        data = SlotIn(instrument_id=str(form.get("instrument_id", "")), starts_at=form.get("starts_at") or None,
                      ends_at=form.get("ends_at") or None, capacity=form.get("capacity") or 2,
                      notes=str(form.get("notes", "")))  # fmt: skip
        visits.offer_slot(s, actor, app_id, data, base)
    elif what == "withdraw":
        visits.withdraw_slot(s, actor, app_id, _id(form, "slot_id"), base)
    elif what == "book":
        visits.book_slot(s, actor, app_id, _id(form, "slot_id"), base)
    elif what == "cancel":
        visits.cancel_booking(s, actor, app_id, _id(form, "slot_id"), base)
    elif what == "sample-add":
        visits.add_sample(s, actor, app_id, _id(form, "visit_id"), _sample_in(form))
    elif what == "sample-edit":
        visits.update_sample(s, actor, app_id, _id(form, "sample_id"), _sample_in(form))
    elif what == "sample-remove":
        visits.remove_sample(s, actor, app_id, _id(form, "sample_id"))
    elif what == "samples-submit":
        visits.submit_samples(s, actor, app_id, _id(form, "visit_id"), base)
    elif what == "sample-review":
        visits.review_sample(s, actor, app_id, _id(form, "sample_id"), str(form.get("decision", "")),
                             str(form.get("comment", "")), base)  # fmt: skip
    elif what == "visitor-add":
        data = VisitorIn(name=str(form.get("name", "")), organisation_id=str(form.get("organisation_id", "")),
                         email=str(form.get("email", "")), arrives_on=form.get("arrives_on") or None,
                         departs_on=form.get("departs_on") or None)  # fmt: skip
        visits.add_visitor(s, actor, app_id, _id(form, "visit_id"), data)
    elif what == "visitor-remove":
        visits.remove_visitor(s, actor, app_id, _id(form, "visitor_id"))
    elif what == "confirm":
        visits.confirm(s, actor, app_id, _id(form, "visit_id"), base)
    elif what == "reopen":
        visits.reopen(s, actor, app_id, _id(form, "visit_id"), base)
    elif what == "done":
        visits.mark_done(s, actor, app_id, _id(form, "visit_id"), base)
    elif what == "feedback-resend":
        visits.resend_feedback(s, actor, app_id, _id(form, "visitor_id"), base)
    else:
        raise InvalidInput("do: unknown action", field="do")
    return what


def _context(s: Session, request: Request, actor: Actor, app_id: int) -> dict[str, Any]:
    a = visits.access(s, actor, app_id)
    rows = []
    for v in visits.visits_of(s, a.app.id):
        staff = visits.is_staff(s, actor, v.instrument_id)
        slots = [(x, "taken" if x.state == "offered" and visits.clashes(s, x, exclude_visit=v.id) else x.state)
                 for x in v.slots if x.state != "withdrawn" and (x.state == "booked" or v.state == "planning")]  # fmt: skip
        rows.append({"v": v, "staff": staff, "slots": slots, "booked": visits.booked(v),
                     "ready": visits.readiness(v), "name": visits.instrument_name(s, v.instrument_id),
                     "to_submit": any(x.state in ("draft", "changes") for x in v.samples)})  # fmt: skip
    orgs = registry.list_organisations(s)
    done = request.query_params.get("done", "")
    return {
        "app": a.app, "team": a.team, "coordinator": a.coordinator, "rows": rows,
        "offer_instruments": visits.staff_instruments(s, a) if a.app.state == "running" else [],
        "orgs": orgs, "org_names": {o.id: o.name for o in orgs}, "kinds": SAMPLE_KINDS, "hazards": CHEMICAL_HAZARDS,
        "bsl": visits.BSL, "sample_states": visits.SAMPLE_STATES, "visit_states": visits.VISIT_STATES,
        "when": visits.when, "local": visits.local, "tz": "CET/CEST", "done_message": DONE.get(done),
        "remind_days": visits.REMIND_DAYS, "week_of": lambda slot: _week_name(visits.local(slot.starts_at).date()),
        "errors": FormErrors(), "f": {}, "f_hazards": [], "failed": None,
    }  # fmt: skip


@pages.get("/projects/{app_id}/visit", response_class=HTMLResponse)
def visit_page(
    request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> Response:
    return render(request, "calls/visit.html", _context(s, request, actor, app_id))


@pages.post("/projects/{app_id}/visit/action")
def visit_action(
    request: Request, app_id: RowId, actor: Actor = Depends(SIGNED_IN), form: FormData = FORM
) -> Response:
    """One form endpoint for every visit action (each checked by the service). A refused action shows the
    page again with what was typed and the message by the field."""
    what = str(form.get("do", ""))
    db = request.app.state.db
    try:
        too_long = size_errors({k: str(v) for k, v in form.items()}, limit=20_000)
        if too_long:
            raise _Invalid(too_long)
        with db.session() as s:
            done = _do(s, request, actor, app_id, what, form)
    except (HalricError, ValidationError, _Invalid) as exc:
        if isinstance(exc, HalricError) and exc.status in (401, 403, 404):
            raise
        if isinstance(exc, _Invalid):
            errors, status = exc.errors, 400
        else:
            errors = from_exception(exc, labels=LABELS)
            status = exc.status if isinstance(exc, HalricError) else 400
        with db.session() as s:
            ctx = _context(s, request, actor, app_id)
        key = next((str(form.get(k)) for k in IDS if form.get(k)), "")
        ctx.update(errors=errors, f={k: str(v) for k, v in form.items()}, failed=f"{what}:{key}",
                   f_hazards=[str(x) for x in form.getlist("chemical_hazards")])  # fmt: skip
        return render(request, "calls/visit.html", ctx, status_code=status)
    anchor = f"#visit-{form.get('visit_id')}" if str(form.get("visit_id", "")).isdigit() else ""
    return RedirectResponse(f"/projects/{app_id}/visit?done={done}{anchor}", status_code=303)


class _Invalid(Exception):
    def __init__(self, errors: FormErrors) -> None:
        super().__init__(errors.summary)
        self.errors = errors


# --- the facility calendar -----------------------------------------------------------------------------


def _week_name(d: date) -> str:
    iso = d.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


@pages.get("/facility/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request, week: str | None = None, actor: Actor = Depends(CALENDAR), s: Session = DB
) -> Response:
    start = views.week_start(week)
    entries = views.calendar(s, actor, start)
    return render(request, "calls/visit_calendar.html", {
        "start": start, "end": start + timedelta(days=6), "week": _week_name(start),
        "prev": _week_name(start - timedelta(days=7)), "next": _week_name(start + timedelta(days=7)),
        "this": _week_name(views.week_start(None)), "days": views.by_day(entries, start), "count": len(entries),
        "local": visits.local, "when": visits.when, "everyone": actor.has_role("coordinator"),
    })  # fmt: skip


@pages.get("/facility/calendar.ics")
def calendar_ics(
    request: Request, week: str | None = None, actor: Actor = Depends(CALENDAR), s: Session = DB
) -> Response:
    """This week's slots (``week`` given), or every slot from this week on."""
    start = views.week_start(week)
    entries = views.calendar(s, actor, start, upcoming=week is None)
    base = request.app.state.settings.base_url
    body = views.ical(entries, base, urlsplit(base).hostname or "halric")
    name = f"halric-visits-{_week_name(start) if week else 'upcoming'}.ics"
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


# --- the visitors' feedback ----------------------------------------------------------------------------


@pages.get("/visits/feedback/{token}", response_class=HTMLResponse)
def feedback_form(request: Request, token: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    try:
        person, visit, app = visits.feedback_visitor(s, token)
    except NotFound as exc:
        return render(request, "calls/visit_feedback.html", {"error": exc.detail}, 404)
    return render(request, "calls/visit_feedback.html", _feedback_ctx(s, person, visit, app))


def _feedback_ctx(s: Session, person: Any, visit: Any, app: Any, **extra: Any) -> dict[str, Any]:
    return {"person": person, "app": app, "instrument": visits.instrument_name(s, visit.instrument_id),
            "slot": visits.booked(visit), "when": visits.when, "errors": FormErrors(), "f": {}, **extra}  # fmt: skip


@pages.post("/visits/feedback/{token}", response_class=HTMLResponse)
def feedback_answer(
    request: Request, token: str, actor: Actor = Depends(PUBLIC), form: FormData = FORM
) -> Response:
    db = request.app.state.db
    raw = str(form.get("rating", ""))
    values = {k: str(v) for k, v in form.items()}
    try:
        errors = size_errors(values, limit=20_000)
        if not (raw.isdigit() and 1 <= int(raw) <= 5):
            errors.add("rating", "Choose from 1 (poor) to 5 (excellent).", LABELS["rating"])
        if errors:
            raise _Invalid(errors)
        with db.session() as s:
            person = visits.answer_feedback(s, actor, token, int(raw), str(form.get("comments", "")))
            name = person.name
    except NotFound as exc:
        return render(request, "calls/visit_feedback.html", {"error": exc.detail}, 404)
    except (HalricError, _Invalid) as exc:
        errs = exc.errors if isinstance(exc, _Invalid) else from_exception(exc, labels=LABELS)
        with db.session() as s:
            try:
                person, visit, app = visits.feedback_visitor(s, token)
            except NotFound as gone:
                return render(request, "calls/visit_feedback.html", {"error": gone.detail}, 404)
            ctx = _feedback_ctx(s, person, visit, app, errors=errs, f=values)
        return render(request, "calls/visit_feedback.html", ctx, 400)
    return render(request, "calls/visit_feedback.html", {"thanks": name})


def register(app: FastAPI) -> None:
    attach(app, pages)
    app.state.dashboard_cards += [
        {"roles": ["facility", "coordinator"], "title": "Visit calendar",
         "text": "Access visits on your facility's instruments, week by week: free, booked and confirmed slots.",
         "href": "/facility/calendar", "link": "Open the visit calendar"},
    ]  # fmt: skip
