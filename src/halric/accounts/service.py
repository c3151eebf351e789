"""Account operations. Take a SQLAlchemy session and an Actor; raise halric.core.errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, joinedload

from halric.accounts import throttle
from halric.accounts.models import (
    AccountToken,
    ApiToken,
    ExternalIdentity,
    Group,
    LoginFailure,
    User,
    UserGroup,
    UserRole,
    WebSession,
)
from halric.accounts.schemas import NewUser, SignUp, UserOut, UserUpdate
from halric.accounts.security import hash_password, needs_rehash, new_token, token_digest, verify_password
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TooManyRequests,
)
from halric.core.timeutil import as_utc, utcnow

GENERIC_LOGIN_ERROR = "Invalid user name or password."
UNCONFIRMED_MESSAGE = (
    "Confirm your e-mail address first: open the link we sent you. No e-mail? Use “Forgot your "
    "password?” to get a new link."
)
TOKEN_PREFIX = "hlr_"


def check_password_policy(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise InvalidInput(f"password: use at least {min_length} characters", field="password")
    if len(password) > 1024:
        raise InvalidInput("password: use at most 1024 characters", field="password")


def check_password_repeated(password: str, repeated: str) -> None:
    """Forms ask for a new password twice; the two must be the same."""
    if password != repeated:
        raise InvalidInput("confirm_password: the two passwords differ", field="confirm_password")


def actor_for(user: User, *, ip: str | None = None, via: str = "web") -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        roles=frozenset(user.role_names),
        groups=frozenset(user.group_names),
        organisation=user.organisation_id,
        ip=ip,
        via=via,
    )


def to_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        email=user.email,
        full_name=user.full_name,
        roles=user.role_names,
        groups=user.group_names,
        organisation_id=user.organisation_id,
        is_active=user.is_active,
    )


def _group(session: Session, name: str) -> Group:
    g = session.scalar(select(Group).where(Group.name == name))
    if g is None:
        g = Group(name=name)
        session.add(g)
        session.flush()
    return g


def create_user(session: Session, actor: Actor, data: NewUser, *, min_password_length: int = 10) -> User:
    if not actor.has_role("admin"):
        raise PermissionDenied("Only administrators create accounts.")
    check_password_policy(data.password, min_password_length)
    clash = session.scalar(
        select(User).where(
            or_(
                func.lower(User.username) == data.username.lower(),
                func.lower(User.email) == data.email.lower(),
            )
        )
    )
    if clash is not None:
        what = "user name" if clash.username.lower() == data.username.lower() else "e-mail address"
        raise Conflict(f"An account with this {what} already exists.", field=what)
    user = User(
        username=data.username,
        email=data.email.lower(),
        full_name=data.full_name,
        password_hash=hash_password(data.password),
        organisation_id=data.organisation_id,
        password_changed_at=utcnow(),
        email_verified_at=utcnow(),
    )
    user.roles = [UserRole(role=r) for r in data.roles]
    session.add(user)
    session.flush()
    for g in data.groups:
        session.add(UserGroup(user_id=user.id, group=_group(session, g)))
    session.flush()
    session.refresh(user)
    audit.record(
        session,
        actor,
        "create",
        "user",
        user.id,
        {"username": user.username, "roles": data.roles, "groups": data.groups},
    )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


ERASED_MESSAGE = "This account was erased; it cannot be changed or used again."


def ensure_not_erased(user: User) -> None:
    """An erased account (halric.gdpr) stays only as a pseudonym: it gets no password, token or role."""
    if user.erased_at is not None:
        raise Conflict(ERASED_MESSAGE)


def count_admins(session: Session) -> int:
    q = select(func.count()).select_from(UserRole).where(UserRole.role == "admin")
    return session.scalar(q) or 0


def _end_sessions(session: Session, user: User) -> None:
    for s in session.scalars(select(WebSession).where(WebSession.user_id == user.id)):
        session.delete(s)


def _other_active_admins(session: Session, user: User) -> int:
    q = (
        select(func.count())
        .select_from(UserRole)
        .join(User, User.id == UserRole.user_id)
        .where(UserRole.role == "admin", User.is_active.is_(True), User.id != user.id)
    )
    return session.scalar(q) or 0


def update_user(session: Session, actor: Actor, user_id: int, data: UserUpdate) -> User:
    """Change an account's e-mail, name, roles, groups, organisation or status (administrators).

    Only the fields given in ``data`` change. The hub always keeps an active administrator: nobody
    takes away their own admin role or deactivates themselves, and the last active administrator
    cannot lose either. The audit log records each changed field, before and after. Role and group
    changes apply from the user's next request (rights are read per request); deactivating an account
    ends its sessions at once (its API tokens stop working with it)."""
    if not actor.has_role("admin"):
        raise PermissionDenied("Only administrators change accounts.")
    user = get_user(session, user_id)
    ensure_not_erased(user)
    given = data.model_fields_set
    changes: dict[str, dict[str, object]] = {}
    last_admin = user.is_active and "admin" in user.role_names and _other_active_admins(session, user) == 0

    if "email" in given and data.email is not None and data.email.lower() != user.email:
        email = data.email.lower()
        clash = session.scalar(select(User).where(func.lower(User.email) == email, User.id != user.id))
        if clash is not None:
            raise Conflict("An account with this e-mail address already exists.", field="email")
        changes["email"] = {"from": user.email, "to": email}
        user.email = email
    if "full_name" in given and data.full_name is not None and data.full_name.strip() != user.full_name:
        changes["full_name"] = {"from": user.full_name, "to": data.full_name.strip()}
        user.full_name = data.full_name.strip()
    if "organisation_id" in given:
        org = (data.organisation_id or "").strip() or None
        if org != user.organisation_id:
            changes["organisation_id"] = {"from": user.organisation_id, "to": org}
            user.organisation_id = org
    if "roles" in given and data.roles is not None and data.roles != user.role_names:
        if "admin" in user.role_names and "admin" not in data.roles:
            if user.id == actor.user_id:
                raise Conflict("You cannot take away your own administrator role.", field="roles")
            if last_admin:
                raise Conflict(
                    "This is the last active administrator; make another one first.", field="roles"
                )
        changes["roles"] = {"from": user.role_names, "to": data.roles}
        keep = [r for r in user.roles if r.role in data.roles]
        have = {r.role for r in keep}
        user.roles = keep + [UserRole(role=r) for r in data.roles if r not in have]
    if "is_active" in given and data.is_active is not None and data.is_active != user.is_active:
        if not data.is_active:
            if user.id == actor.user_id:
                raise Conflict("You cannot deactivate your own account.", field="is_active")
            if last_admin:
                raise Conflict(
                    "This is the last active administrator; make another one first.", field="is_active"
                )
            _end_sessions(session, user)
        changes["is_active"] = {"from": user.is_active, "to": data.is_active}
        user.is_active = data.is_active
    if "groups" in given and data.groups is not None and data.groups != user.group_names:
        changes["groups"] = {"from": user.group_names, "to": data.groups}
        want = set(data.groups)
        for link in list(user.group_links):
            if link.group.name not in want:
                user.group_links.remove(link)
        have = {link.group.name for link in user.group_links}
        for g in sorted(want - have):
            user.group_links.append(UserGroup(group=_group(session, g)))
    if changes:
        session.flush()
        session.refresh(user)
        audit.record(session, actor, "update", "user", user.id, {"username": user.username, **changes})
    return user


def set_active(session: Session, actor: Actor, user_id: int, active: bool) -> User:
    return update_user(session, actor, user_id, UserUpdate(is_active=active))


def find_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise NotFound(f"No account with the e-mail address {email.strip()!r}.")
    return user


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user


# --- sign-in, throttling -------------------------------------------------------------------------


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    ip: str | None,
    max_failures: int = 5,
    lock_minutes: int = 15,
) -> User:
    """Check a user name and password, throttled per (user name, address) and per address with a
    progressive delay (see :mod:`halric.accounts.throttle`); a waiting caller gets ``TooManyRequests``
    with the seconds to wait, and no account is ever locked for everyone.

    The same message answers an unknown user and a wrong password, and an unknown user name is
    throttled exactly like a known one, so neither the message nor the delay reveals who exists.
    """
    left = throttle.attempt(session, username, ip, free=max_failures, longest=lock_minutes * 60)
    session.commit()  # counted before the slow password check: parallel attempts see it
    if left:
        raise TooManyRequests(
            f"Too many failed sign-ins from your address. Try again in {throttle.describe(left)}.",
            retry_after=left,
        )
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise NotAuthenticated(GENERIC_LOGIN_ERROR)  # the attempt is counted already
    throttle.succeeded(session, username, ip, free=max_failures)
    if user.email_verified_at is None:
        session.commit()
        raise NotAuthenticated(UNCONFIRMED_MESSAGE)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def authenticate_token(session: Session, username: str, token: str) -> User:
    """A user name with one of that account's personal API tokens, for clients that only know how to
    log in with a user name and password (the SciCat login) — e.g. accounts without a password."""
    user = resolve_api_token(session, token.strip())
    if user is None or user.username.lower() != username.strip().lower():
        raise NotAuthenticated(GENERIC_LOGIN_ERROR)
    user.last_login_at = utcnow()
    return user


def start_session(
    session: Session, user: User, *, hours: int, ip: str | None, user_agent: str | None
) -> tuple[str, WebSession]:
    token = new_token()
    ws = WebSession(
        token_hash=token_digest(token),
        user_id=user.id,
        csrf_token=new_token(),
        expires_at=utcnow() + timedelta(hours=hours),
        ip=ip,
        user_agent=(user_agent or "")[:300],
    )
    session.add(ws)
    audit.record(session, actor_for(user, ip=ip), "sign-in", "user", user.id)
    return token, ws


def resolve_session(session: Session, token: str) -> tuple[User, WebSession] | None:
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == token_digest(token)))
    if ws is None or as_utc(ws.expires_at) <= utcnow():
        return None
    user = session.get(User, ws.user_id)
    if user is None or not user.is_active:
        return None
    return user, ws


def end_session(session: Session, token: str, actor: Actor) -> None:
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == token_digest(token)))
    if ws is not None:
        session.delete(ws)
        audit.record(session, actor, "sign-out", "user", ws.user_id)


def change_password(
    session: Session, actor: Actor, user: User, current: str, new: str, *, min_length: int
) -> None:
    if not verify_password(user.password_hash, current):
        raise InvalidInput("current_password: the current password is not correct", field="current_password")
    check_password_policy(new, min_length)
    if current == new:
        raise InvalidInput(
            "new_password: choose a password different from the current one", field="new_password"
        )
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    _end_sessions(session, user)  # every session of this user ends
    audit.record(session, actor, "change-password", "user", user.id)


def set_password(session: Session, actor: Actor, user: User, new: str, *, min_length: int) -> None:
    if not actor.has_role("admin"):
        raise PermissionDenied("Only administrators reset passwords.")
    ensure_not_erased(user)
    check_password_policy(new, min_length)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    _end_sessions(session, user)
    audit.record(session, actor, "reset-password", "user", user.id)


# --- API tokens -----------------------------------------------------------------------------------


def create_api_token(
    session: Session, actor: Actor, user: User, name: str, *, days: int | None = 365
) -> tuple[str, ApiToken]:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("name: give the token a name of 1–100 characters", field="name")
    if actor.user_id != user.id and not actor.is_admin:
        raise PermissionDenied("You can only create tokens for yourself.")
    ensure_not_erased(user)
    token = new_token(TOKEN_PREFIX)
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=token[: len(TOKEN_PREFIX) + 6],
        token_hash=token_digest(token),
        expires_at=utcnow() + timedelta(days=days) if days else None,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor, "create", "api-token", row.id, {"name": name, "user": user.username})
    return token, row


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    q = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
    return list(session.scalars(q.order_by(ApiToken.id)))


def revoke_api_token(session: Session, actor: Actor, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != actor.user_id and not actor.is_admin):
        raise NotFound(f"No token with id {token_id}.")
    row.revoked = True
    audit.record(session, actor, "revoke", "api-token", row.id)


def resolve_api_token(session: Session, token: str) -> User | None:
    # one query for the token, its user and the user's roles and groups (every API request asks this)
    found = (
        session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_digest(token))
            .options(joinedload(User.roles), joinedload(User.group_links))
        )
        .unique()
        .first()
    )
    if found is None:
        return None
    row, user = found
    if row.revoked:
        return None
    if row.expires_at is not None and as_utc(row.expires_at) <= utcnow():
        return None
    if not user.is_active:
        return None
    now = utcnow()
    if row.last_used_at is None or (now - as_utc(row.last_used_at)) > timedelta(minutes=5):
        row.last_used_at = now
    return user


def purge_expired(
    s: Session,
    *,
    now: datetime | None = None,
    failures_after: timedelta = timedelta(days=1),
    unconfirmed_after: timedelta = timedelta(days=7),
    sessions_after: timedelta = timedelta(0),
) -> dict[str, int]:
    """Delete browser sessions expired longer ago than ``sessions_after``, sign-in failure counters that
    no longer throttle anyone (last failure longer ago than ``failures_after`` and no lock in force),
    e-mail links expired for a day, and self-made accounts whose address was not confirmed within
    ``unconfirmed_after``. Safe to repeat."""
    now = now or utcnow()
    sessions = s.execute(delete(WebSession).where(WebSession.expires_at < now - sessions_after)).rowcount or 0
    stale = now - failures_after
    failures = (
        s.execute(
            delete(LoginFailure).where(
                LoginFailure.last_at < stale,
                or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now),
            )
        ).rowcount
        or 0
    )
    links = (
        s.execute(delete(AccountToken).where(AccountToken.expires_at < now - timedelta(days=1))).rowcount or 0
    )
    # sign-ups whose address was never confirmed: they cannot sign in, so nothing else refers to them
    unconfirmed = (
        s.execute(
            delete(User).where(
                User.email_verified_at.is_(None),
                User.erased_at.is_(None),  # an erased account stays: records point at it
                User.created_at < now - unconfirmed_after,
                # opened through an identity provider: signs in there, whatever its address
                ~select(ExternalIdentity.id).where(ExternalIdentity.user_id == User.id).exists(),
            )
        ).rowcount
        or 0
    )
    return {
        "sessions": int(sessions),
        "login_failures": int(failures),
        "email_links": int(links),
        "unconfirmed_accounts": int(unconfirmed),
    }


def forget_addresses(s: Session, *, before: datetime) -> int:
    """Remove client addresses and browser descriptions recorded before ``before`` from sessions and
    e-mail links (the retention period of addresses); the rows themselves follow their own periods."""
    n = (
        s.execute(
            update(WebSession)
            .where(WebSession.created_at < before)
            .where(or_(WebSession.ip.is_not(None), WebSession.user_agent.is_not(None)))
            .values(ip=None, user_agent=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
    n += (
        s.execute(
            update(AccountToken)
            .where(AccountToken.created_at < before, AccountToken.ip.is_not(None))
            .values(ip=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
    return int(n)


# --- sign-up, e-mail confirmation and password reset ---------------------------------------------

CONFIRM_EMAIL = "confirm-email"
RESET_PASSWORD = "reset-password"
SIGNUP_ROLE = "applicant"
INVALID_LINK = "This link is not valid any more: it was used, replaced by a newer one, or has expired. Ask for a new one."


@dataclass(frozen=True)
class SignUpResult:
    """``user`` and ``token`` for a new account (the token confirms its address); or ``existing``, the
    account that already has this address, with a password-reset ``token`` for it (``None`` when too
    many were sent lately). The person signing up is told the same in both cases."""

    user: User | None
    existing: User | None
    token: str | None


def _check_link_rate(session: Session, *, ip: str | None, max_per_hour: int) -> None:
    if not ip:
        return
    since = utcnow() - timedelta(hours=1)
    q = (
        select(func.count())
        .select_from(AccountToken)
        .where(AccountToken.ip == ip, AccountToken.created_at > since)
    )
    if (session.scalar(q) or 0) >= max_per_hour:
        raise TooManyRequests("Too many requests from your address. Try again in an hour.")


def _issue(session: Session, user: User, purpose: str, *, lifetime: timedelta, ip: str | None) -> str | None:
    """A new single-use token for ``user``; earlier unused ones for the same purpose stop working. At
    most three per account and hour (None beyond that: the mails already sent still work)."""
    now = utcnow()
    recent = (
        select(func.count())
        .select_from(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == purpose,
            AccountToken.created_at > now - timedelta(hours=1),
        )
    )
    if (session.scalar(recent) or 0) >= 3:
        return None
    for old in session.scalars(
        select(AccountToken).where(
            AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None)
        )
    ):
        old.used_at = now
    token = new_token()
    session.add(
        AccountToken(
            user_id=user.id, purpose=purpose, token_hash=token_digest(token), expires_at=now + lifetime, ip=ip
        )
    )
    session.flush()
    return token


def _valid_token(session: Session, token: str, purpose: str) -> tuple[AccountToken, User]:
    row = session.scalar(select(AccountToken).where(AccountToken.token_hash == token_digest(token or "")))
    if row is None or row.purpose != purpose or row.used_at is not None or as_utc(row.expires_at) <= utcnow():
        raise InvalidInput(INVALID_LINK, field="token")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise InvalidInput(INVALID_LINK, field="token")
    return row, user


def _redeem(session: Session, token: str, purpose: str) -> User:
    row, user = _valid_token(session, token, purpose)
    row.used_at = utcnow()
    return user


def sign_up(
    session: Session,
    data: SignUp,
    *,
    ip: str | None,
    min_password_length: int,
    confirm_hours: int = 48,
    reset_minutes: int = 60,
    max_links_per_hour: int = 10,
) -> SignUpResult:
    """Open an account for oneself: role applicant, no groups, address unconfirmed until the link
    sent to it is used. A taken user name is said; a taken e-mail address is not (the owner of that
    address gets a password-reset link instead), so sign-up does not reveal who has an account."""
    check_password_policy(data.password, min_password_length)
    _check_link_rate(session, ip=ip, max_per_hour=max_links_per_hour)
    if session.scalar(select(User.id).where(func.lower(User.username) == data.username.lower())) is not None:
        raise Conflict("This user name is taken; choose another.", field="username")
    # hashed on both paths: the time an answer takes must not tell whether the address is registered
    password_hash = hash_password(data.password)
    email = data.email.lower()
    existing = session.scalar(select(User).where(func.lower(User.email) == email))
    if existing is not None:
        token = None
        if existing.is_active:
            token = _issue(
                session, existing, RESET_PASSWORD, lifetime=timedelta(minutes=reset_minutes), ip=ip
            )
        return SignUpResult(user=None, existing=existing, token=token)
    user = User(
        username=data.username,
        email=email,
        full_name=data.full_name,
        password_hash=password_hash,
        password_changed_at=utcnow(),
    )
    user.roles = [UserRole(role=SIGNUP_ROLE)]
    session.add(user)
    session.flush()
    token = _issue(session, user, CONFIRM_EMAIL, lifetime=timedelta(hours=confirm_hours), ip=ip)
    audit.record(
        session,
        actor_for(user, ip=ip),
        "sign-up",
        "user",
        user.id,
        {"username": user.username, "roles": [SIGNUP_ROLE]},
    )
    return SignUpResult(user=user, existing=None, token=token)


def confirm_email(session: Session, token: str, *, ip: str | None) -> User:
    """Use a confirmation link: the account's address is confirmed and it can sign in."""
    user = _redeem(session, token, CONFIRM_EMAIL)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        audit.record(session, actor_for(user, ip=ip), "confirm-email", "user", user.id, {"email": user.email})
    return user


def request_password_reset(
    session: Session, email: str, *, ip: str | None, reset_minutes: int = 60, max_links_per_hour: int = 10
) -> tuple[User, str] | None:
    """A reset link for the active account with this address, or None (no such account, or enough
    links sent lately). The caller answers the same either way."""
    _check_link_rate(session, ip=ip, max_per_hour=max_links_per_hour)
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.is_active:
        return None
    token = _issue(session, user, RESET_PASSWORD, lifetime=timedelta(minutes=reset_minutes), ip=ip)
    return None if token is None else (user, token)


def check_reset_token(session: Session, token: str) -> User:
    """The account a reset link is for, without using it (to show the form)."""
    return _valid_token(session, token, RESET_PASSWORD)[1]


def reset_password(session: Session, token: str, new: str, *, min_length: int, ip: str | None) -> User:
    """Use a reset link: new password, every session of the account ends, and the address counts as
    confirmed (the link was read there). An invalid password leaves the link usable."""
    check_password_policy(new, min_length)
    user = _redeem(session, token, RESET_PASSWORD)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    _end_sessions(session, user)
    audit.record(session, actor_for(user, ip=ip), "reset-password", "user", user.id, {"via": "e-mail link"})
    return user


# --- groups kept by another part of the hub ---------------------------------------------------------------


@dataclass
class GroupSync:
    group: Group
    added: list[str]
    removed: list[str]


def sync_group(
    session: Session, actor: Actor, name: str, user_ids: set[int], *, source: str, description: str = ""
) -> GroupSync:
    """Make ``user_ids`` the members of group ``name`` that ``source`` gave (e.g. ``project:12``), creating
    the group if needed. Only links with this source are taken away: a membership an administrator gave
    (source None) or a sign-in rule gave stays. Audited when something changed."""
    group = _group(session, name)
    if description and group.description != description:
        group.description = description[:500]
    links = list(session.scalars(select(UserGroup).where(UserGroup.group_id == group.id)))
    linked = {link.user_id for link in links}
    removed: list[str] = []
    for link in links:
        if link.source == source and link.user_id not in user_ids:
            user = session.get(User, link.user_id)
            if user is not None and link in user.group_links:
                user.group_links.remove(link)
            session.delete(link)
            removed.append(user.username if user else str(link.user_id))
    added: list[str] = []
    for uid in sorted(user_ids - linked):
        user = session.get(User, uid)
        if user is None:
            continue
        user.group_links.append(UserGroup(user_id=uid, group=group, source=source))
        added.append(user.username)
    session.flush()
    if added or removed:
        audit.record(
            session, actor, "sync-group", "group", group.name,
            {"source": source, "added": sorted(added), "removed": sorted(removed)},
        )  # fmt: skip
    return GroupSync(group, sorted(added), sorted(removed))


def group_members(session: Session, name: str) -> list[User]:
    """The accounts in group ``name`` (none when there is no such group), by user name."""
    q = (
        select(User)
        .join(UserGroup, UserGroup.user_id == User.id)
        .join(Group, Group.id == UserGroup.group_id)
        .where(Group.name == name)
        .order_by(User.username)
    )
    return list(session.scalars(q))
