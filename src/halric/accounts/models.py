"""Account tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from halric.core.db import Base
from halric.core.timeutil import utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(256))
    organisation_id: Mapped[str | None] = mapped_column(String(64), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()
    password_changed_at: Mapped[datetime | None] = mapped_column()
    # when the person proved they read mail at ``email``: at sign-up through the link sent there;
    # accounts made by an administrator count as confirmed
    email_verified_at: Mapped[datetime | None] = mapped_column()
    # the person's ORCID iD (0000-0002-1825-0097), learnt from ORCID or a provider's claim at sign-in
    orcid: Mapped[str | None] = mapped_column(String(19))
    # when an administrator erased the account (halric.gdpr): its personal data is gone or pseudonymised,
    # it cannot sign in, and it is kept only so that the records pointing at it stay whole
    erased_at: Mapped[datetime | None] = mapped_column()

    roles: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )
    group_links: Mapped[list[UserGroup]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    identities: Mapped[list[ExternalIdentity]] = relationship(cascade="all, delete-orphan")

    @property
    def role_names(self) -> list[str]:
        return [r.role for r in self.roles]

    @property
    def group_names(self) -> list[str]:
        return sorted(link.group.name for link in self.group_links)


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(150), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserGroup(Base):
    __tablename__ = "user_groups"
    __table_args__ = (UniqueConstraint("user_id", "group_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    # None: given by an administrator; "idp:NAME": granted by a group rule at sign-in through NAME
    # (and taken away at a later sign-in there when no rule grants it any more)
    source: Mapped[str | None] = mapped_column(String(80))
    group: Mapped[Group] = relationship(lazy="joined")


class ExternalIdentity(Base):
    """A link from an account to an outside identity: the ``sub`` an OpenID provider (``issuer``) gives
    the person. Issuer and subject are the key, never the e-mail address. ``provider`` is the name of
    the configured provider it was linked through."""

    __tablename__ = "external_identities"
    __table_args__ = (
        UniqueConstraint("provider", "subject"),
        Index("uq_external_identities_issuer_subject", "issuer", "subject", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(255))
    issuer: Mapped[str] = mapped_column(String(500), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()


class IdentityProvider(Base):
    """An OpenID provider people may sign in with, configured by an administrator (``halric idp``).
    The client secret is stored sealed (:mod:`halric.core.sealing`)."""

    __tablename__ = "identity_providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret_sealed: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(500))
    groups_claim: Mapped[str | None] = mapped_column(String(100))
    preset: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupRule(Base):
    """Grants a hub group to whoever signs in through ``provider`` (any provider when None) with
    ``claim`` holding ``value`` (a list claim: one of its entries; ``value`` ending in ``*``: any
    entry starting with the rest)."""

    __tablename__ = "idp_group_rules"
    __table_args__ = (UniqueConstraint("provider", "claim", "value", "group_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str | None] = mapped_column(String(64))
    claim: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(String(500))
    group_name: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A browser session. Only a hash of the cookie value is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # signed in through this identity provider; its ID token is the hint for RP-initiated logout
    idp: Mapped[str | None] = mapped_column(String(64))
    id_token: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    """A personal API token for scripts and the CLI (Bearer). Only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginFailure(Base):
    """Failed sign-ins per key: a (user name, client address) pair or a client address, for throttling
    (see ``halric.accounts.throttle``); ``locked_until`` is when the next attempt may be made."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()


class AccountToken(Base):
    """A single-use link sent by e-mail: confirm the address of a new account, or reset a password.
    Only a hash of the token is stored; it expires, and using it marks it used."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(64), index=True)
