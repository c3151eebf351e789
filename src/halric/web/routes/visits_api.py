"""Access visits JSON API: slots, bookings, samples and their safety review, visitors, confirmation,
feedback, and the facility calendar (docs/calls.md, Access visit)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from halric.calls import visit_views as views
from halric.calls import visits
from halric.calls.schemas import (
    CalendarOut,
    FeedbackIn,
    SafetyReviewIn,
    SampleIn,
    SampleOut,
    SlotIn,
    SlotOut,
    VisitorIn,
    VisitorOut,
    VisitOut,
    VisitsOverviewOut,
)
from halric.core.actor import Actor
from halric.web.access import PUBLIC, SIGNED_IN, require
from halric.web.deps import DB
from halric.web.params import RowId
from halric.web.routing import attach

api = APIRouter(prefix="/api", tags=["visits"])
FACILITY = require("facility")
CALENDAR = require("facility", "coordinator")
P = "/projects/{app_id}/visit"


def _base(request: Request) -> str:
    return request.app.state.settings.base_url


def _visit_of(s: Session, actor: Actor, app_id: int, visit_id: int) -> dict[str, Any]:
    a = visits.access(s, actor, app_id)
    return views.visit_dict(s, a, visits.visit_in(s, a, visit_id))


@api.get(
    P,
    summary="The project's access visits (team, facility staff of the instrument, coordinators)",
    response_model=VisitsOverviewOut,
    response_model_exclude_unset=True,
)
def overview(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
    return views.overview(s, actor, app_id)


# literal paths first: /visit/slots/…, /visit/samples/…, /visit/visitors/… before /visit/{visit_id}/…


@api.post(
    P + "/slots",
    status_code=201,
    summary="Offer a time slot on a requested instrument (its staff)",
    response_model=SlotOut,
    response_model_exclude_unset=True,
)
def offer(
    request: Request, app_id: RowId, body: SlotIn, actor: Actor = Depends(FACILITY), s: Session = DB
) -> dict[str, Any]:
    return views.slot_dict(visits.offer_slot(s, actor, app_id, body, _base(request)))


@api.post(
    P + "/slots/{slot_id}/withdraw",
    summary="Withdraw a slot (its staff; a booked one until confirmed)",
    response_model=SlotOut,
    response_model_exclude_unset=True,
)
def withdraw(
    request: Request, app_id: RowId, slot_id: RowId, actor: Actor = Depends(FACILITY), s: Session = DB
) -> dict[str, Any]:
    return views.slot_dict(visits.withdraw_slot(s, actor, app_id, slot_id, _base(request)))


@api.post(
    P + "/slots/{slot_id}/book",
    summary="Book a slot (the team); moves an earlier booking; 409 if another project booked that time",
    response_model=SlotOut,
    response_model_exclude_unset=True,
)
def book(
    request: Request, app_id: RowId, slot_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    return views.slot_dict(visits.book_slot(s, actor, app_id, slot_id, _base(request)))


@api.post(
    P + "/slots/{slot_id}/cancel",
    summary="Cancel a booking (the team, until the visit is confirmed)",
    response_model=SlotOut,
    response_model_exclude_unset=True,
)
def cancel(
    request: Request, app_id: RowId, slot_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    return views.slot_dict(visits.cancel_booking(s, actor, app_id, slot_id, _base(request)))


@api.put(
    P + "/samples/{sample_id}",
    summary="Change a declared sample (the team; it needs a new safety review)",
    response_model=SampleOut,
    response_model_exclude_unset=True,
)
def change_sample(
    app_id: RowId, sample_id: RowId, body: SampleIn, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    return views.sample_dict(visits.update_sample(s, actor, app_id, sample_id, body))


class Removed(BaseModel):
    removed: str


@api.delete(P + "/samples/{sample_id}", summary="Remove a declared sample (the team, until confirmed)")
def remove_sample(
    app_id: RowId, sample_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> Removed:
    return Removed(removed=visits.remove_sample(s, actor, app_id, sample_id))


@api.post(
    P + "/samples/{sample_id}/review",
    summary="Safety review of a submitted sample: approve, or ask for changes with a comment (its staff)",
    response_model=SampleOut,
    response_model_exclude_unset=True,
)
def review(
    request: Request,
    app_id: RowId,
    sample_id: RowId,
    body: SafetyReviewIn,
    actor: Actor = Depends(FACILITY),
    s: Session = DB,
) -> dict[str, Any]:
    x = visits.review_sample(s, actor, app_id, sample_id, body.decision, body.comment, _base(request))
    return views.sample_dict(x)


@api.delete(P + "/visitors/{visitor_id}", summary="Remove a registered visitor (the team, until confirmed)")
def remove_visitor(
    app_id: RowId, visitor_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> Removed:
    return Removed(removed=visits.remove_visitor(s, actor, app_id, visitor_id))


@api.post(
    P + "/visitors/{visitor_id}/feedback-request",
    summary="Send a visitor a new feedback link after the visit (the old one stops working)",
    response_model=VisitorOut,
    response_model_exclude_unset=True,
)
def feedback_request(
    request: Request, app_id: RowId, visitor_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    person = visits.resend_feedback(s, actor, app_id, visitor_id, _base(request))
    return views.visitor_dict(person, with_feedback=False)


@api.post(
    P + "/{visit_id}/samples",
    status_code=201,
    summary="Declare a sample (the team)",
    response_model=SampleOut,
    response_model_exclude_unset=True,
)
def add_sample(
    app_id: RowId, visit_id: RowId, body: SampleIn, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    return views.sample_dict(visits.add_sample(s, actor, app_id, visit_id, body))


@api.post(
    P + "/{visit_id}/samples/submit",
    summary="Submit the new and changed samples for the safety review",
    response_model=VisitOut,
    response_model_exclude_unset=True,
)
def submit_samples(
    request: Request, app_id: RowId, visit_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    visits.submit_samples(s, actor, app_id, visit_id, _base(request))
    return _visit_of(s, actor, app_id, visit_id)


@api.post(
    P + "/{visit_id}/visitors",
    status_code=201,
    summary="Register a visitor (the team; dates within the slot)",
    response_model=VisitorOut,
    response_model_exclude_unset=True,
)
def add_visitor(
    app_id: RowId, visit_id: RowId, body: VisitorIn, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    return views.visitor_dict(visits.add_visitor(s, actor, app_id, visit_id, body), with_feedback=False)


@api.post(
    P + "/{visit_id}/confirm",
    summary="Confirm the visit (its staff): a slot booked, every sample approved, a visitor registered",
    response_model=VisitOut,
    response_model_exclude_unset=True,
)
def confirm(
    request: Request, app_id: RowId, visit_id: RowId, actor: Actor = Depends(FACILITY), s: Session = DB
) -> dict[str, Any]:
    visits.confirm(s, actor, app_id, visit_id, _base(request))
    return _visit_of(s, actor, app_id, visit_id)


@api.post(
    P + "/{visit_id}/reopen",
    summary="Take a confirmation back before the visit starts (its staff)",
    response_model=VisitOut,
    response_model_exclude_unset=True,
)
def reopen(
    request: Request, app_id: RowId, visit_id: RowId, actor: Actor = Depends(FACILITY), s: Session = DB
) -> dict[str, Any]:
    visits.reopen(s, actor, app_id, visit_id, _base(request))
    return _visit_of(s, actor, app_id, visit_id)


@api.post(
    P + "/{visit_id}/done",
    summary="Mark the visit done (its staff); every visitor is asked for feedback",
    response_model=VisitOut,
    response_model_exclude_unset=True,
)
def done(
    request: Request, app_id: RowId, visit_id: RowId, actor: Actor = Depends(FACILITY), s: Session = DB
) -> dict[str, Any]:
    visits.mark_done(s, actor, app_id, visit_id, _base(request))
    return _visit_of(s, actor, app_id, visit_id)


WEEK = r"^[0-9]{4}-[Ww][0-9]{2}$"


@api.get(
    "/facility/calendar",
    summary="Slots on your facility's instruments, one ISO week (e.g. 2027-W09)",
    response_model=CalendarOut,
    response_model_exclude_unset=True,
)
def calendar(
    week: Annotated[str | None, Query(pattern=WEEK, description="ISO week, e.g. 2027-W09")] = None,
    actor: Actor = Depends(CALENDAR),
    s: Session = DB,
) -> dict[str, Any]:
    start = views.week_start(week)
    entries = views.calendar(s, actor, start)
    return {"week": f"{start.isocalendar().year}-W{start.isocalendar().week:02d}", "starts_on": start.isoformat(),
            "slots": [{**views.slot_dict(e.slot, e.status), "application_id": e.app.id, "project": e.title,
                       "instrument": e.instrument, "status_label": e.label,
                       "visitors": len(e.visit.visitors)} for e in entries]}  # fmt: skip


class FeedbackOut(BaseModel):
    thanks: str = Field(description="Said to the visitor")
    answered_on: date


@api.post(
    "/visits/feedback/{token}", summary="A visitor's feedback after the visit (single-use link from the mail)"
)
def feedback(token: str, body: FeedbackIn, actor: Actor = Depends(PUBLIC), s: Session = DB) -> FeedbackOut:
    person = visits.answer_feedback(s, actor, token, body.rating, body.comments)
    return FeedbackOut(thanks=f"Thank you, {person.name}.", answered_on=person.feedback_at.date())  # type: ignore[union-attr]


def register(app: FastAPI) -> None:
    attach(app, api)
