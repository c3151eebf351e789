"""Collaborators: invitations bound to the invited person, ambassadors, reviewers, exclusions, comments."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.accounts.models import User
from halric.accounts.security import new_token, token_digest
from halric.calls import confidential, conflicts, mail
from halric.calls.access import REVIEW_STATES, collaborator_of, open_for
from halric.calls.conflicts import team_organisations
from halric.calls.models import (
    Application,
    Collaborator,
    Comment,
)
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from halric.core.timeutil import as_utc, utcnow
from halric.registry import service as registry

INVITATION_DAYS = 14


def _invitation_expires(c: Collaborator) -> datetime:
    return as_utc(c.invited_at) + timedelta(days=INVITATION_DAYS)


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


def invite(s: Session, actor: Actor, app_id: int, email: str, kind: str, base_url: str) -> Collaborator:
    """Invite someone by e-mail. The link works once, for ``INVITATION_DAYS`` days, and only for the
    signed-in account with that (confirmed) address. An expired, unused invitation can be sent again."""
    app, hats = open_for(s, actor, app_id)
    if kind not in ("co-applicant", "ambassador"):
        raise InvalidInput("kind: invite a co-applicant or an ambassador", field="kind")
    if kind == "co-applicant" and "applicant" not in hats:
        raise PermissionDenied("Only applicants invite co-applicants.")
    if kind == "ambassador" and not hats & {"applicant", "coordinator"}:
        raise PermissionDenied("Applicants and coordinators invite ambassadors.")
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput("email: give a valid e-mail address", field="email")
    if kind == "ambassador":
        who = s.scalar(select(User).where(User.email == email)) or User(email=email, organisation_id=None)
        why = conflicts.exclusion_of(s, app, who)
        if why:
            raise Conflict(f"email: {email} is excluded from this application ({why})", field="email")
    c = s.scalar(select(Collaborator).where(Collaborator.application_id == app.id, Collaborator.email == email,
                                           Collaborator.kind == kind))  # fmt: skip
    if c is not None and (c.accepted_at is not None or _invitation_expires(c) > utcnow()):
        raise Conflict(f"email: {email} is already invited as {kind}", field="email")
    token = new_token()
    if c is None:
        c = Collaborator(application_id=app.id, kind=kind, email=email)
        s.add(c)
    c.token_hash, c.invited_at = token_digest(token), utcnow()
    s.flush()
    mail.queue(
        s, email, f"HALRIC pilot application: you are invited as {kind}",
        f"{actor.username} invites you to the HALRIC pilot-project application “{confidential.public_title(app) or 'untitled'}”.\n\n"
        f"Sign in to the hub with the account that uses this e-mail address ({email}) and open this link "
        f"within {INVITATION_DAYS} days to accept:\n{base_url.rstrip('/')}/calls/invitations/{token}\n\n"
        "The link works once, and only for that account. No account yet? Create one with this address first.\n",
    )  # fmt: skip
    audit.record(s, actor, "invite", "application", app.id, {"email": email, "kind": kind})
    return c


def check_invitation(s: Session, actor: Actor, token: str) -> Collaborator:
    """The invitation behind a link, if ``actor`` may accept it; otherwise an error saying why. Changes
    nothing: a refused attempt leaves the invitation usable by the person it was sent to."""
    if actor.user_id is None:
        raise PermissionDenied("Sign in to accept the invitation.")
    c = s.scalar(select(Collaborator).where(Collaborator.token_hash == token_digest(token)))
    if c is None or c.accepted_at is not None:
        raise NotFound("This invitation link is not valid (it may have been used already).")
    if _invitation_expires(c) <= utcnow():
        raise Conflict(
            f"This invitation expired on {_invitation_expires(c):%Y-%m-%d}. Ask the applicant to invite you again."
        )
    user = s.get(User, actor.user_id)
    if user is None or user.email.lower() != c.email:
        raise PermissionDenied(
            f"This invitation was sent to {_mask(c.email)}, and you are signed in as {actor.username}"
            f"{f' ({user.email})' if user else ''}. Sign in with the account that uses the invited address, "
            "or ask the applicant to invite your address."
        )
    if user.email_verified_at is None:
        raise PermissionDenied("Confirm your e-mail address first: open the link we sent to it.")
    if c.kind == "ambassador" and not actor.has_role("ambassador"):
        raise PermissionDenied("This invitation is for an ambassador; your account lacks that role.")
    return c


def accept_invitation(s: Session, actor: Actor, token: str) -> Application:
    c = check_invitation(s, actor, token)
    c.user_id = actor.user_id
    c.accepted_at = utcnow()
    c.token_hash = None
    audit.record(s, actor, "accept-invitation", "application", c.application_id, {"kind": c.kind})
    return s.get(Application, c.application_id)  # type: ignore[return-value]


def assign_ambassador(s: Session, actor: Actor, app_id: int, user_id: int) -> Collaborator:
    app, hats = open_for(s, actor, app_id)
    if "coordinator" not in hats:
        raise PermissionDenied("Only coordinators assign ambassadors.")
    user = s.get(User, user_id)
    if user is None or "ambassador" not in user.role_names:
        raise InvalidInput("user_id: choose an account with the ambassador role", field="user_id")
    why = conflicts.exclusion_of(s, app, user)
    if why:
        raise Conflict(f"user_id: {user.username} is excluded from this application ({why})", field="user_id")
    c = Collaborator(application_id=app.id, kind="ambassador", email=user.email, user_id=user.id,
                     accepted_at=utcnow())  # fmt: skip
    s.add(c)
    s.flush()
    audit.record(s, actor, "assign-ambassador", "application", app.id, {"ambassador": user.username})
    return c


def assign_reviewer(s: Session, actor: Actor, app_id: int, user_id: int, base_url: str = "") -> Collaborator:
    """The coordinator gives an application to a reviewer (or an extra committee member) to score."""
    app, hats = open_for(s, actor, app_id)
    if "coordinator" not in hats:
        raise PermissionDenied("Only coordinators assign reviewers.")
    user = s.get(User, user_id)
    if user is None or not user.is_active or not set(user.role_names) & {"reviewer", "committee"}:
        raise InvalidInput(
            "reviewer: choose an account with the reviewer or committee role", field="reviewer"
        )
    if user.organisation_id and user.organisation_id in team_organisations(app):
        raise Conflict(f"reviewer: {user.username} belongs to one of the team's organisations "
                       f"({user.organisation_id}) and is excluded for a conflict of interest", field="reviewer")  # fmt: skip
    why = conflicts.exclusion_of(s, app, user)
    if why:
        raise Conflict(
            f"reviewer: {user.username} is excluded from this application: {why}", field="reviewer"
        )
    if user.id in {u.id for u in assigned_reviewers(s, app)}:
        raise Conflict(f"reviewer: {user.username} is already assigned to this application", field="reviewer")
    c = Collaborator(
        application_id=app.id, kind="reviewer", email=user.email, user_id=user.id, accepted_at=utcnow()
    )
    s.add(c)
    s.flush()
    mail.queue(s, user.email, f"HALRIC application to review: {confidential.public_title(app)}",
               f"You are asked to review the HALRIC pilot-project application “{confidential.public_title(app)}”.\n\n"
               + ("It is confidential: accept the call's confidentiality terms in the hub to read it.\n\n"
                  if app.confidential else "")
               + f"{base_url.rstrip('/')}/applications/{app.id}\n")  # fmt: skip
    audit.record(s, actor, "assign-reviewer", "application", app.id, {"reviewer": user.username})
    return c


def exclusions(s: Session, actor: Actor, app_id: int) -> dict[str, Any]:
    """The organisations the applicants exclude and — for the coordinators only — the people excluded by
    them, each with the reason (whether or not the coordinator accepted the confidentiality terms)."""
    app, hats = open_for(s, actor, app_id)
    if not hats & {"coordinator", "applicant"}:
        raise PermissionDenied("Only the applicants and the coordinators see the excluded organisations.")
    people = conflicts.excluded_people(s, app) if "coordinator" in hats else []
    return {"organisations": list(app.excluded_organisations), "people": people}


def assigned_reviewers(s: Session, app: Application) -> list[User]:
    ids = s.scalars(select(Collaborator.user_id).where(Collaborator.application_id == app.id,
                                                       Collaborator.kind == "reviewer"))  # fmt: skip
    return [u for u in (s.get(User, i) for i in ids) if u is not None]


def reviewer_conflict(s: Session, actor: Actor, app_id: int) -> str | None:
    """Why an assigned reviewer is excluded from this application (committee members are told by
    ``get_application``), or None."""
    app = s.get(Application, app_id)
    if app is None or app.state not in REVIEW_STATES or collaborator_of(s, app, actor, "reviewer") is None:
        return None
    if conflicts.excluded(s, app, actor):  # the application does not exist for them
        return None
    kind = conflicts.conflict_of(s, app, actor)
    return conflicts.excluded_message(kind) if kind else None


def assign_regional_ambassadors(s: Session, app: Application) -> list[int]:
    """Give the application to the ambassadors covering the team's countries (public ambassador profiles)."""
    countries = {m.country for m in app.team}
    already = {c.user_id for c in s.scalars(select(Collaborator).where(Collaborator.application_id == app.id,
                                                                        Collaborator.kind == "ambassador"))}  # fmt: skip
    added = []
    for country in sorted(countries):
        for prof in registry.ambassadors_for(s, country):
            user = s.get(User, prof.user_id)
            if user is None or prof.user_id in already or "ambassador" not in user.role_names:
                continue
            if conflicts.exclusion_of(s, app, user):
                continue
            s.add(Collaborator(application_id=app.id, kind="ambassador", email=user.email, user_id=user.id,
                               accepted_at=utcnow()))  # fmt: skip
            already.add(user.id)
            added.append(user.id)
            mail.queue(s, user.email, f"HALRIC application to follow: {confidential.public_title(app)}",
                       f"A pilot-project application from your region was submitted: “{confidential.public_title(app)}”.")  # fmt: skip
    s.flush()
    return added


def add_comment(s: Session, actor: Actor, app_id: int, text: str) -> Comment:
    app, hats = open_for(s, actor, app_id)
    if not hats & {"applicant", "ambassador", "coordinator"}:
        raise PermissionDenied("Only applicants, their ambassadors and coordinators comment here.")
    confidential.require_read(s, app, actor, hats, "comment on it")
    text = text.strip()
    if not text or len(text) > 5000:
        raise InvalidInput("text: write a comment of 1–5000 characters", field="text")
    c = Comment(application_id=app.id, author_id=actor.user_id, author_name=actor.username, text=text)
    s.add(c)
    s.flush()
    audit.record(s, actor, "comment", "application", app.id)
    return c
