"""Conflicts of interest in committee review.

A committee member is in conflict with an application *automatically* when they belong to one of the
team's organisations, or because they *declared* a conflict. Either way they are excluded from that
application: they do not read it (page, PDF, reviews), do not score it, and the ranking shows them the
row as excluded, without its title, state or scores. A declared conflict stays until a coordinator lifts
it (audited); scoring never clears it. An automatic conflict lasts as long as the organisation does.

The applicants may also name **excluded organisations** (competitors): registry organisations, or
organisations the registry does not know (a name, with the e-mail domain of its staff). Their staff —
an account whose organisation is one of them, or whose e-mail address is at the organisation's domain —
are excluded from the application whatever hat they would wear (committee, reviewer, ambassador,
facility): they cannot be assigned, and the application does not exist for them (404, no ranking row;
they are not told they were excluded). Only the coordinators see who is excluded and why
(:func:`excluded_people`). Coordinators and the applicant team themselves are never excluded.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.accounts.models import User
from halric.calls.confidential import unwrap
from halric.calls.models import Application, CommitteeReview
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from halric.registry import service as registry

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
    return {m.organisation_id for m in unwrap(app).team}


def has_conflict(app: Application, actor: Actor) -> bool:
    """A committee member from one of the team's organisations is in conflict, automatically."""
    return actor.organisation is not None and actor.organisation in team_organisations(app)


# --- organisations the applicants exclude -------------------------------------------------------------

# second-level labels under which companies register (example.co.uk, example.com.au): keep three labels
_GENERIC_SECOND = {"co", "com", "ac", "org", "gov", "edu", "net", "or", "ne", "go"}


def registered_domain(host: str) -> str:
    """The domain an organisation registered, from a host name: www.lunduniversity.lu.se → lu.se,
    shop.example.co.uk → example.co.uk."""
    labels = host.lower().strip(".").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _GENERIC_SECOND else 2
    return ".".join(labels[-keep:])


def organisation_domain(url: str | None) -> str | None:
    """The e-mail domain of an organisation as the registry knows it (its web address cut to the registered
    domain), or None."""
    host = urlsplit(url).hostname if url else None
    if not host or "." not in host:
        return None
    return registered_domain(host)


def _at(email: str, domain: str) -> bool:
    """The address is at ``domain`` or at one of its subdomains (ann@med.lu.se is at lu.se)."""
    host = email.rpartition("@")[2].lower()
    return host == domain or host.endswith("." + domain)


def _exclusion(s: Session, entry: dict[str, Any], organisation: str | None, email: str) -> str | None:
    name = entry.get("name") or entry.get("organisation_id") or "?"
    oid = entry.get("organisation_id")
    if oid and organisation == oid:
        return f"belongs to {name}, an organisation the applicants exclude"
    domains = [d for d in (entry.get("domain"),) if d]
    if oid:
        try:
            known = organisation_domain(registry.get_organisation(s, oid).url)
        except NotFound:
            known = None
        if known and known not in domains:
            domains.append(known)
    for d in domains:
        if email and _at(email, d):
            return f"e-mail address at {d}, the domain of {name}, an organisation the applicants exclude"
    return None


def exclusion_of(s: Session, app: Application, user: User | None) -> str | None:
    """Why the applicants' list of excluded organisations excludes ``user`` from ``app`` (said to the
    coordinators only), or None."""
    app = unwrap(app)
    if user is None or not app.excluded_organisations:
        return None
    for entry in app.excluded_organisations:
        why = _exclusion(s, entry, user.organisation_id, user.email or "")
        if why:
            return why
    return None


def excluded(s: Session, app: Application, actor: Actor) -> bool:
    """Whether the actor is on the applicants' excluded list (by organisation or e-mail domain)."""
    if actor.user_id is None or not unwrap(app).excluded_organisations:
        return False
    return exclusion_of(s, app, s.get(User, actor.user_id)) is not None


def excluded_people(s: Session, app: Application) -> list[tuple[User, str]]:
    """Everyone who would review, follow or judge the application but is excluded by the applicants' list,
    with the reason: for the coordinators' eyes only."""
    app = unwrap(app)
    if not app.excluded_organisations:
        return []
    out = []
    for u in s.scalars(select(User).where(User.is_active.is_(True)).order_by(User.username)):
        if not set(u.role_names) & {"committee", "reviewer", "ambassador", "facility"}:
            continue
        why = exclusion_of(s, app, u)
        if why:
            out.append((u, why))
    return out


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
