"""Who may see and do what with an application: roles on it, opening it, the lists a person sees."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.calls import confidential, conflicts, workflow
from halric.calls.models import (
    Application,
    Collaborator,
)
from halric.core.actor import Actor
from halric.core.errors import NotFound, PermissionDenied
from halric.registry import service as registry


def collaborator_of(s: Session, app: Application, actor: Actor, kind: str) -> Collaborator | None:
    if actor.user_id is None:
        return None
    return s.scalar(
        select(Collaborator).where(
            Collaborator.application_id == app.id,
            Collaborator.kind == kind,
            Collaborator.user_id == actor.user_id,
        )
    )


def is_applicant(s: Session, app: Application, actor: Actor) -> bool:
    return actor.user_id is not None and (
        app.owner_id == actor.user_id or collaborator_of(s, app, actor, "co-applicant") is not None
    )


def requested_infrastructures(s: Session, app: Application) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for iid in confidential.unwrap(app).instruments:
        try:
            inst = registry.get_instrument(s, iid)
        except NotFound:
            continue
        out[inst.infrastructure_id] = inst.infrastructure
    return out


def roles_on(s: Session, app: Application, actor: Actor) -> set[str]:
    """The hats an actor wears for this application. Staff of an organisation the applicants exclude wear
    none but the coordinator's (conflicts.py)."""
    app = confidential.unwrap(app)
    hats: set[str] = set()
    if is_applicant(s, app, actor):
        hats.add("applicant")
    if actor.has_role("coordinator") and app.state != "draft":
        hats.add("coordinator")
    if collaborator_of(s, app, actor, "ambassador") is not None:
        hats.add("ambassador")
    if "facility" in actor.roles and app.state not in ("draft", "submitted", "eligibility"):
        orgs = {i.organisation_id for i in requested_infrastructures(s, app).values()}
        if actor.organisation in orgs:
            hats.add("facility")
    if _reviews(app, actor, hats) and conflicts.conflict_of(s, app, actor) is None:
        hats.add("committee")
    if (
        app.state in ("committee", *workflow.DECIDED, *workflow.FUNDED)
        and "applicant" not in hats
        and collaborator_of(s, app, actor, "reviewer") is not None
        and conflicts.conflict_of(s, app, actor) is None
    ):
        hats.add("reviewer")
    if actor.is_admin:
        hats.add("coordinator")
    if hats - {"applicant", "coordinator"} and conflicts.excluded(s, app, actor):
        hats &= {"applicant", "coordinator"}
    return hats


REVIEW_STATES = ("committee", *workflow.DECIDED, *workflow.FUNDED)


def _reviews(app: Application, actor: Actor, hats: set[str]) -> bool:
    """A committee member who would review this application, conflicts aside."""
    return (
        ("committee" in actor.roles or actor.is_admin)
        and app.state in REVIEW_STATES
        and "applicant" not in hats
    )


def get_application(s: Session, actor: Actor, app_id: int) -> tuple[Application, set[str]]:
    """The application as the actor may see it (a confidential one redacted until they accepted the call's
    terms: confidential.py) and the actor's hats on it. A committee member in conflict with it is told so
    (403); anyone else without a hat gets 404, so the application's existence is not revealed."""
    app, hats = open_for(s, actor, app_id)
    return confidential.shown(s, actor, app, hats), hats


def open_for(s: Session, actor: Actor, app_id: int) -> tuple[Application, set[str]]:
    """``get_application`` unredacted: for the operations below, which decide themselves what they show."""
    app = s.get(Application, app_id)
    if app is None:
        raise NotFound(f"No application with id {app_id}.")
    hats = roles_on(s, app, actor)
    if not hats:
        if conflicts.excluded(s, app, actor):  # not even told that they were excluded
            raise NotFound(f"No application with id {app_id}.")
        kind = conflicts.conflict_of(s, app, actor) if _reviews(app, actor, hats) else None
        if kind is not None:
            raise PermissionDenied(conflicts.excluded_message(kind))
        raise NotFound(f"No application with id {app_id}.")  # do not reveal that it exists
    return app, hats


def my_applications(s: Session, actor: Actor) -> list[Application]:
    if actor.user_id is None:
        return []
    # the applications one applies with: owned or co-applied (an ambassador's or reviewer's are listed apart)
    co = select(Collaborator.application_id).where(
        Collaborator.user_id == actor.user_id, Collaborator.kind == "co-applicant"
    )
    q = select(Application).where((Application.owner_id == actor.user_id) | Application.id.in_(co))
    return list(s.scalars(q.order_by(Application.id.desc())))


def visible_applications(s: Session, actor: Actor, state: str | None = None) -> list[Application]:
    """Every application the actor wears a hat on; confidential ones redacted for all but their team (a list
    never carries confidential content)."""
    q = select(Application).order_by(Application.id.desc())
    if state:
        q = q.where(Application.state == state)
    return [
        confidential.shown(s, actor, a, hats, listing=True)
        for a in s.scalars(q)
        if (hats := roles_on(s, a, actor))
    ]
