"""What the calls domain holds about a person, and how it hands it over at an erasure (halric.core.personal).

A person is on an application as its owner, as a co-applicant, ambassador or reviewer (collaborator rows,
by account or by the e-mail address invited), or as a team member named by e-mail address. The export
gives the content of the applications one applies with (owner, co-applicant) and, of the others, only
what names the person; never other people's rows. A confidential application the person does not apply
with is named by its number ("Confidential pilot #id"), as in every export. The person's acceptances of
calls' confidentiality terms are exported and kept at an erasure (the record that the terms were accepted
stays, under the pseudonym). Mail in the outbox goes out with single-use links: the
export shows the messages with those link codes removed.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from halric.calls.confidential import public_title
from halric.calls.models import (
    Application,
    Call,
    Collaborator,
    Comment,
    CommitteeReview,
    ConfidentialityAcceptance,
    Decision,
    FeasibilityReview,
    OutboxMessage,
    TeamMember,
    Transition,
    Visit,
    Visitor,
)
from halric.core.personal import Person, Pseudonym

# a link code in a mail body: a long random query value or path segment of a web address
_LINK_CODE = re.compile(r"(https?://[^\s]*?(?:[?&][A-Za-z_]+=|/))([A-Za-z0-9_-]{20,})")
CONTENT = ("lay_summary", "research_question", "work_plan", "timeline", "impact", "data_management")


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def redact_links(body: str) -> str:
    """The mail body with the codes of its single-use links removed (they could still be valid)."""
    return _LINK_CODE.sub(lambda m: m.group(1) + "[link code removed]", body)


def _team_row(t: TeamMember) -> dict[str, Any]:
    return {"name": t.name, "email": t.email, "organisation_id": t.organisation_id, "country": t.country,
            "sector": t.sector, "role": t.role}  # fmt: skip


def _mine(person: Person, email: str | None) -> bool:
    return bool(email) and str(email).strip().lower() in person.emails


def applications_of(s: Session, person: Person) -> set[int]:
    """Every application the person is on, in any role (a project space's team follows these)."""
    found = set(_relations(s, person))
    found |= set(
        s.scalars(
            select(FeasibilityReview.application_id).where(FeasibilityReview.reviewer_id == person.user_id)
        )
    )
    return found


def _relations(s: Session, person: Person) -> dict[int, set[str]]:
    emails = sorted(person.emails)
    relations: dict[int, set[str]] = {}
    for (aid,) in s.execute(select(Application.id).where(Application.owner_id == person.user_id)):
        relations.setdefault(aid, set()).add("owner")
    for c in s.scalars(
        select(Collaborator).where(
            or_(Collaborator.user_id == person.user_id, func.lower(Collaborator.email).in_(emails))
        )
    ):
        relations.setdefault(c.application_id, set()).add(c.kind)
    for t in s.scalars(select(TeamMember).where(func.lower(TeamMember.email).in_(emails))):
        relations.setdefault(t.application_id, set()).add("team member")
    return relations


def export(s: Session, person: Person) -> dict[str, Any]:
    emails = sorted(person.emails)
    relations = _relations(s, person)
    applications = []
    for aid in sorted(relations):
        app = s.get(Application, aid)
        if app is None:
            continue
        hats = sorted(relations[aid])
        item: dict[str, Any] = {
            "id": app.id,
            "call": app.call.slug if app.call else None,
            "title": app.title if {"owner", "co-applicant"} & set(hats) else public_title(app),
            "state": app.state,
            "your_relation": hats,
            "created_at": _iso(app.created_at),
            "submitted_at": _iso(app.submitted_at),
            "decided_at": _iso(app.decided_at),
            "you_in_the_team": [_team_row(t) for t in app.team if _mine(person, t.email)],
            "other_team_members": sum(1 for t in app.team if not _mine(person, t.email)),
        }
        if {"owner", "co-applicant"} & set(hats):  # one applies with it: its content is one's own work
            item["content"] = {k: getattr(app, k) for k in CONTENT}
            item["content"]["instruments"] = list(app.instruments or [])
            item["content"]["duration_months"] = app.duration_months
            item["budget"] = [
                {"organisation_id": b.organisation_id, "cost_type": b.cost_type, "description": b.description,
                 "amount": str(b.amount) if isinstance(b.amount, Decimal) else b.amount}
                for b in app.budget
            ]  # fmt: skip
            item["decisions"] = [
                {"outcome": d.outcome, "letter": d.letter, "at": _iso(d.at)}
                for d in s.scalars(
                    select(Decision).where(Decision.application_id == aid).order_by(Decision.id)
                )
            ]
        applications.append(item)

    feas = s.scalars(select(FeasibilityReview).where(FeasibilityReview.reviewer_id == person.user_id))
    committee = s.scalars(select(CommitteeReview).where(CommitteeReview.member_id == person.user_id))
    comments = s.scalars(select(Comment).where(Comment.author_id == person.user_id).order_by(Comment.id))
    moves = s.scalars(select(Transition).where(Transition.actor_id == person.user_id).order_by(Transition.id))
    mail = s.scalars(
        select(OutboxMessage).where(func.lower(OutboxMessage.to).in_(emails)).order_by(OutboxMessage.id)
    )
    visitors = s.scalars(select(Visitor).where(func.lower(Visitor.email).in_(emails)).order_by(Visitor.id))
    visits = []
    for v in visitors:
        visit = s.get(Visit, v.visit_id)
        visits.append({
            "application_id": visit.application_id if visit else None,
            "instrument_id": visit.instrument_id if visit else None, "name": v.name, "email": v.email,
            "organisation_id": v.organisation_id, "arrives_on": _iso(v.arrives_on), "departs_on": _iso(v.departs_on),
            "feedback_at": _iso(v.feedback_at), "rating": v.rating, "feedback_comments": v.feedback_comments,
        })  # fmt: skip
    accepted = s.scalars(
        select(ConfidentialityAcceptance)
        .where(ConfidentialityAcceptance.user_id == person.user_id)
        .order_by(ConfidentialityAcceptance.id)
    )
    terms = []
    for a in accepted:
        call = s.get(Call, a.call_id)
        terms.append({"call": call.slug if call else None, "terms_sha256": a.terms_sha256,
                      "accepted_at": _iso(a.accepted_at)})  # fmt: skip
    return {
        "applications": applications,
        "confidentiality_terms_accepted": terms,
        "visits": visits,
        "reviews": [
            {
                "kind": "feasibility",
                "application_id": r.application_id,
                "infrastructure_id": r.infrastructure_id,
                "verdict": r.verdict,
                "comments": r.comments,
                "at": _iso(r.at),
            }
            for r in feas
        ]
        + [
            {
                "kind": "committee",
                "application_id": r.application_id,
                "conflict": r.conflict,
                "conflict_reason": r.conflict_reason,
                "scores": r.scores,
                "comments": r.comments,
                "submitted_at": _iso(r.submitted_at),
            }
            for r in committee
        ],
        "comments": [
            {"application_id": c.application_id, "text": c.text, "at": _iso(c.at)} for c in comments
        ],
        "application_steps": [
            {
                "application_id": t.application_id,
                "from": t.from_state,
                "to": t.to_state,
                "comment": t.comment,
                "at": _iso(t.at),
            }
            for t in moves
        ],
        "mail": [
            {
                "to": m.to,
                "subject": m.subject,
                "body": redact_links(m.body),
                "queued_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in mail
        ],
    }


def hand_over(s: Session, person: Person, successor: Person, pseudonym: Pseudonym) -> dict[str, int]:
    """Applications the person owns go to the successor; the person's team rows, invitations, comments and
    steps in the workflow keep the pseudonym; mail to them that is still in the outbox is deleted."""
    emails = sorted(person.emails)
    counts: dict[str, int] = {}
    owned = list(s.scalars(select(Application).where(Application.owner_id == person.user_id)))
    for app in owned:
        app.owner_id = successor.user_id
    counts["applications"] = len(owned)

    team = 0
    for t in s.scalars(select(TeamMember).where(func.lower(TeamMember.email).in_(emails))):
        t.email, t.name = pseudonym.email, pseudonym.name
        team += 1
    if person.full_name.strip():
        for t in s.scalars(
            select(TeamMember).where(TeamMember.email == "", TeamMember.name == person.full_name.strip())
        ):
            t.name = pseudonym.name
            team += 1
    counts["team_rows"] = team

    seen: set[tuple[int, str]] = set()
    collaborators = 0
    for c in s.scalars(
        select(Collaborator)
        .where(or_(Collaborator.user_id == person.user_id, func.lower(Collaborator.email).in_(emails)))
        .order_by(Collaborator.id)
    ):
        key = (c.application_id, c.kind)
        if key in seen:  # the same role reached by two of the person's addresses: keep one row
            s.delete(c)
            continue
        seen.add(key)
        c.email, c.token_hash = pseudonym.email, None  # an invitation not yet accepted stops working
        collaborators += 1
    counts["collaborators"] = collaborators

    counts["visitors"] = 0
    for v in list(s.scalars(select(Visitor).where(func.lower(Visitor.email).in_(emails)))):
        v.email, v.name, v.feedback_token_hash = pseudonym.email, pseudonym.name, None
        counts["visitors"] += 1

    counts["comments"] = 0
    for c in s.scalars(select(Comment).where(Comment.author_id == person.user_id)):
        c.author_name = pseudonym.name
        counts["comments"] += 1
    counts["application_steps"] = 0
    for t in s.scalars(select(Transition).where(Transition.actor_id == person.user_id)):
        t.actor_name = pseudonym.name
        counts["application_steps"] += 1
    counts["mail"] = int(
        s.execute(delete(OutboxMessage).where(func.lower(OutboxMessage.to).in_(emails))).rowcount or 0
    )
    s.flush()
    return counts
