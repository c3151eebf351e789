"""Accounts of people who sign in through an identity provider: find the account by issuer + ``sub``,
open one on first sign-in (role applicant, like sign-up), or — when the provider vouches for an
e-mail address that an account already has — ask that person to sign in once the usual way to link it.
Nothing is ever linked silently, and an unverified address never links or matches anything.

At every sign-in the provider's group rules are applied: groups the rules grant are added, groups an
earlier sign-in through the same provider granted and no rule grants any more are taken away. Groups
an administrator gave are left alone. Every change is in the audit log."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from halric.accounts import idp as idps
from halric.accounts.models import ExternalIdentity, IdentityProvider, User, UserGroup, UserRole
from halric.accounts.orcid import ORCID_RE, normalise
from halric.accounts.service import SIGNUP_ROLE, _group, actor_for
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from halric.core.timeutil import utcnow

ORCID_ISSUER = "https://orcid.org"


@dataclass(frozen=True)
class Outcome:
    """``user``: signed in as this account (``created`` when opened just now). ``link_to``: an
    account already has the provider's verified address; its owner must sign in once the usual way,
    then the identity is linked."""

    user: User | None
    link_to: User | None = None
    created: bool = False


def verified_email(claims: dict[str, Any]) -> str | None:
    """The address the provider vouches for, lower-cased; None when it does not say it is verified."""
    email = claims.get("email")
    verified = claims.get("email_verified")
    if isinstance(verified, str):
        verified = verified.lower() == "true"
    if isinstance(email, str) and "@" in email and verified is True:
        return email.strip().lower()
    return None


def orcid_of(issuer: str, claims: dict[str, Any]) -> str | None:
    if issuer.rstrip("/") == ORCID_ISSUER and isinstance(claims.get("sub"), str):
        m = ORCID_RE.fullmatch(claims["sub"])
        return normalise(m.group(1)) if m else None
    for key in ("orcid", "eduperson_orcid"):
        value = claims.get(key)
        if isinstance(value, str) and (m := ORCID_RE.search(value)) and (found := normalise(m.group(1))):
            return found
    return None


def find_identity(s: Session, issuer: str, subject: str) -> ExternalIdentity | None:
    return s.scalar(
        select(ExternalIdentity).where(ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject)
    )


def _username(s: Session, claims: dict[str, Any], provider: str) -> str:
    raw = claims.get("preferred_username") or (str(claims.get("email") or "").split("@")[0]) or ""
    base = re.sub(r"[^A-Za-z0-9._-]", "", str(raw))[:40].strip("._-")
    if len(base) < 2:
        base = f"{provider}-{re.sub(r'[^A-Za-z0-9]', '', str(claims['sub']))[:20] or 'user'}"
    name = base
    while s.scalar(select(User.id).where(func.lower(User.username) == name.lower())) is not None:
        name = f"{base}-{secrets.token_hex(2)}"
    return name


def _full_name(claims: dict[str, Any]) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(p for p in parts if isinstance(p, str))
    return " ".join(name.split())[:200]


def apply_groups(
    s: Session, user: User, provider: IdentityProvider, claims: dict[str, Any], *, ip: str | None
) -> dict[str, list[str]]:
    """Bring the groups granted through ``provider`` in line with its rules and ``claims``."""
    granted = idps.groups_for(idps.list_rules(s), provider.name, claims)
    source = f"idp:{provider.name}"
    have = {link.group.name: link for link in user.group_links}
    added, removed = [], []
    for link in list(user.group_links):
        if link.source == source and link.group.name not in granted:
            user.group_links.remove(link)
            s.delete(link)
            removed.append(link.group.name)
    for name in sorted(granted):
        if name not in have:
            user.group_links.append(UserGroup(user_id=user.id, group=_group(s, name), source=source))
            added.append(name)
    s.flush()
    result = {"granted": sorted(granted), "added": added, "removed": sorted(removed)}
    audit.record(
        s, actor_for(user, ip=ip), "apply-group-rules", "user", user.id, {"provider": provider.name, **result}
    )
    return result


def _touch(s: Session, identity: ExternalIdentity, user: User, issuer: str, claims: dict[str, Any]) -> None:
    identity.last_used_at = utcnow()
    identity.email = verified_email(claims) or identity.email
    orcid = orcid_of(issuer, claims)
    if orcid and user.orcid != orcid:
        user.orcid = orcid
    user.last_login_at = utcnow()


def sign_in(
    s: Session, provider: IdentityProvider, claims: dict[str, Any], *, ip: str | None, signup: bool = True
) -> Outcome:
    """The account for a validated sign-in through ``provider`` (see the module's doc)."""
    issuer, subject = provider.issuer, str(claims["sub"])
    identity = find_identity(s, issuer, subject)
    if identity is not None:
        user = s.get(User, identity.user_id)
        if user is None or not user.is_active:
            raise NotAuthenticated("This account is deactivated. Ask the hub's administrators.")
        _touch(s, identity, user, issuer, claims)
        apply_groups(s, user, provider, claims, ip=ip)
        return Outcome(user=user)
    email = verified_email(claims)
    if email is not None:
        existing = s.scalar(select(User).where(func.lower(User.email) == email))
        if existing is not None:
            return Outcome(user=None, link_to=existing)
    if not signup:
        raise PermissionDenied(
            "This hub does not open accounts on request. Ask its administrators for one, then link "
            f"{provider.display_name} on your account page."
        )
    username = _username(s, claims, provider.name)
    claimed = claims.get("email") if isinstance(claims.get("email"), str) else None
    if email is None and claimed:
        # unverified: kept only when no account has it, and never counted as confirmed
        clash = s.scalar(select(User.id).where(func.lower(User.email) == claimed.strip().lower()))
        claimed = None if clash is not None else claimed.strip().lower()
    user = User(
        username=username,
        email=email or claimed or f"{username.lower()}@no-address.invalid",
        full_name=_full_name(claims) or username,
        password_hash=None,
        email_verified_at=utcnow() if email else None,
        last_login_at=utcnow(),
        orcid=orcid_of(issuer, claims),
    )
    user.roles = [UserRole(role=SIGNUP_ROLE)]
    s.add(user)
    s.flush()
    identity = ExternalIdentity(
        user_id=user.id, provider=provider.name, issuer=issuer, subject=subject, email=email,
        last_used_at=utcnow(),
    )  # fmt: skip
    s.add(identity)
    s.flush()
    audit.record(
        s, actor_for(user, ip=ip), "sign-up", "user", user.id,
        {"username": username, "roles": [SIGNUP_ROLE], "provider": provider.name, "email_verified": bool(email)},
    )  # fmt: skip
    s.refresh(user)
    apply_groups(s, user, provider, claims, ip=ip)
    return Outcome(user=user, created=True)


def link(
    s: Session, actor: Actor, user: User, provider: IdentityProvider, claims: dict[str, Any]
) -> ExternalIdentity:
    """Link a validated identity to ``user`` (who has just proved they own the account)."""
    if actor.user_id != user.id:
        raise PermissionDenied("Only the account's owner links identities to it.")
    issuer, subject = provider.issuer, str(claims["sub"])
    existing = find_identity(s, issuer, subject)
    if existing is not None:
        if existing.user_id == user.id:
            return existing
        raise Conflict(
            f"This {provider.display_name} identity is linked to another account already. Sign in with it "
            "and unlink it there first."
        )
    identity = ExternalIdentity(
        user_id=user.id, provider=provider.name, issuer=issuer, subject=subject,
        email=verified_email(claims), last_used_at=utcnow(),
    )  # fmt: skip
    s.add(identity)
    orcid = orcid_of(issuer, claims)
    if orcid:
        user.orcid = orcid
    s.flush()
    audit.record(s, actor, "link-identity", "user", user.id, {"provider": provider.name, "issuer": issuer})
    return identity


def list_identities(s: Session, user: User) -> list[ExternalIdentity]:
    q = select(ExternalIdentity).where(ExternalIdentity.user_id == user.id)
    return list(s.scalars(q.order_by(ExternalIdentity.id)))


def unlink(s: Session, actor: Actor, user: User, identity_id: int, *, local_signin: bool) -> None:
    """Remove a linked identity; refused when it is the account's last way to sign in."""
    identity = s.get(ExternalIdentity, identity_id)
    if identity is None or identity.user_id != user.id or (actor.user_id != user.id and not actor.is_admin):
        raise NotFound(f"No linked identity with id {identity_id}.")
    others = [i for i in list_identities(s, user) if i.id != identity.id]
    if not others and not (local_signin and user.password_hash):
        raise InvalidInput(
            "This is the only way you can sign in to this account: link another provider first."
        )
    s.delete(identity)
    audit.record(
        s,
        actor,
        "unlink-identity",
        "user",
        user.id,
        {"provider": identity.provider, "issuer": identity.issuer},
    )


def provider_by_name(s: Session, name: str) -> IdentityProvider:
    try:
        return idps.get_provider(s, name)
    except NotFound:
        raise NotFound(f"No identity provider named {name!r} on this hub.") from None
