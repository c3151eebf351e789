"""What the accounts domain holds about a person, and how it erases them (see halric.core.personal).

Secrets are never exported: the password (an argon2id hash), the hashes of session cookies, API tokens
and e-mail links, CSRF tokens and identity providers' ID tokens. The export says that they exist and
when they were made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from halric.accounts.models import AccountToken, ApiToken, ExternalIdentity, User, UserGroup, WebSession
from halric.core.personal import Person, Pseudonym
from halric.core.timeutil import utcnow


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def person_of(s: Session, user: User) -> Person:
    """The person behind an account, with every address that named them here (an identity provider's)."""
    others = s.scalars(
        select(ExternalIdentity.email).where(
            ExternalIdentity.user_id == user.id, ExternalIdentity.email.is_not(None)
        )
    )
    return Person(
        user_id=user.id,
        username=user.username,
        email=user.email,
        full_name=user.full_name or "",
        orcid=user.orcid,
        other_emails=tuple(sorted({e.lower() for e in others if e and e.lower() != user.email.lower()})),
    )


def export(s: Session, user: User) -> dict[str, Any]:
    """The account, its roles and groups, linked identities, sessions, API tokens and e-mail links."""
    sessions = s.scalars(select(WebSession).where(WebSession.user_id == user.id).order_by(WebSession.id))
    tokens = s.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    links = s.scalars(select(AccountToken).where(AccountToken.user_id == user.id).order_by(AccountToken.id))
    identities = s.scalars(
        select(ExternalIdentity).where(ExternalIdentity.user_id == user.id).order_by(ExternalIdentity.id)
    )
    groups = s.scalars(select(UserGroup).where(UserGroup.user_id == user.id))
    return {
        "account": {
            "id": user.id,
            "username": user.username,
            "email": user.email,
            "full_name": user.full_name,
            "organisation_id": user.organisation_id,
            "orcid": user.orcid,
            "active": user.is_active,
            "created_at": _iso(user.created_at),
            "updated_at": _iso(user.updated_at),
            "last_sign_in_at": _iso(user.last_login_at),
            "email_confirmed_at": _iso(user.email_verified_at),
            "password": {
                "set": bool(user.password_hash),
                "changed_at": _iso(user.password_changed_at),
                "note": "Stored only as an argon2id hash, which is not included here.",
            },
        },
        "roles": user.role_names,
        "groups": sorted(
            ({"name": g.group.name, "given_by": g.source or "an administrator"} for g in groups),
            key=lambda g: g["name"],
        ),
        "identities": [
            {
                "provider": i.provider,
                "issuer": i.issuer,
                "subject": i.subject,
                "email": i.email,
                "linked_at": _iso(i.created_at),
                "last_used_at": _iso(i.last_used_at),
            }
            for i in identities
        ],
        "sessions": [
            {
                "started_at": _iso(w.created_at),
                "expires_at": _iso(w.expires_at),
                "client_address": w.ip,
                "browser": w.user_agent,
                "identity_provider": w.idp,
                "note": "The session cookie is stored only as a SHA-256 hash, which is not included here.",
            }
            for w in sessions
        ],
        "api_tokens": [
            {
                "name": t.name,
                "created_at": _iso(t.created_at),
                "expires_at": _iso(t.expires_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked": t.revoked,
                "note": "The token is stored only as a SHA-256 hash, which is not included here.",
            }
            for t in tokens
        ],
        "email_links": [
            {
                "purpose": t.purpose,
                "created_at": _iso(t.created_at),
                "expires_at": _iso(t.expires_at),
                "used_at": _iso(t.used_at),
                "client_address": t.ip,
            }
            for t in links
        ],
    }


def hand_over_groups(s: Session, user: User, successor: User) -> list[str]:
    """Give the successor the groups an administrator gave the person (the groups that own the person's
    datasets, proposals and samples); groups from sign-in rules or kept by a project stay with their
    source. Returns the groups newly given."""
    have = {link.group_id for link in successor.group_links}
    given: list[str] = []
    for link in user.group_links:
        if link.source is None and link.group_id not in have:
            successor.group_links.append(UserGroup(group=link.group))
            have.add(link.group_id)
            given.append(link.group.name)
    return sorted(given)


def erase(s: Session, user: User, pseudonym: Pseudonym) -> dict[str, int]:
    """Remove the account's personal data: its sign-in means (password, sessions, API tokens, identities,
    e-mail links), roles and groups, name, address, organisation and ORCID iD. The row stays, under the
    pseudonym and inactive, so that the records pointing at it stay whole."""
    counts = {
        "sessions": s.execute(delete(WebSession).where(WebSession.user_id == user.id)).rowcount or 0,
        "api_tokens": s.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount or 0,
        "email_links": s.execute(delete(AccountToken).where(AccountToken.user_id == user.id)).rowcount or 0,
    }
    counts["identities"] = len(user.identities)
    user.identities.clear()
    counts["groups"] = len(user.group_links)
    user.group_links.clear()
    user.roles.clear()
    s.flush()
    user.username = pseudonym.name
    user.email = pseudonym.email
    user.full_name = ""
    user.password_hash = None
    user.organisation_id = None
    user.orcid = None
    user.is_active = False
    user.last_login_at = None
    user.password_changed_at = None
    user.email_verified_at = None
    user.erased_at = utcnow()
    return {k: int(v) for k, v in counts.items()}
