"""Access visits (issue #15): slots offered by the instrument's staff and booked by the team, never two
projects on the same instrument time (also when they book at the same moment), samples under safety review
(human material needs its ethics approval), visitors within the slot, confirmation only when all is ready,
reminders once, feedback by a single-use link, the facility calendar, and who may do what."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests.support.calls import complete_draft

from halric.calls.visits import REGION_TZ


def running_project(
    client, people, open_call, instruments=("maxiv-danmax",), title="Polymorphs under humidity"
):
    """An application moved to a running project through the workflow, as the calls tests do."""
    ha, hc = people["applicant"]["h"], people["coordinator"]["h"]
    app = client.post(f"/api/calls/{open_call['id']}/applications", json={"instruments": list(instruments)},
                      headers=ha).json()  # fmt: skip
    aid = app["id"]
    r = client.put(f"/api/applications/{aid}", json=complete_draft(app["version"], title=title,
                                                                    instruments=list(instruments)), headers=ha)  # fmt: skip
    assert r.status_code == 200, r.text
    assert client.post(f"/api/applications/{aid}/submit", headers=ha).status_code == 200
    move = client.post(f"/api/applications/{aid}/transition", json={"target": "feasibility"}, headers=hc)
    assert move.status_code == 200, move.text
    for infra, staff in (("maxiv", "maxiv_staff"), ("desy", "desy_staff")):
        if any(i.startswith(infra) for i in instruments):
            r = client.post(f"/api/applications/{aid}/feasibility", headers=people[staff]["h"],
                            json={"infrastructure_id": infra, "verdict": "feasible"})  # fmt: skip
            assert r.status_code == 200, r.text
    assert (
        client.post(
            f"/api/applications/{aid}/transition", json={"target": "committee"}, headers=hc
        ).status_code
        == 200
    )
    d = client.post(f"/api/applications/{aid}/decision", headers=hc,
                    json={"outcome": "approved", "letter": "Dear applicants, your pilot is approved."})  # fmt: skip
    assert d.status_code == 200, d.text
    start = date.today()
    p = client.post(f"/api/applications/{aid}/project", headers=hc,
                    json={"started_on": start.isoformat(), "ends_on": (start + timedelta(days=180)).isoformat()})  # fmt: skip
    assert p.status_code == 201, p.text
    return aid


def at(days: int, hour: int = 8) -> str:
    """A local time ``days`` from today, as the forms send it (no offset: local time at the facilities)."""
    return (
        datetime.combine(date.today() + timedelta(days=days), datetime.min.time())
        .replace(hour=hour)
        .isoformat()
    )


def offer(
    client, people, aid, start_days=20, days=2, instrument="maxiv-danmax", staff="maxiv_staff", **extra
):
    body = {
        "instrument_id": instrument,
        "starts_at": at(start_days),
        "ends_at": at(start_days + days, 16),
        **extra,
    }
    r = client.post(f"/api/projects/{aid}/visit/slots", json=body, headers=people[staff]["h"])
    assert r.status_code == 201, r.text
    return r.json()


def visit_of(client, people, aid, who="applicant"):
    r = client.get(f"/api/projects/{aid}/visit", headers=people[who]["h"])
    assert r.status_code == 200, r.text
    return r.json()["visits"][0]


SAMPLE = {
    "name": "Tablet powder batch 7",
    "kind": "small-molecule",
    "quantity": "200 mg",
    "biosafety_level": 1,
}


def outbox(db, to: str | None = None, subject: str = "") -> list:
    from halric.calls.models import OutboxMessage

    with db.session() as s:
        q = select(OutboxMessage).where(OutboxMessage.subject.contains(subject))
        if to:
            q = q.where(OutboxMessage.to == to)
        return [(m.to, m.subject, m.body) for m in s.scalars(q.order_by(OutboxMessage.id))]


def email_of(people, who: str) -> str:
    return f"{people[who]['name']}@example.org"


def ready_visit(client, people, aid, *, start_days=20):
    """A visit with a booked slot, one approved sample and one visitor: ready to confirm."""
    ha, hs = people["applicant"]["h"], people["maxiv_staff"]["h"]
    slot = offer(client, people, aid, start_days=start_days)
    vid = visit_of(client, people, aid)["id"]
    assert client.post(f"/api/projects/{aid}/visit/slots/{slot['id']}/book", headers=ha).status_code == 200
    sample = client.post(f"/api/projects/{aid}/visit/{vid}/samples", json=SAMPLE, headers=ha).json()
    assert client.post(f"/api/projects/{aid}/visit/{vid}/samples/submit", headers=ha).status_code == 200
    r = client.post(
        f"/api/projects/{aid}/visit/samples/{sample['id']}/review", json={"decision": "approve"}, headers=hs
    )
    assert r.status_code == 200, r.text
    first = (date.today() + timedelta(days=start_days)).isoformat()
    r = client.post(f"/api/projects/{aid}/visit/{vid}/visitors", headers=ha, json={
        "name": "Vera Visitor", "organisation_id": "lu", "email": f"vera{aid}@example.org",
        "arrives_on": first, "departs_on": first})  # fmt: skip
    assert r.status_code == 201, r.text
    return vid, slot


# --- who may do what -----------------------------------------------------------------------------------


def test_each_step_is_for_its_people(client, people, open_call, db):
    aid = running_project(client, people, open_call)
    ha, hs, hc = people["applicant"]["h"], people["maxiv_staff"]["h"], people["coordinator"]["h"]
    body = {"instrument_id": "maxiv-danmax", "starts_at": at(20), "ends_at": at(22, 16)}
    # only the instrument's staff offer its time: not the team, not a coordinator, not another facility
    assert client.post(f"/api/projects/{aid}/visit/slots", json=body, headers=ha).status_code == 403
    assert client.post(f"/api/projects/{aid}/visit/slots", json=body, headers=hc).status_code == 403
    assert (
        client.post(
            f"/api/projects/{aid}/visit/slots", json=body, headers=people["desy_staff"]["h"]
        ).status_code
        == 404
    )
    # an instrument the project did not ask for is refused by the field
    other = client.post(
        f"/api/projects/{aid}/visit/slots", json={**body, "instrument_id": "maxiv-biomax"}, headers=hs
    )
    assert other.status_code == 400 and other.json()["field"] == "instrument_id"
    slot = offer(client, people, aid)
    assert "time offered" in outbox(db, email_of(people, "applicant"))[-1][1]
    vid = visit_of(client, people, aid)["id"]
    # the team, the staff and coordinators see the visit; another applicant and an ambassador do not
    assert client.get(f"/api/projects/{aid}/visit", headers=hc).status_code == 200
    assert client.get(f"/api/projects/{aid}/visit", headers=hs).json()["visits"][0]["you_are_staff"] is True
    assert client.get(f"/api/projects/{aid}/visit", headers=people["other"]["h"]).status_code == 404
    assert client.get(f"/projects/{aid}/visit", headers=people["other"]["h"]).status_code == 404
    # the team books; staff and coordinators do not
    assert client.post(f"/api/projects/{aid}/visit/slots/{slot['id']}/book", headers=hs).status_code == 403
    assert client.post(f"/api/projects/{aid}/visit/slots/{slot['id']}/book", headers=hc).status_code == 403
    assert (
        client.post(f"/api/projects/{aid}/visit/slots/{slot['id']}/book", headers=ha).json()["state"]
        == "booked"
    )
    # the team declares samples; staff review them; neither does the other's part
    assert client.post(f"/api/projects/{aid}/visit/{vid}/samples", json=SAMPLE, headers=hs).status_code == 403
    sample = client.post(f"/api/projects/{aid}/visit/{vid}/samples", json=SAMPLE, headers=ha).json()
    client.post(f"/api/projects/{aid}/visit/{vid}/samples/submit", headers=ha)
    review = f"/api/projects/{aid}/visit/samples/{sample['id']}/review"
    assert client.post(review, json={"decision": "approve"}, headers=ha).status_code == 403
    assert (
        client.post(review, json={"decision": "approve"}, headers=people["desy_staff"]["h"]).status_code
        == 404
    )
    # confirming is the staff's; a slot of another project cannot be reached through this one
    assert client.post(f"/api/projects/{aid}/visit/{vid}/confirm", headers=ha).status_code == 403
    aid2 = running_project(client, people, open_call, title="Second project")
    assert client.post(f"/api/projects/{aid2}/visit/slots/{slot['id']}/cancel", headers=ha).status_code == 404
    assert (
        client.post(f"/api/projects/{aid2}/visit/{vid}/samples", json=SAMPLE, headers=ha).status_code == 404
    )
    # every change is in the audit log, by whom
    from halric.core.audit import AuditEvent

    with db.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "visit",
                                                    AuditEvent.entity_id == str(vid))).all()  # fmt: skip
        seen = {(e.action, e.actor_name) for e in events}
    assert ("offer-slot", people["maxiv_staff"]["name"]) in seen
    assert ("book-slot", people["applicant"]["name"]) in seen
    assert {"declare-sample", "submit-samples"} <= {a for a, _ in seen}


def test_a_project_not_running_has_no_visit(client, people, open_call):
    h = people["applicant"]["h"]
    app = client.post(
        f"/api/calls/{open_call['id']}/applications", json={"instruments": ["maxiv-danmax"]}, headers=h
    )
    aid = app.json()["id"]
    r = client.get(f"/api/projects/{aid}/visit", headers=h)
    assert r.status_code == 404 and "no running project" in r.json()["detail"]


# --- no double booking -----------------------------------------------------------------------------------


def test_two_projects_never_book_the_same_instrument_time(client, people, open_call, db):
    a1 = running_project(client, people, open_call, title="First")
    a2 = running_project(client, people, open_call, title="Second")
    ha = people["applicant"]["h"]
    s1 = offer(client, people, a1, start_days=40, days=2)
    s2 = offer(client, people, a2, start_days=41, days=2)  # overlaps s1 by a day
    s3 = offer(client, people, a2, start_days=42, days=1)  # starts when s1 ends (16:00 vs 08:00: overlaps)
    s4 = offer(client, people, a2, start_days=50, days=1)
    assert client.post(f"/api/projects/{a1}/visit/slots/{s1['id']}/book", headers=ha).status_code == 200
    r = client.post(f"/api/projects/{a2}/visit/slots/{s2['id']}/book", headers=ha)
    assert r.status_code == 409 and "another project" in r.json()["detail"]
    assert client.post(f"/api/projects/{a2}/visit/slots/{s3['id']}/book", headers=ha).status_code == 409
    # the clash shows: the other project's overlapping slots are marked taken
    slots = {x["id"]: x for x in visit_of(client, people, a2)["slots"]}
    assert slots[s2["id"]].get("status") == "taken" and "status" not in slots[s4["id"]]
    assert client.post(f"/api/projects/{a2}/visit/slots/{s4['id']}/book", headers=ha).status_code == 200
    # the staff cannot offer booked time to anyone else
    clash = client.post(f"/api/projects/{a2}/visit/slots", headers=people["maxiv_staff"]["h"], json={
        "instrument_id": "maxiv-danmax", "starts_at": at(40, 12), "ends_at": at(40, 20)})  # fmt: skip
    assert clash.status_code == 409 and clash.json()["field"] == "starts_at"
    # moving a booking within a project frees the first slot; cancelling frees it too, and the other can book
    assert client.post(f"/api/projects/{a1}/visit/slots/{s1['id']}/cancel", headers=ha).status_code == 200
    assert client.post(f"/api/projects/{a2}/visit/slots/{s2['id']}/book", headers=ha).status_code == 200
    v2 = visit_of(client, people, a2)
    states = {x["id"]: x["state"] for x in v2["slots"]}
    assert states[s2["id"]] == "booked" and states[s4["id"]] == "offered"  # one booking per visit
    assert client.post(f"/api/projects/{a1}/visit/slots/{s1['id']}/book", headers=ha).status_code == 409
    staff_mail = outbox(db, email_of(people, "maxiv_staff"), "booked by")
    assert staff_mail and "Second" in staff_mail[-1][1]


def test_concurrent_bookings_of_overlapping_time_let_one_win(client, people, open_call, db):
    """Two teams press "Book" at the same moment: the second waits for the first's lock and is refused.
    The first transaction stays open (booked, not committed) while the second tries: without the lock, the
    second would not see the first's booking and both would succeed."""
    from halric.calls import visits
    from halric.calls.models import VisitSlot
    from halric.core.errors import Conflict

    a1 = running_project(client, people, open_call, title="Racer one")
    a2 = running_project(client, people, open_call, title="Racer two")
    s1 = offer(client, people, a1, start_days=60, days=3)
    s2 = offer(client, people, a2, start_days=61, days=3)
    actor = _actor(db, people["applicant"]["name"])
    first_booked, results = threading.Event(), {}

    def one() -> None:
        with db.session() as s:
            visits.book_slot(s, actor, a1, s1["id"])
            first_booked.set()
            time.sleep(1.0)  # hold the transaction open while the second tries
        results["one"] = "booked"

    def two() -> None:
        first_booked.wait(10)
        try:
            with db.session() as s:
                visits.book_slot(s, actor, a2, s2["id"])
            results["two"] = "booked"
        except Conflict as exc:
            results["two"] = exc.detail

    threads = [threading.Thread(target=one), threading.Thread(target=two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results["one"] == "booked"
    assert "another project" in results["two"], results
    with db.session() as s:
        booked = s.scalar(select(func.count()).select_from(VisitSlot).where(
            VisitSlot.instrument_id == "maxiv-danmax", VisitSlot.state == "booked",
            VisitSlot.id.in_([s1["id"], s2["id"]])))  # fmt: skip
    assert booked == 1


def _actor(db, username: str):
    from halric.accounts import service as accounts
    from halric.accounts.models import User

    with db.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        return accounts.actor_for(user, ip=None, via="api")


# --- samples, visitors and the confirmation --------------------------------------------------------------


def test_human_material_needs_its_ethics_approval(client, people, open_call):
    aid = running_project(client, people, open_call)
    offer(client, people, aid, start_days=100)
    vid = visit_of(client, people, aid)["id"]
    ha = people["applicant"]["h"]
    blood = {"name": "Patient serum", "kind": "body-fluid", "biosafety_level": 2, "human_material": True}
    r = client.post(f"/api/projects/{aid}/visit/{vid}/samples", json=blood, headers=ha)
    assert r.status_code == 400 and r.json()["field"] == "ethics_reference"
    r = client.post(
        f"/api/projects/{aid}/visit/{vid}/samples", json={**blood, "ethics_reference": "  "}, headers=ha
    )
    assert r.status_code == 400 and r.json()["field"] == "ethics_reference"
    ok = client.post(f"/api/projects/{aid}/visit/{vid}/samples", headers=ha,
                     json={**blood, "ethics_reference": "Dnr 2026-01234-01"})  # fmt: skip
    assert ok.status_code == 201 and ok.json()["ethics_reference"] == "Dnr 2026-01234-01"
    # radioactive material names its isotope; a ticked chemical hazard names the substances
    hot = client.post(f"/api/projects/{aid}/visit/{vid}/samples", headers=ha,
                      json={**SAMPLE, "radioactive": True})  # fmt: skip
    assert hot.status_code == 400 and hot.json()["field"] == "radiation_details"
    toxic = client.post(f"/api/projects/{aid}/visit/{vid}/samples", headers=ha,
                        json={**SAMPLE, "chemical_hazards": ["acute-toxic"]})  # fmt: skip
    assert toxic.status_code == 400 and toxic.json()["field"] == "hazard_details"
    bad = client.post(f"/api/projects/{aid}/visit/{vid}/samples", headers=ha,
                      json={**SAMPLE, "biosafety_level": 5, "chemical_hazards": ["astrology"]})  # fmt: skip
    assert bad.status_code == 422
    # an edit of a sample without the reference is refused too, and the sample is unchanged
    sid = ok.json()["id"]
    r = client.put(f"/api/projects/{aid}/visit/samples/{sid}", json={**blood, "name": "Renamed"}, headers=ha)
    assert r.status_code == 400
    assert visit_of(client, people, aid)["samples"][0]["name"] == "Patient serum"


def test_the_page_form_keeps_what_was_typed_and_says_why(client, people, open_call):
    from tests.support.accounts import csrf_from, signin

    aid = running_project(client, people, open_call)
    offer(client, people, aid, start_days=110)
    vid = visit_of(client, people, aid)["id"]
    signin(client, people["applicant"]["name"])
    page = client.get(f"/projects/{aid}/visit")
    assert page.status_code == 200 and "Declare a sample" in page.text
    r = client.post(f"/projects/{aid}/visit/action", data={
        "csrf_token": csrf_from(page.text), "do": "sample-add", "visit_id": str(vid), "name": "Donor fibroblasts",
        "kind": "cells", "quantity": "2 vials", "biosafety_level": "2", "human_material": "1",
        "chemical_hazards": ["harmful"], "hazard_details": "DMSO 10 % in the freezing medium", "ethics_reference": ""})  # fmt: skip
    assert r.status_code == 400
    assert 'id="err-ethics_reference"' in r.text and "Ethics approval reference" in r.text
    assert 'value="Donor fibroblasts"' in r.text and "DMSO 10 % in the freezing medium" in r.text
    assert 'value="harmful" checked' in r.text
    # a visitor before a slot is booked: said in words, nothing stored
    r = client.post(f"/projects/{aid}/visit/action", data={
        "csrf_token": csrf_from(page.text), "do": "visitor-add", "visit_id": str(vid), "name": "Early Bird",
        "organisation_id": "lu", "email": "early@example.org", "arrives_on": at(110)[:10], "departs_on": at(110)[:10]})  # fmt: skip
    assert r.status_code == 409 and "Book a slot first" in r.text
    client.cookies.clear()


def test_confirmation_waits_for_slot_samples_and_visitors(client, people, open_call, db):
    aid = running_project(client, people, open_call)
    ha, hs = people["applicant"]["h"], people["maxiv_staff"]["h"]
    slot = offer(client, people, aid, start_days=30, days=2, capacity=1)
    vid = visit_of(client, people, aid)["id"]
    confirm = f"/api/projects/{aid}/visit/{vid}/confirm"
    r = client.post(confirm, headers=hs)
    assert r.status_code == 409 and "No slot booked" in r.json()["detail"]
    client.post(f"/api/projects/{aid}/visit/slots/{slot['id']}/book", headers=ha)
    r = client.post(confirm, headers=hs)
    assert r.status_code == 409 and "No samples declared" in r.json()["detail"]
    s1 = client.post(f"/api/projects/{aid}/visit/{vid}/samples", json=SAMPLE, headers=ha).json()
    s2 = client.post(f"/api/projects/{aid}/visit/{vid}/samples", headers=ha,
                     json={**SAMPLE, "name": "Reference polymorph", "kind": "material"}).json()  # fmt: skip
    assert client.post(confirm, headers=hs).status_code == 409  # declared, not yet reviewed
    assert client.post(f"/api/projects/{aid}/visit/samples/{s1['id']}/review", json={"decision": "approve"},
                       headers=hs).status_code == 409  # not submitted yet  # fmt: skip
    assert client.post(f"/api/projects/{aid}/visit/{vid}/samples/submit", headers=ha).status_code == 200
    assert "samples for safety review" in outbox(db, email_of(people, "maxiv_staff"))[-1][1]
    # asking for changes needs a comment; the team is told once every sample is reviewed
    review = f"/api/projects/{aid}/visit/samples/{s2['id']}/review"
    r = client.post(review, json={"decision": "changes"}, headers=hs)
    assert r.status_code == 400 and r.json()["field"] == "comment"
    client.post(
        review, json={"decision": "changes", "comment": "Say how the powder is contained."}, headers=hs
    )
    assert not outbox(db, email_of(people, "applicant"), "safety")  # s1 still waits: no mail yet
    client.post(
        f"/api/projects/{aid}/visit/samples/{s1['id']}/review", json={"decision": "approve"}, headers=hs
    )
    (mail,) = outbox(db, email_of(people, "applicant"), "safety review asks for changes")
    assert "Say how the powder is contained." in mail[2]
    r = client.post(confirm, headers=hs)
    assert r.status_code == 409 and "1 of 2" in r.json()["detail"]
    client.put(f"/api/projects/{aid}/visit/samples/{s2['id']}", headers=ha,
               json={**SAMPLE, "name": "Reference polymorph", "kind": "material", "description": "Sealed capillary."})  # fmt: skip
    client.post(f"/api/projects/{aid}/visit/{vid}/samples/submit", headers=ha)
    client.post(review, json={"decision": "approve", "comment": "Fine."}, headers=hs)
    assert outbox(db, email_of(people, "applicant"), "safety approved")
    r = client.post(confirm, headers=hs)
    assert r.status_code == 409 and "No visitor registered" in r.json()["detail"]
    # visitors come within the slot, one per place
    first = (date.today() + timedelta(days=30)).isoformat()
    visitor = {"name": "Vera Visitor", "organisation_id": "lu", "email": "Vera@Example.org",
               "arrives_on": (date.today() + timedelta(days=29)).isoformat(), "departs_on": first}  # fmt: skip
    r = client.post(f"/api/projects/{aid}/visit/{vid}/visitors", json=visitor, headers=ha)
    assert r.status_code == 400 and r.json()["field"] == "arrives_on"
    late = {**visitor, "arrives_on": first, "departs_on": (date.today() + timedelta(days=33)).isoformat()}
    assert (
        client.post(f"/api/projects/{aid}/visit/{vid}/visitors", json=late, headers=ha).json()["field"]
        == "departs_on"
    )
    unknown = {**visitor, "arrives_on": first, "organisation_id": "nowhere"}
    assert (
        client.post(f"/api/projects/{aid}/visit/{vid}/visitors", json=unknown, headers=ha).json()["field"]
        == "organisation_id"
    )
    ok = client.post(
        f"/api/projects/{aid}/visit/{vid}/visitors", json={**visitor, "arrives_on": first}, headers=ha
    )
    assert ok.status_code == 201 and ok.json()["email"] == "vera@example.org"
    full = client.post(f"/api/projects/{aid}/visit/{vid}/visitors", headers=ha,
                       json={**visitor, "arrives_on": first, "email": "second@example.org"})  # fmt: skip
    assert full.status_code == 409 and "takes 1 visitor" in full.json()["detail"]
    r = client.post(confirm, headers=hs)
    assert r.status_code == 200 and r.json()["state"] == "confirmed"
    assert outbox(db, "vera@example.org", "visit confirmed")
    # confirmed: the booking, samples and visitors stay as they are, until the staff reopen it
    assert client.post(f"/api/projects/{aid}/visit/slots/{slot['id']}/cancel", headers=ha).status_code == 409
    assert client.post(f"/api/projects/{aid}/visit/{vid}/samples", json=SAMPLE, headers=ha).status_code == 409
    assert client.post(f"/api/projects/{aid}/visit/{vid}/reopen", headers=hs).json()["state"] == "planning"
    assert client.post(f"/api/projects/{aid}/visit/slots/{slot['id']}/cancel", headers=ha).status_code == 200


# --- after the visit -------------------------------------------------------------------------------------


def test_feedback_link_works_once_and_completes_the_feedback(client, people, open_call, db):
    from halric.calls.visits import feedback_complete

    aid = running_project(client, people, open_call)
    with db.session() as s:
        assert feedback_complete(s, aid) is True  # no visit: nothing to wait for
    vid, _slot = ready_visit(client, people, aid, start_days=120)
    hs = people["maxiv_staff"]["h"]
    with db.session() as s:
        assert feedback_complete(s, aid) is True  # still planning: no visit has taken place
    assert (
        client.post(f"/api/projects/{aid}/visit/{vid}/done", headers=hs).status_code == 409
    )  # not confirmed
    client.post(f"/api/projects/{aid}/visit/{vid}/confirm", headers=hs)
    with db.session() as s:
        assert feedback_complete(s, aid) is False  # a confirmed visit is ahead
    assert (
        client.post(f"/api/projects/{aid}/visit/{vid}/done", headers=people["applicant"]["h"]).status_code
        == 403
    )
    assert client.post(f"/api/projects/{aid}/visit/{vid}/done", headers=hs).json()["state"] == "done"
    with db.session() as s:
        assert feedback_complete(s, aid) is False
    (mail,) = outbox(db, f"vera{aid}@example.org", "how was your visit")
    token = mail[2].split("/visits/feedback/")[1].split()[0]
    page = client.get(f"/visits/feedback/{token}")  # no account needed
    assert page.status_code == 200 and "Vera Visitor" in page.text
    bad = client.post(f"/api/visits/feedback/{token}", json={"rating": 9})
    assert bad.status_code == 422
    r = client.post(f"/api/visits/feedback/{token}", json={"rating": 4, "comments": "Helpful local contact."})
    assert r.status_code == 200 and "Vera" in r.json()["thanks"]
    again = client.post(f"/api/visits/feedback/{token}", json={"rating": 1})
    assert again.status_code == 404 and "used already" in again.json()["detail"]
    assert client.get(f"/visits/feedback/{token}").status_code == 404
    with db.session() as s:
        assert feedback_complete(s, aid) is True
    staff_view = visit_of(client, people, aid, "maxiv_staff")["visitors"][0]
    assert staff_view["rating"] == 4 and staff_view["feedback_comments"] == "Helpful local contact."
    assert "rating" not in visit_of(client, people, aid)["visitors"][0]  # the team sees that, not what
    r = client.post(f"/api/projects/{aid}/visit/visitors/{staff_view['id']}/feedback-request", headers=hs)
    assert r.status_code == 409  # answered already


def test_a_new_feedback_link_replaces_the_old_one(client, people, open_call, db):
    aid = running_project(client, people, open_call)
    vid, _ = ready_visit(client, people, aid, start_days=130)
    hs = people["maxiv_staff"]["h"]
    client.post(f"/api/projects/{aid}/visit/{vid}/confirm", headers=hs)
    client.post(f"/api/projects/{aid}/visit/{vid}/done", headers=hs)
    old = (
        outbox(db, f"vera{aid}@example.org", "how was your visit")[-1][2]
        .split("/visits/feedback/")[1]
        .split()[0]
    )
    person = visit_of(client, people, aid)["visitors"][0]
    r = client.post(
        f"/api/projects/{aid}/visit/visitors/{person['id']}/feedback-request",
        headers=people["applicant"]["h"],
    )
    assert r.status_code == 200
    new = (
        outbox(db, f"vera{aid}@example.org", "how was your visit")[-1][2]
        .split("/visits/feedback/")[1]
        .split()[0]
    )
    assert new != old
    assert client.post(f"/api/visits/feedback/{old}", json={"rating": 3}).status_code == 404
    assert client.post(f"/api/visits/feedback/{new}", json={"rating": 3}).status_code == 200


def test_the_reminder_goes_out_once_and_an_ended_visit_asks_for_feedback(
    client, people, open_call, db, settings
):
    from halric.calls import visits
    from halric.jobs.tasks import HANDLERS, Context

    aid = running_project(client, people, open_call)
    vid, slot = ready_visit(client, people, aid, start_days=70)
    client.post(f"/api/projects/{aid}/visit/{vid}/confirm", headers=people["maxiv_staff"]["h"])
    starts = datetime.fromisoformat(slot["starts_at"])
    two_days_before = starts - timedelta(days=2)
    with db.session() as s:
        assert not visits.has_due(s, starts - timedelta(days=10))
        assert visits.has_due(s, two_days_before)
    # two runs at once (two workers): one reminder per person
    results = []

    def run() -> None:
        with db.session() as s:
            results.append(visits.send_due(s, "https://hub.example.org", two_days_before)["reminders"])

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    reminders = [m for m in outbox(db, subject="visit reminder") if f"/projects/{aid}/visit" in m[2]]
    assert sorted(results) == [0, 1]
    to = [m[0] for m in reminders]
    assert {email_of(people, "applicant"), f"vera{aid}@example.org", email_of(people, "maxiv_staff")} <= set(
        to
    )
    assert len(to) == len(set(to))  # everyone once (every MAX IV staff member of this database is told)
    with db.session() as s:  # and again later: nothing more
        assert (
            visits.send_due(s, "https://hub.example.org", two_days_before + timedelta(hours=6))["reminders"]
            == 0
        )
    # the job (as the scheduler runs it) closes the visit once its slot has ended, and asks for feedback
    ends = datetime.fromisoformat(slot["ends_at"])
    ctx = Context(db=db, settings=settings, actor=visits.system_actor("t"), job_id=0)
    import halric.calls.visits as vmod

    real = vmod.utcnow
    vmod.utcnow = lambda: ends + timedelta(hours=1)
    try:
        assert HANDLERS["visits.due"](ctx, {})["done"] >= 1
        assert HANDLERS["visits.due"](ctx, {})["done"] == 0
    finally:
        vmod.utcnow = real
    assert visit_of(client, people, aid)["state"] == "done"
    assert len(outbox(db, f"vera{aid}@example.org", "how was your visit")) == 1


def test_the_scheduler_adds_the_visit_job_only_when_something_is_due(db, settings):
    from halric.jobs.schedule import schedules

    names = {sc.name: sc for sc in schedules(db, settings)}
    assert (
        names["visits"].kind == "visits.due"
        and names["visits"].every_seconds == settings.schedule_visits_seconds
    )
    with db.session() as s:
        assert names["visits"].has_work is not None
        assert isinstance(names["visits"].has_work(s), bool)


# --- the facility calendar -------------------------------------------------------------------------------


def test_facility_calendar_week_by_week_and_as_icalendar(client, people, open_call, make_user):
    aid = running_project(client, people, open_call, title="Calendar project; with, commas")
    slot = offer(client, people, aid, start_days=90, days=1, notes="Local contact: Dr. Beam")
    start = datetime.fromisoformat(slot["starts_at"]).astimezone(REGION_TZ)
    week = f"{start.isocalendar().year}-W{start.isocalendar().week:02d}"
    hs = people["maxiv_staff"]["h"]
    page = client.get(f"/facility/calendar?week={week}", headers=hs)
    assert page.status_code == 200 and "Calendar project; with, commas" in page.text and "Free" in page.text
    data = client.get(f"/api/facility/calendar?week={week}", headers=hs).json()
    assert [x["id"] for x in data["slots"]] == [slot["id"]] and data["slots"][0]["status"] == "free"
    # another facility's staff see none of it; applicants have no calendar; a coordinator sees every facility
    assert (
        client.get(f"/api/facility/calendar?week={week}", headers=people["desy_staff"]["h"]).json()["slots"]
        == []
    )
    assert client.get(f"/facility/calendar?week={week}", headers=people["applicant"]["h"]).status_code == 403
    assert [x["id"] for x in client.get(f"/api/facility/calendar?week={week}",
                                        headers=people["coordinator"]["h"]).json()["slots"]] == [slot["id"]]  # fmt: skip
    assert client.get("/api/facility/calendar?week=2027-13", headers=hs).status_code == 422
    assert client.get("/facility/calendar?week=2027-W77", headers=hs).status_code == 400
    ics = client.get(f"/facility/calendar.ics?week={week}", headers=hs)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    text = ics.text
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert f"UID:halric-visit-slot-{slot['id']}@" in text
    utc = datetime.fromisoformat(slot["starts_at"]).astimezone(UTC)
    assert f"DTSTART:{utc:%Y%m%dT%H%M%S}Z" in text
    unfolded = text.replace("\r\n ", "")
    assert "Calendar project\\; with\\, commas" in unfolded and "Local contact: Dr. Beam" in unfolded
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    upcoming = client.get("/facility/calendar.ics", headers=hs).text
    assert f"UID:halric-visit-slot-{slot['id']}@" in upcoming


@pytest.mark.parametrize("path", ["/facility/calendar", "/facility/calendar.ics", "/api/facility/calendar"])
def test_the_calendar_needs_a_sign_in(client, path):
    assert client.get(path, headers={"Accept": "application/json"}).status_code == 401
