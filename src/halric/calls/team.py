"""Who works on an application once it is a project: the accounts of its team, and co-applicants leaving it.

The project's people (``project_people``) are:

- the applicant (the account that owns the application);
- the co-applicants who accepted their invitation;
- the facility contacts: the active accounts with the ``facility`` role at an organisation that runs an
  infrastructure of a requested instrument (the people who see the application as facility staff), and
  whoever recorded the feasibility review of a requested infrastructure.

Only active accounts count. ``halric.projects`` makes them the members of the project's group.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.accounts.models import User
from halric.calls import confidential, mail
from halric.calls.access import get_application, requested_infrastructures
from halric.calls.models import Application, Collaborator, FeasibilityReview
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, NotFound, PermissionDenied

APPLICANT, CO_APPLICANT, FACILITY, FEASIBILITY = (
    "applicant",
    "co-applicant",
    "facility contact",
    "feasibility reviewer",
)


def project_people(s: Session, app: Application) -> dict[int, list[str]]:
    """The accounts of the project's people, each with why they belong (see the module's docstring)."""
    why: dict[int, list[str]] = defaultdict(list)
    owner = s.get(User, app.owner_id)
    if owner is not None and owner.is_active:
        why[owner.id].append(APPLICANT)
    for c in co_applicants(s, app):
        if c.user_id is not None and c.accepted_at is not None:
            u = s.get(User, c.user_id)
            if u is not None and u.is_active and CO_APPLICANT not in why[u.id]:
                why[u.id].append(CO_APPLICANT)
    infras = requested_infrastructures(s, app)
    orgs = {i.organisation_id for i in infras.values()}
    if orgs:
        staff = s.scalars(select(User).where(User.is_active.is_(True), User.organisation_id.in_(orgs)))
        for u in staff:
            if "facility" in u.role_names:
                why[u.id].append(FACILITY)
    reviews = s.scalars(select(FeasibilityReview).where(FeasibilityReview.application_id == app.id))
    for r in reviews:
        u = s.get(User, r.reviewer_id)
        if r.infrastructure_id in infras and u is not None and u.is_active and FEASIBILITY not in why[u.id]:
            why[u.id].append(FEASIBILITY)
    return {uid: reasons for uid, reasons in why.items() if reasons}


def co_applicants(s: Session, app: Application) -> list[Collaborator]:
    """Invited and accepted co-applicants, in the order they were invited."""
    q = select(Collaborator).where(Collaborator.application_id == app.id, Collaborator.kind == "co-applicant")
    return list(s.scalars(q.order_by(Collaborator.id)))


def remove_co_applicant(s: Session, actor: Actor, app_id: int, collaborator_id: int) -> Collaborator:
    """Take a co-applicant (or an open invitation) off the application: the applicant who owns it or a
    coordinator may; a co-applicant may leave by themselves. The person is told by e-mail. The caller
    brings the project's group in step (``halric.projects.service.remove_co_applicant``)."""
    app, hats = get_application(s, actor, app_id)
    c = s.get(Collaborator, collaborator_id)
    if c is None or c.application_id != app.id or c.kind != "co-applicant":
        raise NotFound(f"No co-applicant {collaborator_id} on this application.")
    leaving = c.user_id is not None and c.user_id == actor.user_id
    if not (leaving or app.owner_id == actor.user_id or "coordinator" in hats):
        raise PermissionDenied(
            "Only the applicant who owns the application and coordinators remove co-applicants."
        )
    if app.state in ("closed",):
        raise Conflict("The project is closed; its team no longer changes.")
    audit.record(s, actor, "remove-co-applicant", "application", app.id,
                 {"email": c.email, "accepted": c.accepted_at is not None})  # fmt: skip
    if c.accepted_at is not None:
        mail.queue(s, c.email, f"HALRIC application “{confidential.public_title(app)}”: you are no longer a co-applicant",
                   f"{actor.username} took you off the HALRIC pilot-project application “{confidential.public_title(app)}”."
                   if not leaving else f"You left the HALRIC pilot-project application “{confidential.public_title(app)}”.")  # fmt: skip
    s.delete(c)
    s.flush()
    return c
