"""Conflicts of interest in committee review.

A committee member is in conflict with an application *automatically* when they belong to one of the
team's organisations, or because they *declared* a conflict. Either way they are excluded from that
application: they do not read it (page, PDF, reviews), do not score it, and the ranking shows them the
row as excluded, without its title, state or scores. A declared conflict stays until a coordinator lifts
it (audited); scoring never clears it. An automatic conflict lasts as long as the organisation does.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.accounts.models import User
from halric.calls.models import Application, CommitteeReview
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied

ConflictKind = Literal["automatic", "declared"]

EXCLUDED_DECLARED = (
    "You are excluded from this application because of a declared conflict of interest. "
    "Only a coordinator can lift it."
)
EXCLUDED_AUTOMATIC = (
    "You are excluded from this application because of a conflict of interest: you belong to one of "
    "the team's organisations."
)
RANKING_EXCLUDED = "conflict of interest"


def team_organisations(app: Application) -> set[str]:
    return {m.organisation_id for m in app.team}


def has_conflict(app: Application, actor: Actor) -> bool:
    """A committee member from one of the team's organisations is in conflict, automatically."""
    return actor.organisation is not None and actor.organisation in team_organisations(app)


def declared(s: Session, app: Application, user_id: int | None) -> CommitteeReview | None:
    """The member's review row when it records a conflict."""
    if user_id is None:
        return None
    return s.scalar(
        select(CommitteeReview).where(
            CommitteeReview.application_id == app.id,
            CommitteeReview.member_id == user_id,
            CommitteeReview.conflict.is_(True),
        )
    )


def conflict_of(s: Session, app: Application, actor: Actor) -> ConflictKind | None:
    """Why ``actor`` is excluded from reviewing ``app``, or None."""
    if has_conflict(app, actor):
        return "automatic"
    if declared(s, app, actor.user_id) is not None:
        return "declared"
    return None


def excluded_message(kind: ConflictKind) -> str:
    return EXCLUDED_AUTOMATIC if kind == "automatic" else EXCLUDED_DECLARED


def lift(s: Session, actor: Actor, app_id: int, member_id: int, reason: str) -> CommitteeReview:
    """A coordinator lifts a member's declared conflict (with a reason, audited); the member may then
    read and score the application. Automatic conflicts (team organisation) cannot be lifted."""
    if not actor.has_role("coordinator"):
        raise PermissionDenied("Only coordinators lift a declared conflict of interest.")
    app = s.get(Application, app_id)
    if app is None:
        raise NotFound(f"No application with id {app_id}.")
    reason = reason.strip()
    if len(reason) < 5:
        raise InvalidInput(
            "reason: say why the conflict no longer applies (at least 5 characters)", field="reason"
        )
    row = declared(s, app, member_id)
    member = s.get(User, member_id)
    if row is None or member is None:
        raise NotFound(f"No declared conflict of member {member_id} on application {app_id}.")
    if member.organisation_id is not None and member.organisation_id in team_organisations(app):
        raise Conflict(
            f"member_id: {member.username} belongs to a team organisation ({member.organisation_id}); "
            "that conflict cannot be lifted.",
            field="member_id",
        )
    before = row.conflict_reason
    row.conflict, row.conflict_reason, row.scores, row.comments, row.submitted_at = False, "", {}, "", None
    s.flush()
    audit.record(
        s, actor, "lift-conflict", "application", app.id,
        {"member": member.username, "declared_reason": before, "reason": reason},
    )  # fmt: skip
    return row
