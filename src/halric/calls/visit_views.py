"""What people see of access visits: a project's visits as JSON, and the facility's calendar — the slots on
the instruments of one's facility, week by week, and the same as an iCalendar file (RFC 5545)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.calls import confidential
from halric.calls.models import Application, Visit, Visitor, VisitSample, VisitSlot
from halric.calls.visits import (
    REGION_TZ,
    VISIT_STATES,
    Access,
    access,
    clashes,
    feedback_complete,
    instrument_name,
    is_staff,
    link,
    local,
    readiness,
    visits_of,
    when,
)
from halric.core.actor import Actor
from halric.core.errors import InvalidInput, PermissionDenied
from halric.core.timeutil import as_utc, utcnow


@dataclass(frozen=True)
class Entry:
    slot: VisitSlot
    visit: Visit
    app: Application
    instrument: str
    status: str  # free | booked | confirmed | done | taken

    @property
    def title(self) -> str:
        """The project as the calendar names it (a list: a confidential one by its number)."""
        return confidential.public_title(self.app)

    @property
    def label(self) -> str:
        return {"free": "Free", "booked": "Booked", "confirmed": "Confirmed", "done": "Done",
                "taken": "Free, but the time is booked by another project"}[self.status]  # fmt: skip


def week_start(value: str | None, today: date | None = None) -> date:
    """The Monday of an ISO week ``2027-W09`` (this week when none is given)."""
    if not value:
        d = today or utcnow().astimezone(REGION_TZ).date()
        return d - timedelta(days=d.weekday())
    try:
        year, week = value.upper().split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError as exc:
        raise InvalidInput("week: give an ISO week such as 2027-W09", field="week") from exc


def calendar(s: Session, actor: Actor, start: date, days: int = 7, *, upcoming: bool = False) -> list[Entry]:
    """Slots on the instruments the actor is staff of (coordinators: every instrument) in ``days`` days
    from ``start`` (local dates), or from ``start`` on when ``upcoming``; withdrawn slots are left out."""
    if not (actor.has_role("coordinator") or "facility" in actor.roles):
        raise PermissionDenied("The visit calendar is for facility staff and coordinators.")
    lo = datetime.combine(start, datetime.min.time(), REGION_TZ)
    q = select(VisitSlot).where(VisitSlot.state != "withdrawn", VisitSlot.ends_at > lo)
    if not upcoming:
        q = q.where(VisitSlot.starts_at < lo + timedelta(days=days))
    everyone = actor.has_role("coordinator")
    staff: dict[str, bool] = {}
    out = []
    for slot in s.scalars(q.order_by(VisitSlot.starts_at, VisitSlot.id).limit(2000)):
        if not everyone:
            if slot.instrument_id not in staff:
                staff[slot.instrument_id] = is_staff(s, actor, slot.instrument_id)
            if not staff[slot.instrument_id]:
                continue
        visit = s.get(Visit, slot.visit_id)
        app = s.get(Application, visit.application_id) if visit else None
        if visit is None or app is None:
            continue
        if slot.state == "offered" and visit.state != "planning":
            continue  # an alternative the team did not take: no longer on offer
        if slot.state == "booked":
            status = {"planning": "booked"}.get(visit.state, visit.state)
        else:
            status = "taken" if clashes(s, slot, exclude_visit=visit.id) else "free"
        out.append(Entry(slot, visit, app, instrument_name(s, slot.instrument_id), status))
    return out


def by_day(entries: list[Entry], start: date, days: int = 7) -> list[tuple[date, list[Entry]]]:
    """Each day of the week with the slots that cover some of it."""
    out = []
    for n in range(days):
        d = start + timedelta(days=n)
        out.append((d, [e for e in entries if local(e.slot.starts_at).date() <= d <= _last_day(e.slot)]))
    return out


def _last_day(slot: VisitSlot) -> date:
    end = local(slot.ends_at)
    return (end - timedelta(microseconds=1)).date() if end.time() == datetime.min.time() else end.date()


def _ics_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """RFC 5545 §3.1: lines longer than 75 octets continue on the next line after a space."""
    out, current = [], b""
    for ch in line:
        b = ch.encode()
        if len(current) + len(b) > (75 if not out else 74):
            out.append(current.decode())
            current = b""
        current += b
    out.append(current.decode())
    return "\r\n ".join(out)


def ical(entries: list[Entry], base_url: str, host: str) -> str:
    """The slots as an iCalendar file (RFC 5545): one event per slot, times in UTC."""

    def stamp(value: datetime) -> str:
        return as_utc(value).strftime("%Y%m%dT%H%M%SZ")

    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//HALRIC Hub//Access visits//EN", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", "X-WR-CALNAME:HALRIC access visits"]  # fmt: skip
    now = stamp(utcnow())
    for e in entries:
        status = {"free": "TENTATIVE", "taken": "TENTATIVE", "booked": "TENTATIVE"}.get(e.status, "CONFIRMED")
        who = ", ".join(v.name for v in e.visit.visitors)
        desc = f"Project: {e.title}\nStatus: {e.label}\nCapacity: {e.slot.capacity} visitor(s)"
        desc += (f"\nVisitors: {who}" if who else "") + (f"\n{e.slot.notes}" if e.slot.notes else "")
        lines += [
            "BEGIN:VEVENT", f"UID:halric-visit-slot-{e.slot.id}@{host}", f"DTSTAMP:{now}",
            f"DTSTART:{stamp(e.slot.starts_at)}", f"DTEND:{stamp(e.slot.ends_at)}",
            "SUMMARY:" + _ics_text(f"{e.instrument}: {e.title} ({e.label.split(',')[0].lower()})"),
            "DESCRIPTION:" + _ics_text(desc), f"STATUS:{status}",
            f"URL:{link(base_url, e.app.id)}", "END:VEVENT",
        ]  # fmt: skip
    lines.append("END:VCALENDAR")
    return "".join(_fold(x) + "\r\n" for x in lines)


def slot_dict(slot: VisitSlot, status: str | None = None) -> dict[str, Any]:
    return {"id": slot.id, "instrument_id": slot.instrument_id, "starts_at": as_utc(slot.starts_at).isoformat(),
            "ends_at": as_utc(slot.ends_at).isoformat(), "local": when(slot), "capacity": slot.capacity,
            "notes": slot.notes, "state": slot.state, **({"status": status} if status else {})}  # fmt: skip


def sample_dict(x: VisitSample) -> dict[str, Any]:
    return {"id": x.id, "name": x.name, "kind": x.kind, "quantity": x.quantity, "description": x.description,
            "biosafety_level": x.biosafety_level, "chemical_hazards": x.chemical_hazards,
            "hazard_details": x.hazard_details, "radioactive": x.radioactive,
            "radiation_details": x.radiation_details, "human_material": x.human_material,
            "ethics_reference": x.ethics_reference, "state": x.state, "review_comment": x.review_comment}  # fmt: skip


def visitor_dict(v: Visitor, *, with_feedback: bool) -> dict[str, Any]:
    out = {"id": v.id, "name": v.name, "organisation_id": v.organisation_id, "email": v.email,
           "arrives_on": v.arrives_on.isoformat(), "departs_on": v.departs_on.isoformat(),
           "feedback_asked": v.feedback_sent_at is not None, "feedback_given": v.feedback_at is not None}  # fmt: skip
    if with_feedback:
        out |= {"rating": v.rating, "feedback_comments": v.feedback_comments}
    return out


def visit_dict(s: Session, a: Access, visit: Visit) -> dict[str, Any]:
    staff = is_staff(s, a.actor, visit.instrument_id)
    return {
        "id": visit.id, "instrument_id": visit.instrument_id, "instrument": instrument_name(s, visit.instrument_id),
        "state": visit.state, "state_label": VISIT_STATES[visit.state],
        "confirmed_at": as_utc(visit.confirmed_at).isoformat() if visit.confirmed_at else None,
        "done_at": as_utc(visit.done_at).isoformat() if visit.done_at else None,
        "slots": [slot_dict(x, "taken" if x.state == "offered" and clashes(s, x, exclude_visit=visit.id) else None)
                  for x in visit.slots if x.state != "withdrawn"],
        "samples": [sample_dict(x) for x in visit.samples],
        "visitors": [visitor_dict(v, with_feedback=staff or a.coordinator) for v in visit.visitors],
        "ready": [{"key": c.key, "ok": c.ok, "text": c.text} for c in readiness(visit)],
        "you_are_staff": staff,
    }  # fmt: skip


def overview(s: Session, actor: Actor, app_id: int) -> dict[str, Any]:
    a = access(s, actor, app_id)
    return {"application_id": a.app.id, "title": a.app.title, "project_state": a.app.state,
            "your_roles": sorted(a.hats), "feedback_complete": feedback_complete(s, a.app.id),
            "visits": [visit_dict(s, a, v) for v in visits_of(s, a.app.id)]}  # fmt: skip
