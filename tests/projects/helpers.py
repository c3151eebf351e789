"""A running pilot project made through the services (fast; the API journey is tested in tests/calls)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from tests.support.calls import complete_draft

from halric.core.db import Database


@dataclass
class Pilot:
    app_id: int
    group: str
    proposal_id: str
    call_id: int


def actor(db: Database, username: str):
    from halric.accounts import service as accounts

    with db.session() as s:
        return accounts.actor_for(accounts.find_user(s, username), via="api")


def approved_application(
    db: Database, applicant: str, coordinator: str, facility: str, **draft
) -> tuple[int, int]:
    """An application by ``applicant`` for MAX IV's DanMAX, approved (feasibility by ``facility``)."""
    from halric.calls import service as calls
    from halric.calls.schemas import ApplicationInput, CallInput

    today = date.today()
    coord, appl, fac = actor(db, coordinator), actor(db, applicant), actor(db, facility)
    with db.session() as s:
        call = calls.create_call(s, coord, CallInput(
            slug=f"pilot-{uuid.uuid4().hex[:10]}", title="Pilot call", opens_on=today - timedelta(days=1),
            cutoffs=[today + timedelta(days=30)], budget_ceiling="60000.00", award_number="NYPS 20357868"))  # fmt: skip
        app = calls.create_draft(s, appl, call.id, instruments=["maxiv-danmax"])
        call_id, app_id = call.id, app.id
    with db.session() as s:
        calls.save_draft(s, appl, app_id, ApplicationInput(**complete_draft(1, **draft)))
        calls.submit(s, appl, app_id)
    with db.session() as s:
        calls.transition(s, coord, app_id, "feasibility")
        calls.feasibility(s, fac, app_id, "maxiv", "feasible", "Fine.")
        calls.transition(s, coord, app_id, "committee")
        calls.decide(s, coord, app_id, "approved", "Dear applicants, your pilot is approved.")
    return call_id, app_id


def running_project(db: Database, applicant: str, coordinator: str, facility: str, **draft) -> Pilot:
    from halric.projects import service as projects

    call_id, app_id = approved_application(db, applicant, coordinator, facility, **draft)
    with db.session() as s:
        _p, space = projects.start(s, actor(db, coordinator), app_id, date(2027, 1, 1), date(2027, 6, 30))
        return Pilot(app_id, space.group_name, space.proposal_id, call_id)


def group_members(db: Database, group: str) -> set[str]:
    from halric.accounts.models import Group, User, UserGroup

    with db.session() as s:
        q = (
            select(User.username)
            .join(UserGroup, UserGroup.user_id == User.id)
            .join(Group, Group.id == UserGroup.group_id)
            .where(Group.name == group)
        )
        return set(s.scalars(q))


def facility_staff(db: Database, organisation: str) -> set[str]:
    """The active facility accounts of an organisation (its staff are the facility contacts of its instruments)."""
    from halric.accounts.models import User

    with db.session() as s:
        users = s.scalars(select(User).where(User.organisation_id == organisation, User.is_active.is_(True)))
        return {u.username for u in users if "facility" in u.role_names}
