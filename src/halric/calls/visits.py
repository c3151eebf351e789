"""Access visits: what a user office does between "granted" and "data".

The staff of a facility offer time slots on an instrument the project asked for; the team books one, and
may cancel or move the booking until the visit is confirmed. The team declares its samples and submits
them for the facility's safety review (approve, or ask for changes with a comment), and registers its
visitors with their dates. The staff confirm the visit once a slot is booked, every sample is approved
and someone is coming. After the visit (its slot has ended, or the staff mark it done) every visitor is
asked for feedback by a single-use link.

Who is who: the *team* are the applicants (owner and accepted co-applicants); the *staff* of an
instrument are accounts with the facility role at the organisation that runs the instrument's
infrastructure — the rule feasibility review uses; coordinators see every visit. A project has one
visit per requested instrument it goes to.

No two projects book overlapping time on one instrument: a booking first locks the instrument's row in
``visit_instrument_locks`` (on PostgreSQL a row lock that a concurrent booking waits for; on SQLite the
write lock every writing transaction takes first), and only then looks for overlapping bookings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from halric.accounts.models import User
from halric.accounts.security import new_token, token_digest
from halric.calls import confidential, mail, service
from halric.calls.models import (
    Application,
    Visit,
    VisitInstrumentLock,
    Visitor,
    VisitSample,
    VisitSlot,
)
from halric.calls.schemas import SAMPLE_KINDS, SampleIn, SlotIn, VisitorIn
from halric.core import audit
from halric.core.actor import ANONYMOUS, Actor, system_actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from halric.core.timeutil import as_utc, utcnow
from halric.registry import service as registry

_Part = TypeVar("_Part", VisitSlot, VisitSample, Visitor)

REGION_TZ = ZoneInfo("Europe/Copenhagen")  # CET/CEST: local time at every HALRIC facility
REMIND_DAYS = 3  # the reminder goes out this many days before the visit starts
MAX_SLOT_DAYS = 31
MAX_SLOTS_PER_VISIT = 50
MAX_SAMPLES = 100
MAX_VISITORS = 50

VISIT_STATES = {"planning": "Planning", "confirmed": "Confirmed", "done": "Done"}
SLOT_STATES = {"offered": "Free", "booked": "Booked", "withdrawn": "Withdrawn"}
SAMPLE_STATES = {
    "draft": "Not yet submitted",
    "submitted": "Waiting for safety review",
    "approved": "Approved",
    "changes": "Changes requested",
}
BSL = {1: "BSL-1", 2: "BSL-2", 3: "BSL-3", 4: "BSL-4"}
WHO = "the project team, the staff of the facility and coordinators"


# --- time --------------------------------------------------------------------------------------------


def local(value: datetime) -> datetime:
    """A stored time as local time at the facilities."""
    return as_utc(value).astimezone(REGION_TZ)


def aware(value: datetime) -> datetime:
    """A time from input: one without an offset is local time at the facilities."""
    return value.replace(tzinfo=REGION_TZ) if value.tzinfo is None else value


def when(slot: VisitSlot) -> str:
    """``Mon 1 Mar 2027 08:00 – Wed 3 Mar 2027 16:00`` (local time)."""
    a, b = local(slot.starts_at), local(slot.ends_at)
    end = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%a} {b.day} {b:%b %Y %H:%M}"
    return f"{a:%a} {a.day} {a:%b %Y %H:%M} – {end}"


# --- who may do what -----------------------------------------------------------------------------------


@dataclass
class Access:
    """A project as one actor sees it for its visits."""

    app: Application
    hats: set[str]
    actor: Actor

    @property
    def team(self) -> bool:
        return "applicant" in self.hats

    @property
    def coordinator(self) -> bool:
        return "coordinator" in self.hats


def access(s: Session, actor: Actor, app_id: int) -> Access:
    """The project's visits are for the team, the staff of a requested facility and coordinators."""
    app, _project, hats = service.get_project(s, actor, app_id)
    hats = hats & {"applicant", "facility", "coordinator"}
    if not hats:
        raise PermissionDenied(f"The access visit is for {WHO}.")
    return Access(app, hats, actor)


def is_staff(s: Session, actor: Actor, instrument_id: str) -> bool:
    """Facility staff of the organisation that runs the instrument's infrastructure (or an administrator)."""
    if actor.is_admin:
        return True
    if "facility" not in actor.roles or not actor.organisation:
        return False
    try:
        inst = registry.get_instrument(s, instrument_id)
    except NotFound:
        return False
    return inst.infrastructure.organisation_id == actor.organisation


def staff_instruments(s: Session, a: Access) -> list[Any]:
    """The project's requested instruments this actor is staff of."""
    out = []
    for iid in a.app.instruments:
        try:
            inst = registry.get_instrument(s, iid)
        except NotFound:
            continue
        if is_staff(s, a.actor, iid):
            out.append(inst)
    return out


def _need_team(a: Access) -> None:
    if not a.team:
        raise PermissionDenied("Only the project team (applicants and co-applicants) does this.")


def _need_staff(s: Session, a: Access, visit: Visit, what: str) -> None:
    if not is_staff(s, a.actor, visit.instrument_id):
        raise PermissionDenied(f"Only the staff of the facility that runs this instrument {what}.")


def _need_running(a: Access) -> None:
    if a.app.state != "running":
        raise Conflict("Visits are planned while the project is running.")


def _need_planning(visit: Visit) -> None:
    if visit.state != "planning":
        raise Conflict(
            f"The visit is {VISIT_STATES[visit.state].lower()}; ask the facility's staff to reopen it to change it."
        )


def visit_in(s: Session, a: Access, visit_id: int) -> Visit:
    """One visit of the project ``a`` (404 for another project's)."""
    v = s.get(Visit, visit_id)
    if v is None or v.application_id != a.app.id:
        raise NotFound(f"No visit with id {visit_id} in this project.")
    return v


def _in_visit(s: Session, a: Access, model: type[_Part], part_id: int, noun: str) -> tuple[Visit, _Part]:
    """A slot, sample or visitor of one of the project's visits (404 for another project's)."""
    part = s.get(model, part_id)
    visit = s.get(Visit, part.visit_id) if part is not None else None
    if part is None or visit is None or visit.application_id != a.app.id:
        raise NotFound(f"No {noun} with id {part_id} in this project.")
    return visit, part


def _slot(s: Session, a: Access, slot_id: int) -> tuple[Visit, VisitSlot]:
    return _in_visit(s, a, VisitSlot, slot_id, "slot")


def _sample(s: Session, a: Access, sample_id: int) -> tuple[Visit, VisitSample]:
    return _in_visit(s, a, VisitSample, sample_id, "sample")


def _visitor(s: Session, a: Access, visitor_id: int) -> tuple[Visit, Visitor]:
    return _in_visit(s, a, Visitor, visitor_id, "visitor")


def visits_of(s: Session, app_id: int) -> list[Visit]:
    return list(s.scalars(select(Visit).where(Visit.application_id == app_id).order_by(Visit.id)))


def booked(visit: Visit) -> VisitSlot | None:
    return next((x for x in visit.slots if x.state == "booked"), None)


# --- mail ----------------------------------------------------------------------------------------------


def _staff_emails(s: Session, instrument_id: str) -> list[str]:
    try:
        org = registry.get_instrument(s, instrument_id).infrastructure.organisation_id
    except NotFound:
        return []
    users = s.scalars(select(User).where(User.is_active.is_(True), User.organisation_id == org))
    return sorted({u.email for u in users if "facility" in u.role_names})


def link(base_url: str, app_id: int) -> str:
    return f"{base_url.rstrip('/')}/projects/{app_id}/visit"


def instrument_name(s: Session, instrument_id: str) -> str:
    try:
        inst = registry.get_instrument(s, instrument_id)
    except NotFound:
        return instrument_id
    return f"{inst.name} ({inst.infrastructure.name})"


def _send(s: Session, to: list[str], subject: str, body: str) -> None:
    for address in sorted(set(to)):
        mail.queue(s, address, subject, body)


# --- slots ---------------------------------------------------------------------------------------------


def _ensure_lock_row(s: Session, instrument_id: str) -> None:
    """The instrument's lock row exists (created the first time; a concurrent creator wins, harmlessly)."""
    if s.get(VisitInstrumentLock, instrument_id) is not None:
        return
    try:
        with s.begin_nested():
            s.add(VisitInstrumentLock(instrument_id=instrument_id, bookings=0))
    except IntegrityError:
        pass  # created meanwhile by another transaction, which has committed


def _lock_instrument(s: Session, instrument_id: str) -> VisitInstrumentLock:
    """Take the instrument's booking lock: a concurrent booking of the same instrument waits here until
    this transaction ends, and then sees this booking when it looks for overlaps."""
    _ensure_lock_row(s, instrument_id)
    q = select(VisitInstrumentLock).where(VisitInstrumentLock.instrument_id == instrument_id)
    row = s.scalar(q.with_for_update().execution_options(populate_existing=True))
    assert row is not None
    return row


def clashes(s: Session, slot: VisitSlot, *, exclude_visit: int) -> list[VisitSlot]:
    """Booked slots of other visits on the same instrument whose time overlaps ``slot``'s."""
    q = select(VisitSlot).where(
        VisitSlot.instrument_id == slot.instrument_id,
        VisitSlot.state == "booked",
        VisitSlot.visit_id != exclude_visit,
        VisitSlot.starts_at < slot.ends_at,
        VisitSlot.ends_at > slot.starts_at,
    )
    return list(s.scalars(q))


def offer_slot(s: Session, actor: Actor, app_id: int, data: SlotIn, base_url: str = "") -> VisitSlot:
    """Facility staff offer time on one of the project's requested instruments (the visit to that
    instrument starts with its first offered slot)."""
    a = access(s, actor, app_id)
    _need_running(a)
    if data.instrument_id not in a.app.instruments:
        raise InvalidInput(
            f"instrument_id: {data.instrument_id!r} is not an instrument this project asked for",
            field="instrument_id",
        )
    if not is_staff(s, actor, data.instrument_id):
        raise PermissionDenied("Only the staff of the facility that runs this instrument offer its time.")
    starts, ends = as_utc(aware(data.starts_at)), as_utc(aware(data.ends_at))
    if ends <= starts:
        raise InvalidInput("ends_at: the slot must end after it starts", field="ends_at")
    if ends - starts > timedelta(days=MAX_SLOT_DAYS):
        raise InvalidInput(f"ends_at: a slot lasts at most {MAX_SLOT_DAYS} days", field="ends_at")
    if starts <= utcnow():
        raise InvalidInput("starts_at: offer time that has not begun yet", field="starts_at")
    visit = s.scalar(
        select(Visit).where(Visit.application_id == a.app.id, Visit.instrument_id == data.instrument_id)
    )
    if visit is None:
        try:
            with s.begin_nested():
                visit = Visit(application_id=a.app.id, instrument_id=data.instrument_id, state="planning")
                s.add(visit)
        except IntegrityError:  # a colleague offered the first slot at the same moment
            visit = s.scalar(
                select(Visit).where(
                    Visit.application_id == a.app.id, Visit.instrument_id == data.instrument_id
                )
            )
            assert visit is not None
    _need_planning(visit)
    if len([x for x in visit.slots if x.state != "withdrawn"]) >= MAX_SLOTS_PER_VISIT:
        raise Conflict(f"A visit has at most {MAX_SLOTS_PER_VISIT} open slots; withdraw some first.")
    slot = VisitSlot(
        visit_id=visit.id, instrument_id=data.instrument_id, starts_at=starts, ends_at=ends,
        capacity=data.capacity, notes=data.notes.strip(), state="offered", offered_by=actor.user_id,
    )  # fmt: skip
    clash = clashes(s, slot, exclude_visit=visit.id)
    if clash:
        raise Conflict(
            f"starts_at: {instrument_name(s, slot.instrument_id)} is booked by another project "
            f"at {when(clash[0])}; offer another time",
            field="starts_at",
        )
    s.add(slot)
    s.flush()
    s.expire(visit, ["slots"])
    _ensure_lock_row(s, slot.instrument_id)
    audit.record(s, actor, "offer-slot", "visit", visit.id,
                 {"application": a.app.id, "slot": slot.id, "instrument": slot.instrument_id,
                  "starts_at": starts.isoformat(), "ends_at": ends.isoformat(), "capacity": slot.capacity})  # fmt: skip
    _send(s, service._team_emails(s, a.app), f"HALRIC visit: time offered on {instrument_name(s, slot.instrument_id)}",
          f"The facility offers your project “{confidential.public_title(a.app)}” time on {instrument_name(s, slot.instrument_id)}:\n"
          f"{when(slot)} (local time), up to {slot.capacity} visitor(s) on site.\n"
          + (f"\n{slot.notes}\n" if slot.notes else "")
          + f"\nBook it (or another offered slot) here:\n{link(base_url, a.app.id)}\n")  # fmt: skip
    return slot


def withdraw_slot(s: Session, actor: Actor, app_id: int, slot_id: int, base_url: str = "") -> VisitSlot:
    """Staff take back an offered slot (or a booked one, until the visit is confirmed; the team is told)."""
    a = access(s, actor, app_id)
    visit, slot = _slot(s, a, slot_id)
    _need_staff(s, a, visit, "withdraws its time")
    _need_planning(visit)
    if slot.state == "withdrawn":
        raise Conflict("This slot was withdrawn already.")
    was_booked = slot.state == "booked"
    slot.state = "withdrawn"
    s.flush()
    audit.record(s, actor, "withdraw-slot", "visit", visit.id, {"slot": slot.id, "was_booked": was_booked})
    if was_booked:
        _send(s, service._team_emails(s, a.app), "HALRIC visit: your booked slot was withdrawn",
              f"The facility withdrew the slot you had booked for “{confidential.public_title(a.app)}” on "
              f"{instrument_name(s, slot.instrument_id)} ({when(slot)}).\nPlease book another offered slot:\n"
              f"{link(base_url, a.app.id)}\n")  # fmt: skip
    return slot


def book_slot(s: Session, actor: Actor, app_id: int, slot_id: int, base_url: str = "") -> VisitSlot:
    """The team books an offered slot; a booking the visit already has moves to it. Refused when another
    project has booked overlapping time on the instrument (checked under the instrument's lock)."""
    a = access(s, actor, app_id)
    _need_team(a)
    _need_running(a)
    visit, slot = _slot(s, a, slot_id)
    _need_planning(visit)
    if slot.state == "booked":
        raise Conflict("You have booked this slot already.")
    if slot.state != "offered":
        raise Conflict("This slot was withdrawn by the facility; choose another one.")
    if as_utc(slot.starts_at) <= utcnow():
        raise Conflict("This slot has begun already; choose a later one.")
    lock = _lock_instrument(s, slot.instrument_id)
    clash = clashes(s, slot, exclude_visit=visit.id)
    if clash:
        raise Conflict(
            f"This time on {instrument_name(s, slot.instrument_id)} was just booked by another project "
            f"({when(clash[0])}); choose another slot or ask the facility for a new one."
        )
    before = booked(visit)
    if before is not None:
        before.state, before.booked_by, before.booked_at = "offered", None, None
    slot.state, slot.booked_by, slot.booked_at = "booked", actor.user_id, utcnow()
    lock.bookings += 1
    s.flush()
    audit.record(s, actor, "book-slot", "visit", visit.id,
                 {"slot": slot.id, "instrument": slot.instrument_id, "moved_from": before.id if before else None})  # fmt: skip
    name = instrument_name(s, slot.instrument_id)
    _send(s, _staff_emails(s, slot.instrument_id), f"HALRIC visit: {name} booked by “{confidential.public_title(a.app)}”",
          f"The team of “{confidential.public_title(a.app)}” booked {name}: {when(slot)} (local time)"
          + (f", moved from {when(before)}" if before else "") + ".\n\n"
          f"Samples, visitors and the confirmation of the visit:\n{link(base_url, a.app.id)}\n")  # fmt: skip
    _send(s, service._team_emails(s, a.app), f"HALRIC visit: booking received for {name}",
          f"Your booking of {name} for “{confidential.public_title(a.app)}” is recorded: {when(slot)} (local time).\n\n"
          "The facility confirms the visit once your samples have passed its safety review and your visitors "
          f"are registered:\n{link(base_url, a.app.id)}\n")  # fmt: skip
    return slot


def cancel_booking(s: Session, actor: Actor, app_id: int, slot_id: int, base_url: str = "") -> VisitSlot:
    """The team gives a booked slot back (until the visit is confirmed); it is offered again."""
    a = access(s, actor, app_id)
    _need_team(a)
    visit, slot = _slot(s, a, slot_id)
    _need_planning(visit)
    if slot.state != "booked":
        raise Conflict("This slot is not booked.")
    slot.state, slot.booked_by, slot.booked_at = "offered", None, None
    s.flush()
    audit.record(s, actor, "cancel-booking", "visit", visit.id, {"slot": slot.id})
    name = instrument_name(s, slot.instrument_id)
    _send(s, _staff_emails(s, slot.instrument_id), f"HALRIC visit: booking of {name} cancelled",
          f"The team of “{confidential.public_title(a.app)}” cancelled its booking of {name} ({when(slot)}).\n"
          f"{link(base_url, a.app.id)}\n")  # fmt: skip
    return slot


# --- samples -------------------------------------------------------------------------------------------


def _check_sample(data: SampleIn) -> None:
    if data.human_material and not data.ethics_reference.strip():
        raise InvalidInput(
            "ethics_reference: give the reference of the ethics approval that covers the human material",
            field="ethics_reference",
        )
    if data.radioactive and not data.radiation_details.strip():
        raise InvalidInput(
            "radiation_details: name the isotope(s) and the activity you bring", field="radiation_details"
        )
    if data.chemical_hazards and not data.hazard_details.strip():
        raise InvalidInput(
            "hazard_details: name the hazardous substances, how much you bring and how you handle them",
            field="hazard_details",
        )


def _fill(sample: VisitSample, data: SampleIn) -> None:
    sample.name, sample.kind, sample.quantity = data.name, data.kind, data.quantity
    sample.description, sample.biosafety_level = data.description, data.biosafety_level
    sample.chemical_hazards, sample.hazard_details = list(data.chemical_hazards), data.hazard_details.strip()
    sample.radioactive = data.radioactive
    sample.radiation_details = data.radiation_details.strip() if data.radioactive else ""
    sample.human_material = data.human_material
    sample.ethics_reference = data.ethics_reference.strip() if data.human_material else ""


def _sample_record(sample: VisitSample) -> dict[str, Any]:
    return {"sample": sample.id, "name": sample.name, "kind": sample.kind, "bsl": sample.biosafety_level,
            "chemical_hazards": sample.chemical_hazards, "radioactive": sample.radioactive,
            "human_material": sample.human_material, "ethics_reference": sample.ethics_reference}  # fmt: skip


def add_sample(s: Session, actor: Actor, app_id: int, visit_id: int, data: SampleIn) -> VisitSample:
    a = access(s, actor, app_id)
    _need_team(a)
    _need_running(a)
    visit = visit_in(s, a, visit_id)
    _need_planning(visit)
    _check_sample(data)
    if len(visit.samples) >= MAX_SAMPLES:
        raise Conflict(f"A visit declares at most {MAX_SAMPLES} samples.")
    sample = VisitSample(visit_id=visit.id, state="draft", created_by=actor.user_id)
    _fill(sample, data)
    s.add(sample)
    s.flush()
    s.expire(visit, ["samples"])
    audit.record(s, actor, "declare-sample", "visit", visit.id, _sample_record(sample))
    return sample


def update_sample(s: Session, actor: Actor, app_id: int, sample_id: int, data: SampleIn) -> VisitSample:
    """A changed sample goes back to the team's drafts: it needs a new safety review."""
    a = access(s, actor, app_id)
    _need_team(a)
    _need_running(a)
    visit, sample = _sample(s, a, sample_id)
    _need_planning(visit)
    _check_sample(data)
    _fill(sample, data)
    sample.state, sample.submitted_at = "draft", None
    s.flush()
    audit.record(s, actor, "change-sample", "visit", visit.id, _sample_record(sample))
    return sample


def remove_sample(s: Session, actor: Actor, app_id: int, sample_id: int) -> str:
    a = access(s, actor, app_id)
    _need_team(a)
    visit, sample = _sample(s, a, sample_id)
    _need_planning(visit)
    name = sample.name
    audit.record(s, actor, "remove-sample", "visit", visit.id, {"sample": sample.id, "name": name})
    s.delete(sample)
    s.flush()
    s.expire(visit, ["samples"])
    return name


def submit_samples(
    s: Session, actor: Actor, app_id: int, visit_id: int, base_url: str = ""
) -> list[VisitSample]:
    """Send every sample not yet reviewed (new or changed) to the facility's safety review."""
    a = access(s, actor, app_id)
    _need_team(a)
    _need_running(a)
    visit = visit_in(s, a, visit_id)
    _need_planning(visit)
    todo = [x for x in visit.samples if x.state in ("draft", "changes")]
    if not todo:
        raise Conflict(
            "There is nothing to submit: declare a sample first (or change one the reviewer asked about)."
        )
    now = utcnow()
    for x in todo:
        x.state, x.submitted_at = "submitted", now
    s.flush()
    audit.record(s, actor, "submit-samples", "visit", visit.id, {"samples": [x.id for x in todo]})
    name = instrument_name(s, visit.instrument_id)
    _send(s, _staff_emails(s, visit.instrument_id), f"HALRIC visit: samples for safety review ({name})",
          f"The team of “{confidential.public_title(a.app)}” submitted {len(todo)} sample declaration(s) for the visit to {name}:\n"
          + "".join(f"- {x.name} ({SAMPLE_KINDS.get(x.kind, x.kind)}, {BSL[x.biosafety_level]})\n" for x in todo)
          + f"\nReview them here:\n{link(base_url, a.app.id)}\n")  # fmt: skip
    return todo


def review_sample(
    s: Session, actor: Actor, app_id: int, sample_id: int, decision: str, comment: str, base_url: str = ""
) -> VisitSample:
    """The facility's safety reviewer approves a submitted sample or asks for changes (with a comment).
    When the last submitted sample is reviewed, the team gets one mail with the outcome."""
    a = access(s, actor, app_id)
    visit, sample = _sample(s, a, sample_id)
    _need_staff(s, a, visit, "reviews the safety of its samples")
    _need_planning(visit)
    if decision not in ("approve", "changes"):
        raise InvalidInput("decision: approve the sample, or ask for changes", field="decision")
    comment = comment.strip()
    if decision == "changes" and not comment:
        raise InvalidInput("comment: say what the team must change", field="comment")
    if sample.state != "submitted":
        raise Conflict(
            f"“{sample.name}” is not waiting for a safety review ({SAMPLE_STATES[sample.state].lower()})."
        )
    sample.state = "approved" if decision == "approve" else "changes"
    sample.review_comment, sample.reviewed_by, sample.reviewed_at = comment, actor.user_id, utcnow()
    s.flush()
    audit.record(s, actor, "safety-review", "visit", visit.id,
                 {"sample": sample.id, "decision": sample.state, "comment": comment})  # fmt: skip
    if not any(x.state == "submitted" for x in visit.samples):
        changes = [x for x in visit.samples if x.state == "changes"]
        name = instrument_name(s, visit.instrument_id)
        if changes:
            subject = f"HALRIC visit: safety review asks for changes ({name})"
            text = (f"The safety reviewer of {name} asks you to change {len(changes)} sample declaration(s) for "
                    f"“{confidential.public_title(a.app)}”:\n" + "".join(f"- {x.name}: {x.review_comment}\n" for x in changes)
                    + "\nChange them and submit them again:\n")  # fmt: skip
        else:
            subject = f"HALRIC visit: safety approved ({name})"
            text = (f"The safety reviewer of {name} approved every sample you declared for “{confidential.public_title(a.app)}”"
                    + "".join(f"\n- {x.name}" + (f": {x.review_comment}" if x.review_comment else "")
                              for x in visit.samples) + "\n\n")  # fmt: skip
        _send(s, service._team_emails(s, a.app), subject, text + f"{link(base_url, a.app.id)}\n")
    return sample


# --- visitors ------------------------------------------------------------------------------------------


def add_visitor(s: Session, actor: Actor, app_id: int, visit_id: int, data: VisitorIn) -> Visitor:
    a = access(s, actor, app_id)
    _need_team(a)
    _need_running(a)
    visit = visit_in(s, a, visit_id)
    _need_planning(visit)
    slot = booked(visit)
    if slot is None:
        raise Conflict("Book a slot first: the visitors' dates lie within it.")
    email = data.email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise InvalidInput("email: give an e-mail address such as name@example.org", field="email")
    service.known_org(s, data.organisation_id, "organisation_id")
    _check_dates(slot, data.arrives_on, data.departs_on)
    if any(v.email == email for v in visit.visitors):
        raise Conflict(f"email: {email} is registered for this visit already", field="email")
    if len(visit.visitors) >= min(slot.capacity, MAX_VISITORS):
        raise Conflict(f"The booked slot takes {slot.capacity} visitor(s) on site; remove one first, "
                       "or ask the facility for more room.")  # fmt: skip
    person = Visitor(visit_id=visit.id, name=data.name.strip(), organisation_id=data.organisation_id,
                     email=email, arrives_on=data.arrives_on, departs_on=data.departs_on)  # fmt: skip
    s.add(person)
    s.flush()
    s.expire(visit, ["visitors"])
    audit.record(s, actor, "register-visitor", "visit", visit.id,
                 {"visitor": person.id, "name": person.name, "organisation": person.organisation_id,
                  "arrives_on": person.arrives_on.isoformat(), "departs_on": person.departs_on.isoformat()})  # fmt: skip
    return person


def _check_dates(slot: VisitSlot, arrives: date, departs: date) -> None:
    first, last = local(slot.starts_at).date(), local(slot.ends_at).date()
    if not first <= arrives <= last:
        raise InvalidInput(
            f"arrives_on: arrive within the booked slot, {first} to {last}", field="arrives_on"
        )
    if departs < arrives:
        raise InvalidInput("departs_on: the departure cannot come before the arrival", field="departs_on")
    if departs > last:
        raise InvalidInput(f"departs_on: leave by the end of the booked slot, {last}", field="departs_on")


def remove_visitor(s: Session, actor: Actor, app_id: int, visitor_id: int) -> str:
    a = access(s, actor, app_id)
    _need_team(a)
    visit, person = _visitor(s, a, visitor_id)
    _need_planning(visit)
    name = person.name
    audit.record(s, actor, "remove-visitor", "visit", visit.id, {"visitor": person.id, "name": name})
    s.delete(person)
    s.flush()
    s.expire(visit, ["visitors"])
    return name


# --- confirmation --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    key: str
    ok: bool
    text: str


def readiness(visit: Visit) -> list[Check]:
    """What the confirmation of a visit waits for, each with a sentence a person can act on."""
    slot = booked(visit)
    samples = visit.samples
    approved = sum(1 for x in samples if x.state == "approved")
    out = [
        Check("slot", slot is not None, f"Slot booked: {when(slot)}" if slot else "No slot booked yet."),
        Check("samples", bool(samples) and approved == len(samples),
              f"Samples approved by the safety review: {approved} of {len(samples)}" if samples
              else "No samples declared yet."),
        Check("visitors", bool(visit.visitors), f"Visitors registered: {len(visit.visitors)}"
              if visit.visitors else "No visitor registered yet."),
    ]  # fmt: skip
    if slot is not None and visit.visitors:
        first, last = local(slot.starts_at).date(), local(slot.ends_at).date()
        outside = [v.name for v in visit.visitors if not (first <= v.arrives_on <= v.departs_on <= last)]
        out.append(Check("dates", not outside, "Visitors' dates lie within the booked slot." if not outside
                         else "Outside the booked slot: " + ", ".join(outside) + " (remove and register again)."))  # fmt: skip
        out.append(Check("capacity", len(visit.visitors) <= slot.capacity,
                         f"Visitors fit the slot's capacity ({slot.capacity})."
                         if len(visit.visitors) <= slot.capacity
                         else f"More visitors ({len(visit.visitors)}) than the slot takes ({slot.capacity})."))  # fmt: skip
    return out


def confirm(s: Session, actor: Actor, app_id: int, visit_id: int, base_url: str = "") -> Visit:
    """The facility confirms the visit: a slot is booked, every sample approved, visitors registered."""
    a = access(s, actor, app_id)
    _need_running(a)
    visit = visit_in(s, a, visit_id)
    _need_staff(s, a, visit, "confirms a visit")
    _need_planning(visit)
    missing = [c.text for c in readiness(visit) if not c.ok]
    if missing:
        raise Conflict("The visit cannot be confirmed yet: " + " ".join(missing))
    slot = booked(visit)
    assert slot is not None
    visit.state, visit.confirmed_at, visit.confirmed_by = "confirmed", utcnow(), actor.user_id
    s.flush()
    audit.record(s, actor, "confirm", "visit", visit.id, {"slot": slot.id, "visitors": len(visit.visitors)})
    name = instrument_name(s, visit.instrument_id)
    _send(s, service._team_emails(s, a.app) + [v.email for v in visit.visitors],
          f"HALRIC visit confirmed: {name}, {local(slot.starts_at):%d %b %Y}",
          f"The visit of “{confidential.public_title(a.app)}” to {name} is confirmed.\n\n"
          f"When: {when(slot)} (local time)\n"
          "Who: " + ", ".join(f"{v.name} ({v.arrives_on} – {v.departs_on})" for v in visit.visitors) + "\n"
          "Samples: " + ", ".join(x.name for x in visit.samples) + "\n"
          + (f"\n{slot.notes}\n" if slot.notes else "")
          + f"\n{link(base_url, a.app.id)}\n")  # fmt: skip
    return visit


def reopen(s: Session, actor: Actor, app_id: int, visit_id: int, base_url: str = "") -> Visit:
    """Staff take a confirmation back before the visit starts (e.g. the instrument is down); the team is told."""
    a = access(s, actor, app_id)
    visit = visit_in(s, a, visit_id)
    _need_staff(s, a, visit, "reopens a visit")
    if visit.state != "confirmed":
        raise Conflict("Only a confirmed visit can be reopened.")
    slot = booked(visit)
    if slot is not None and as_utc(slot.starts_at) <= utcnow():
        raise Conflict("The visit has begun; mark it done instead.")
    visit.state, visit.confirmed_at, visit.confirmed_by, visit.reminder_sent_at = "planning", None, None, None
    s.flush()
    audit.record(s, actor, "reopen", "visit", visit.id)
    _send(s, service._team_emails(s, a.app), f"HALRIC visit reopened: {instrument_name(s, visit.instrument_id)}",
          f"The facility reopened the visit of “{confidential.public_title(a.app)}”: it is no longer confirmed. You can change the "
          f"booking, the samples and the visitors; the facility confirms it again.\n{link(base_url, a.app.id)}\n")  # fmt: skip
    return visit


# --- after the visit -----------------------------------------------------------------------------------


def mark_done(s: Session, actor: Actor, app_id: int, visit_id: int, base_url: str = "") -> Visit:
    """Staff record that the visit took place; every visitor is asked for feedback."""
    a = access(s, actor, app_id)
    visit = visit_in(s, a, visit_id)
    _need_staff(s, a, visit, "marks a visit done")
    if visit.state != "confirmed":
        raise Conflict("Only a confirmed visit can be marked done.")
    _finish(s, actor, a.app, visit, base_url)
    return visit


def _finish(s: Session, actor: Actor, app: Application, visit: Visit, base_url: str) -> None:
    visit.state, visit.done_at = "done", utcnow()
    s.flush()
    audit.record(s, actor, "done", "visit", visit.id, {"visitors": len(visit.visitors)})
    for person in visit.visitors:
        _ask_feedback(s, app, visit, person, base_url)


def _ask_feedback(s: Session, app: Application, visit: Visit, person: Visitor, base_url: str) -> None:
    token = new_token()
    person.feedback_token_hash, person.feedback_sent_at = token_digest(token), utcnow()
    name = instrument_name(s, visit.instrument_id)
    mail.queue(s, person.email, f"HALRIC visit: how was your visit to {name}?",
               f"Dear {person.name},\n\nthank you for visiting {name} for the HALRIC pilot project “{confidential.public_title(app)}”. "
               "Please tell us how it went — two questions, one minute:\n"
               f"{base_url.rstrip('/')}/visits/feedback/{token}\n\n"
               "The link works once and needs no account. Your answer helps the facility and the HALRIC "
               "programme improve access.\n")  # fmt: skip
    s.flush()


def resend_feedback(s: Session, actor: Actor, app_id: int, visitor_id: int, base_url: str = "") -> Visitor:
    """A new feedback link for a visitor who has not answered (the old link stops working)."""
    a = access(s, actor, app_id)
    visit, person = _visitor(s, a, visitor_id)
    if not (a.team or a.coordinator or is_staff(s, actor, visit.instrument_id)):
        raise PermissionDenied(f"The feedback request is sent again by {WHO}.")
    if visit.state != "done":
        raise Conflict("Feedback is asked for after the visit.")
    if person.feedback_at is not None:
        raise Conflict(f"{person.name} has answered already.")
    _ask_feedback(s, a.app, visit, person, base_url)
    audit.record(s, actor, "resend-feedback", "visit", visit.id, {"visitor": person.id})
    return person


def feedback_visitor(s: Session, token: str) -> tuple[Visitor, Visit, Application]:
    """The visitor a feedback link belongs to; a used or unknown link is not found."""
    person = s.scalar(select(Visitor).where(Visitor.feedback_token_hash == token_digest(token)))
    if person is None or person.feedback_at is not None:
        raise NotFound("This feedback link is not valid (it may have been used already).")
    visit = s.get(Visit, person.visit_id)
    app = s.get(Application, visit.application_id) if visit else None
    if visit is None or app is None:
        raise NotFound("This feedback link is not valid (it may have been used already).")
    # the link reaches a visitor who may not be in the team: a confidential project is named by its number
    return person, visit, confidential.shown(s, ANONYMOUS, app, set(), listing=True)


def answer_feedback(s: Session, actor: Actor, token: str, rating: int, comments: str) -> Visitor:
    """Store a visitor's answer; the link is used up (a second answer is refused)."""
    person, visit, _app = feedback_visitor(s, token)
    if not 1 <= rating <= 5:
        raise InvalidInput("rating: rate the visit from 1 (poor) to 5 (excellent)", field="rating")
    done = s.execute(
        update(Visitor)
        .where(Visitor.feedback_token_hash == token_digest(token), Visitor.feedback_at.is_(None))
        .values(
            feedback_at=utcnow(), feedback_token_hash=None, rating=rating, feedback_comments=comments.strip()
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # answered meanwhile through the same link
        raise NotFound("This feedback link is not valid (it may have been used already).")
    s.expire(person)
    audit.record(s, actor, "feedback", "visit", visit.id, {"visitor": person.id, "rating": rating})
    return person


def feedback_complete(s: Session, app_id: int) -> bool:
    """Whether the project's visit feedback is in: True when no visit took place or is due (visits still
    in planning count as none), False while a confirmed visit is ahead, and for visits done only when every
    registered visitor has answered. The project's closure waits for it."""
    for visit in visits_of(s, app_id):
        if visit.state == "confirmed":
            return False
        if visit.state == "done" and any(p.feedback_at is None for p in visit.visitors):
            return False
    return True


# --- the periodic job ----------------------------------------------------------------------------------


def _due(now: datetime) -> tuple[Any, Any]:
    remind = (
        select(Visit.id)
        .join(VisitSlot, VisitSlot.visit_id == Visit.id)
        .where(Visit.state == "confirmed", Visit.reminder_sent_at.is_(None), VisitSlot.state == "booked")
        .where(VisitSlot.starts_at > now, VisitSlot.starts_at <= now + timedelta(days=REMIND_DAYS))
    )
    finished = (
        select(Visit.id)
        .join(VisitSlot, VisitSlot.visit_id == Visit.id)
        .where(Visit.state == "confirmed", VisitSlot.state == "booked", VisitSlot.ends_at <= now)
    )
    return remind, finished


def has_due(s: Session, now: datetime | None = None) -> bool:
    """Whether a reminder or a feedback request is due (the scheduler enqueues the job only then)."""
    remind, finished = _due(now or utcnow())
    return bool(s.scalar(select(func.count()).select_from(remind.union(finished).subquery())))


def send_due(s: Session, base_url: str, now: datetime | None = None) -> dict[str, int]:
    """Remind the people of confirmed visits that start within ``REMIND_DAYS`` days (once per visit), and
    close the visits whose slot has ended, asking every visitor for feedback. Each visit is claimed with a
    guarded UPDATE first, so two runs at once (two workers, cron beside the scheduler) mail it once."""
    now = now or utcnow()
    remind, finished = _due(now)
    actor = system_actor("visits", via="worker")
    counts = {"reminders": 0, "done": 0}
    for vid in list(s.scalars(remind)):
        claimed = s.execute(
            update(Visit)
            .where(Visit.id == vid, Visit.state == "confirmed", Visit.reminder_sent_at.is_(None))
            .values(reminder_sent_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        visit = s.get(Visit, vid)
        s.refresh(visit)
        app = s.get(Application, visit.application_id)
        slot = booked(visit)
        if app is None or slot is None:
            continue
        name = instrument_name(s, visit.instrument_id)
        _send(s, service._team_emails(s, app) + [v.email for v in visit.visitors]
              + _staff_emails(s, visit.instrument_id),
              f"HALRIC visit reminder: {name}, {local(slot.starts_at):%a %d %b %H:%M}",
              f"A reminder: the visit of “{confidential.public_title(app)}” to {name} begins soon.\n\nWhen: {when(slot)} (local time)\n"
              "Who: " + ", ".join(f"{v.name} ({v.arrives_on} – {v.departs_on})" for v in visit.visitors) + "\n"
              "Samples: " + ", ".join(x.name for x in visit.samples) + "\n"
              + (f"\n{slot.notes}\n" if slot.notes else "") + f"\n{link(base_url, app.id)}\n")  # fmt: skip
        audit.record(s, actor, "remind", "visit", visit.id, {"slot": slot.id})
        counts["reminders"] += 1
    for vid in list(s.scalars(finished)):
        claimed = s.execute(
            update(Visit)
            .where(Visit.id == vid, Visit.state == "confirmed")
            .values(state="done", done_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        visit = s.get(Visit, vid)
        s.refresh(visit)
        app = s.get(Application, visit.application_id)
        if app is None:
            continue
        audit.record(
            s, actor, "done", "visit", visit.id, {"visitors": len(visit.visitors), "by": "slot ended"}
        )
        for person in visit.visitors:
            _ask_feedback(s, app, visit, person, base_url)
        counts["done"] += 1
    s.flush()
    return counts
