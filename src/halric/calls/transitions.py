"""Moving an application through the workflow: submit, transitions, conflict flags."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.accounts.models import User
from halric.calls import confidential, mail, rules, workflow
from halric.calls.access import open_for, requested_infrastructures
from halric.calls.call_admin import call_is_open, cutoff_for
from halric.calls.conflicts import team_organisations
from halric.calls.eligibility import evaluate
from halric.calls.invitations import assign_regional_ambassadors
from halric.calls.models import (
    Application,
    Collaborator,
    CommitteeReview,
    FeasibilityReview,
    Transition,
)
from halric.core import audit
from halric.core.actor import Actor, system_actor
from halric.core.errors import Conflict, InvalidInput, PermissionDenied
from halric.core.timeutil import utcnow


def move_to(
    s: Session, actor: Actor, app: Application, target: str, hats: set[str], comment: str = ""
) -> None:
    try:
        workflow.check(app.state, target, hats)
    except workflow.TransitionError as exc:
        raise Conflict(str(exc)) from exc
    s.add(Transition(application_id=app.id, from_state=app.state, to_state=target, actor_id=actor.user_id,
                     actor_name=actor.username, comment=comment))  # fmt: skip
    audit.record(s, actor, "transition", "application", app.id, {"from": app.state, "to": target})
    app.state = target
    app.version += 1
    for email in _team_emails(s, app):
        mail.queue(s, email, f"HALRIC application “{app.title}”: {workflow.LABELS[target]}",
                   f"Your HALRIC pilot-project application “{app.title}” is now: {workflow.LABELS[target]}."
                   + (f"\n\n{comment}" if comment else ""))  # fmt: skip


def _team_emails(s: Session, app: Application) -> list[str]:
    owner = s.get(User, app.owner_id)
    emails = [owner.email] if owner else []
    emails += [c.email for c in s.scalars(select(Collaborator).where(Collaborator.application_id == app.id,
                                                                      Collaborator.kind == "co-applicant",
                                                                      Collaborator.accepted_at.is_not(None)))]  # fmt: skip
    return sorted(set(emails))


def submit(s: Session, actor: Actor, app_id: int) -> rules.Evaluation:
    app, hats = open_for(s, actor, app_id)
    if "applicant" not in hats:
        raise PermissionDenied("Only the applicants submit this application.")
    if not call_is_open(app.call):
        raise Conflict(f"The call “{app.call.title}” is closed.")
    if app.confidential and len(app.public_summary.strip()) < 20:
        raise InvalidInput(
            "public_summary: a confidential application needs a non-confidential summary (at least 20 characters): "
            "it is what everyone sees who has not accepted the call's confidentiality terms",
            field="public_summary",
        )
    ev = evaluate(s, app)
    if not ev.eligible:
        failing = [r for r in ev.results if r.status == "fail"]
        raise InvalidInput("Not yet eligible: " + "; ".join(f"{r.label} — {r.reason}" for r in failing))
    move_to(s, actor, app, "submitted", hats)
    assign_regional_ambassadors(s, app)
    app.submitted_at = utcnow()
    app.cutoff = cutoff_for(app.call, app.submitted_at.date())
    move_to(s, system_actor("eligibility-engine", via="system"), app, "eligibility", {"system"},
          "Automatic eligibility check: " + "; ".join(f"{r.label}: {r.status}" for r in ev.results))  # fmt: skip
    return ev


def transition(s: Session, actor: Actor, app_id: int, target: str, comment: str = "") -> Application:
    """Move the application; returns it as the actor may see it."""
    app, hats = open_for(s, actor, app_id)
    if target in workflow.DECIDED and app.state == "committee":
        raise Conflict("Record the decision with its letter (decide), not as a bare transition.")
    if target == "committee":
        missing = set(requested_infrastructures(s, app)) - {
            f.infrastructure_id
            for f in s.scalars(select(FeasibilityReview).where(FeasibilityReview.application_id == app.id))
        }
        if missing:
            raise Conflict("Feasibility reviews are missing for: " + ", ".join(sorted(missing)))
    if target == "running":
        raise Conflict("Start the project with its start and end dates (start_project).")
    if target == "closed" and app.state == "final-report":
        from halric.calls.report import missing_for_closure

        missing = missing_for_closure(s, app)
        if missing:
            raise Conflict("The project cannot close yet; still missing: " + "; ".join(missing) + ".")
    if target == "submitted":
        raise Conflict(
            "Submit the application from its form (Submit application), where eligibility is checked."
        )
    move_to(s, actor, app, target, hats, comment)
    if target == "committee":
        flag_conflicts(s, app)
    return confidential.shown(s, actor, app, hats)


def flag_conflicts(s: Session, app: Application) -> int:
    """Record a conflict of interest for every committee member from one of the team's organisations."""
    app = confidential.unwrap(app)
    orgs = team_organisations(app)
    n = 0
    for member in s.scalars(select(User).where(User.is_active.is_(True), User.organisation_id.in_(orgs))):
        if "committee" not in member.role_names:
            continue
        row = s.scalar(select(CommitteeReview).where(CommitteeReview.application_id == app.id,
                                                     CommitteeReview.member_id == member.id))  # fmt: skip
        if row is None:
            s.add(CommitteeReview(application_id=app.id, member_id=member.id, conflict=True,
                                  conflict_reason=f"Member of a team organisation ({member.organisation_id})"))  # fmt: skip
            n += 1
    s.flush()
    return n
