"""Everything the hub holds about one person, as one JSON document (GDPR art. 15 and 20).

Each domain says what it holds (its ``personal.export``); this module adds the audit log and the jobs a
person asked for, and wraps it all with what the document is. Other people's data is left out: the
applications one is on show one's own team row and a count of the others, audit events done by someone
else say so without naming them, and secrets (password hash, token hashes, link codes) are never in it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, cast, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from halric.accounts import personal as accounts
from halric.accounts.service import get_user
from halric.calls import personal as calls
from halric.catalog import personal as catalog
from halric.core import audit
from halric.core.actor import Actor
from halric.core.audit import AuditEvent
from halric.core.errors import NotFound, PermissionDenied
from halric.core.personal import Person
from halric.core.timeutil import utcnow
from halric.federation import personal as federation
from halric.jobs.models import Job
from halric.match import personal as match
from halric.registry import personal as registry

FORMAT = "halric-personal-data/1"
# keys of audit details that hold a user name
USER_KEYS = frozenset(
    {"username", "user", "member", "reviewer", "ambassador", "successor", "added", "removed"}
)

SECTIONS = {
    "account": "Your account: names, address, organisation, ORCID iD, dates.",
    "roles": "Your roles in the hub.",
    "groups": "Your groups, and who gave each (an administrator, or a sign-in rule of a provider).",
    "identities": "Identity providers linked to your account, with the identity each gave.",
    "sessions": "Your current browser sessions: when they started, from which address and browser.",
    "api_tokens": "Your personal API tokens: names and dates (the tokens themselves are not stored).",
    "email_links": "Confirmation and password-reset links sent to you: dates (not the links).",
    "applications": "Pilot applications you own, apply with, follow or review, or are named in.",
    "confidentiality_terms_accepted": "Calls whose confidentiality terms you accepted: version and date.",
    "visits": "Access visits you are registered for as a visitor, with your feedback.",
    "reviews": "Feasibility and committee reviews you wrote.",
    "comments": "Comments you wrote on applications.",
    "application_steps": "Steps of the application workflow you took.",
    "mail": "Mail to you still in the hub's outbox (link codes removed).",
    "datasets": "Catalogued datasets that name you (owner, contact, ORCID iD, investigator, creator).",
    "proposals": "Catalog proposals that name you.",
    "samples": "Catalog samples that name you.",
    "published_data": "Published data (DOIs) you created or are named in.",
    "match_questions": "Questions you asked matchmaking while signed in.",
    "match_feedback": "Your feedback on matchmaking answers.",
    "expert_profile": "Your expert profile.",
    "federation_tokens": "Your own tokens for federated sites: sites and dates (not the tokens).",
    "federation_sites_registered": "Federated sites you registered.",
    "jobs": "Background jobs you asked for.",
    "audit_log": "Audit-log events done by you or about your account, and events that name you.",
}


def _mentions(details: Any, person: Person) -> bool:
    if isinstance(details, dict):
        return any(
            (k in USER_KEYS and _names(v, person))
            or (k == "email" and _is_email(v, person))
            or _mentions(v, person)
            for k, v in details.items()
        )
    if isinstance(details, list):
        return any(_mentions(v, person) for v in details)
    return False


def _names(value: Any, person: Person) -> bool:
    if isinstance(value, list):
        return any(_names(v, person) for v in value)
    return isinstance(value, str) and value.lower() == person.username.lower()


def _is_email(value: Any, person: Person) -> bool:
    return isinstance(value, str) and value.strip().lower() in person.emails


def audit_events(s: Session, person: Person) -> list[dict[str, Any]]:
    """Events done by the person or about their account (with details), and events done by others that
    name them (without details, and without saying who)."""
    uid = str(person.user_id)
    own = or_(
        AuditEvent.actor_id == person.user_id,
        and_(AuditEvent.entity_type == "user", AuditEvent.entity_id == uid),
    )
    text = func.lower(cast(AuditEvent.details, Text))
    named = or_(*(text.like(f"%{needle}%") for needle in {person.username.lower(), *person.emails}))
    out = []
    for e in s.scalars(select(AuditEvent).where(or_(own, named)).order_by(AuditEvent.id)):
        by_you = e.actor_id == person.user_id
        about_you = e.entity_type == "user" and e.entity_id == uid
        if not (by_you or about_you or _mentions(e.details, person)):
            continue  # the name appeared, but not as a person (e.g. in a dataset's title)
        item: dict[str, Any] = {
            "at": e.at.isoformat(),
            "action": e.action,
            "entity_type": e.entity_type,
            "entity_id": e.entity_id,
            "by": "you" if by_you else ("the hub" if e.actor_id is None else "another account"),
            "via": e.via,
        }
        if by_you:
            item["client_address"] = e.ip
        if about_you or (by_you and e.entity_type not in ("user", "application", "group")):
            item["details"] = e.details
        out.append(item)
    return out


def jobs(s: Session, person: Person) -> list[dict[str, Any]]:
    q = select(Job).where(Job.actor["user_id"].as_integer() == person.user_id).order_by(Job.id)
    return [
        {"kind": j.kind, "state": j.state, "created_at": j.created_at.isoformat(),
         "finished_at": j.finished_at.isoformat() if j.finished_at else None}
        for j in s.scalars(q)
    ]  # fmt: skip


def export_person(s: Session, actor: Actor, user_id: int, *, site_name: str = "HALRIC Hub") -> dict[str, Any]:
    """The document for account ``user_id``: the person themself, or an administrator (who hands it to the
    person). Audited ("export-personal-data")."""
    if actor.user_id != user_id and not actor.is_admin:
        raise PermissionDenied("You can download only your own data.")
    user = get_user(s, user_id)
    if user.erased_at is not None:
        raise NotFound(f"Account {user_id} was erased; the hub holds nothing more about that person.")
    person = accounts.person_of(s, user)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "hub": site_name,
        "generated_at": utcnow().isoformat(),
        "about": {"user_id": user.id, "username": user.username},
        "what_each_part_holds": SECTIONS,
        "how_long_it_is_kept": "See the hub's record of processing (docs/privacy.md): retention periods are "
        "settings; an administrator can erase the account on request.",
    }
    doc.update(accounts.export(s, user))
    doc.update(calls.export(s, person))
    doc.update(catalog.export(s, person))
    doc.update(match.export(s, person))
    doc.update(registry.export(s, person))
    doc.update(federation.export(s, person))
    doc["jobs"] = jobs(s, person)
    doc["audit_log"] = audit_events(s, person)
    audit.record(
        s,
        actor,
        "export-personal-data",
        "user",
        user.id,
        {"by": "self" if actor.user_id == user.id else "administrator"},
    )
    return doc
