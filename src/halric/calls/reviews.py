"""Feasibility and committee reviews, the ranking of a call, and decisions."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.accounts.models import User
from halric.calls import confidential, conflicts, workflow
from halric.calls.access import collaborator_of, open_for, requested_infrastructures, roles_on
from halric.calls.call_admin import get_call
from halric.calls.conflicts import team_organisations
from halric.calls.models import (
    Application,
    CommitteeReview,
    Decision,
    FeasibilityReview,
)
from halric.calls.schemas import ReviewInput
from halric.calls.transitions import move_to
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from halric.core.timeutil import utcnow

VERDICTS = ("feasible", "conditions", "not-feasible")


def feasibility(
    s: Session, actor: Actor, app_id: int, infrastructure_id: str, verdict: str, comments: str
) -> FeasibilityReview:
    app, hats = open_for(s, actor, app_id)
    infras = requested_infrastructures(s, app)
    if app.state != "feasibility":
        raise Conflict("Feasibility is reviewed while the application is in feasibility review.")
    if infrastructure_id not in infras:
        raise InvalidInput(f"infrastructure_id: {infrastructure_id!r} is not requested by this application",
                           field="infrastructure_id")  # fmt: skip
    if not (
        actor.is_admin
        or ("facility" in hats and infras[infrastructure_id].organisation_id == actor.organisation)
    ):
        raise PermissionDenied("Only the staff of the requested infrastructure review its feasibility.")
    confidential.require_read(s, app, actor, hats, "judge its feasibility")
    if verdict not in VERDICTS:
        raise InvalidInput(f"verdict: use one of {', '.join(VERDICTS)}", field="verdict")
    row = s.scalar(select(FeasibilityReview).where(FeasibilityReview.application_id == app.id,
                                                   FeasibilityReview.infrastructure_id == infrastructure_id))  # fmt: skip
    if row is None:
        row = FeasibilityReview(application_id=app.id, infrastructure_id=infrastructure_id, reviewer_id=actor.user_id,
                                verdict=verdict, comments=comments)  # fmt: skip
        s.add(row)
    else:
        row.verdict, row.comments, row.reviewer_id, row.at = verdict, comments, actor.user_id, utcnow()
    s.flush()
    audit.record(
        s,
        actor,
        "feasibility",
        "application",
        app.id,
        {"infrastructure": infrastructure_id, "verdict": verdict},
    )
    return row


def committee_review(s: Session, actor: Actor, app_id: int, data: ReviewInput) -> CommitteeReview:
    """Score an application, or declare a conflict of interest. A member in conflict (declared, or from a
    team organisation) cannot score; scoring never clears a declared conflict (a coordinator lifts it)."""
    app = s.get(Application, app_id)
    assigned = app is not None and collaborator_of(s, app, actor, "reviewer") is not None
    if app is None or not ("committee" in actor.roles or actor.is_admin or assigned):
        raise NotFound(f"No application with id {app_id}.")
    if conflicts.excluded(s, app, actor):
        raise NotFound(f"No application with id {app_id}.")
    kind = conflicts.conflict_of(s, app, actor)
    if kind is None and not roles_on(s, app, actor) & {"committee", "reviewer"}:
        raise NotFound(f"No application with id {app_id}.")
    if app.state != "committee":
        raise Conflict("Scores are given while the application is in committee review.")
    if kind == "automatic" or (kind == "declared" and not data.conflict):
        raise Conflict(conflicts.excluded_message(kind))
    if not data.conflict:  # declaring a conflict needs no reading
        confidential.require_read(s, app, actor, roles_on(s, app, actor), "review it")
    row = s.scalar(select(CommitteeReview).where(CommitteeReview.application_id == app.id,
                                                 CommitteeReview.member_id == actor.user_id))  # fmt: skip
    if row is None:
        row = CommitteeReview(application_id=app.id, member_id=actor.user_id)
        s.add(row)
    if data.conflict:
        if not data.conflict_reason.strip():
            raise InvalidInput(
                "conflict_reason: say briefly why you have a conflict", field="conflict_reason"
            )
        row.conflict, row.conflict_reason, row.scores, row.comments = (
            True,
            data.conflict_reason.strip(),
            {},
            "",
        )
        row.submitted_at = utcnow()
        s.flush()
        audit.record(s, actor, "declare-conflict", "application", app.id)
        return row
    keys = {c["key"] for c in app.call.criteria}
    if set(data.scores) != keys:
        raise InvalidInput(
            f"scores: give a score 1–5 for each criterion: {', '.join(sorted(keys))}", field="scores"
        )
    row.scores, row.comments, row.submitted_at = data.scores, data.comments, utcnow()
    s.flush()
    audit.record(s, actor, "review", "application", app.id)
    return row


def weighted(scores: dict[str, int], criteria: list[dict[str, Any]]) -> Decimal:
    total_w = sum(Decimal(str(c["weight"])) for c in criteria)
    value = sum(Decimal(str(c["weight"])) * Decimal(scores[c["key"]]) for c in criteria) / total_w
    return value.quantize(Decimal("0.01"))


@dataclass
class Ranked:
    """One row of a call's ranking. ``excluded`` rows (the viewer is in conflict with the application)
    carry no scores and must be shown without the application's title or state."""

    application: Application
    mean: Decimal | None
    spread: Decimal | None
    reviews: int
    missing: int
    conflicts: int
    excluded: bool = False


def ranking(s: Session, actor: Actor, call_id: int, cutoff: date | None = None) -> list[Ranked]:
    if not actor.has_role("coordinator", "committee"):
        raise PermissionDenied("Only coordinators and committee members see the ranking.")
    call = get_call(s, call_id)
    q = select(Application).where(Application.call_id == call.id, Application.state.in_(
        ("committee", *workflow.DECIDED, *workflow.FUNDED)))  # fmt: skip
    if cutoff:
        q = q.where(Application.cutoff == cutoff)
    members = [
        u for u in s.scalars(select(User).where(User.is_active.is_(True))) if "committee" in u.role_names
    ]
    out = []
    coordinator = actor.has_role("coordinator")
    for app in s.scalars(q):
        if not coordinator and conflicts.excluded(s, app, actor):
            continue  # excluded by the applicants' list: the application does not exist for them
        shown = confidential.shown(s, actor, app, roles_on(s, app, actor), listing=True)
        if not coordinator and conflicts.conflict_of(s, app, actor) is not None:
            out.append(Ranked(shown, None, None, 0, 0, 0, excluded=True))
            continue
        rows = list(s.scalars(select(CommitteeReview).where(CommitteeReview.application_id == app.id)))
        scored = [weighted(r.scores, call.criteria) for r in rows if not r.conflict and r.scores]
        n_conflicts = sum(1 for r in rows if r.conflict)
        eligible_members = [m for m in members if m.organisation_id not in team_organisations(app)
                            and not conflicts.exclusion_of(s, app, m)]  # fmt: skip
        missing = max(0, len(eligible_members) - len(scored) - sum(1 for r in rows if r.conflict and
                                                                    s.get(User, r.member_id) in eligible_members))  # fmt: skip
        mean = (sum(scored) / len(scored)).quantize(Decimal("0.01")) if scored else None
        spread = (
            Decimal(str(statistics.pstdev(scored))).quantize(Decimal("0.01")) if len(scored) > 1 else None
        )
        out.append(Ranked(shown, mean, spread, len(scored), missing, n_conflicts))
    # excluded rows go last, in id order: their place must not hint at their scores
    return sorted(
        out, key=lambda r: (r.excluded, r.mean is None, -(r.mean or 0), r.application.id if r.excluded else 0)
    )


def decide(s: Session, actor: Actor, app_id: int, outcome: str, letter: str) -> Decision:
    app, hats = open_for(s, actor, app_id)
    if "coordinator" not in hats:
        raise PermissionDenied("Only coordinators record decisions.")
    confidential.require_read(s, app, actor, hats, "decide on it")
    if outcome not in workflow.DECIDED:
        raise InvalidInput("outcome: approved, revise or rejected", field="outcome")
    if len(letter.strip()) < 20:
        raise InvalidInput(
            "letter: write the decision letter to the applicants (at least 20 characters)", field="letter"
        )
    if app.state != "committee":
        raise Conflict("Decisions are taken on applications in committee review.")
    d = Decision(application_id=app.id, outcome=outcome, letter=letter.strip(), decided_by=actor.user_id)
    s.add(d)
    move_to(s, actor, app, outcome, hats, letter.strip())
    app.decided_at = utcnow()
    s.flush()
    return d
