"""Access rules. Every route depends on exactly one rule; a test walks the app and enforces it.

A rule resolves the caller (browser session cookie or ``Authorization: Bearer`` API token) to an
:class:`~halric.core.actor.Actor`, checks CSRF for unsafe requests authenticated by cookie, and refuses
callers without the required sign-in or role.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request

from halric.accounts import service as accounts
from halric.accounts.models import User, WebSession
from halric.catalog.tokens import looks_like_jwt
from halric.catalog.tokens import resolve as resolve_jwt
from halric.core.actor import ANONYMOUS, Actor
from halric.core.errors import NotAuthenticated, PermissionDenied

SESSION_COOKIE = "halric_session"
CSRF_COOKIE = "halric_csrf"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Caller:
    actor: Actor
    user: User | None
    web_session: WebSession | None
    via_cookie: bool

    @property
    def csrf_token(self) -> str | None:
        return self.web_session.csrf_token if self.web_session else None


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def resolve_caller(request: Request) -> Caller:
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    db = request.app.state.db
    ip = client_ip(request)
    caller = Caller(ANONYMOUS, None, None, via_cookie=False)
    auth = request.headers.get("authorization", "")
    with db.session() as s:
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
            if looks_like_jwt(token):  # issued by the SciCat login (POST /api/v3/auth/login)
                user = resolve_jwt(s, request.app.state.settings.signing_key, token)
            else:
                user = accounts.resolve_api_token(s, token)
            if user is None:
                raise NotAuthenticated("The API token is invalid, expired or revoked.")
            caller = Caller(accounts.actor_for(user, ip=ip, via="api"), user, None, via_cookie=False)
        elif token := request.cookies.get(SESSION_COOKIE):
            found = accounts.resolve_session(s, token)
            if found is not None:
                user, ws = found
                caller = Caller(accounts.actor_for(user, ip=ip, via="web"), user, ws, via_cookie=True)
    request.state.caller = caller
    return caller


def csrf_expected(request: Request, caller: Caller) -> str | None:
    """The token a form or header must echo: the session's, or the pre-sign-in cookie's."""
    return caller.csrf_token or request.cookies.get(CSRF_COOKIE)


def ensure_csrf_cookie(request: Request) -> str:
    """The pre-sign-in CSRF token for anonymous forms (set on the response by the page renderer)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(24)
        request.state.new_csrf = token
    return token


FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}


def media_type(content_type: str) -> str:
    """``Application/X-WWW-Form-URLencoded; charset=UTF-8`` → ``application/x-www-form-urlencoded``:
    media types are case-insensitive and may carry parameters (RFC 9110 §8.3.1)."""
    return content_type.split(";", 1)[0].strip().lower()


async def check_csrf(request: Request, caller: Caller) -> None:
    if request.method not in UNSAFE:
        return
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return  # not cookie-based: CSRF does not apply
    is_form = media_type(request.headers.get("content-type", "")) in FORM_TYPES
    if not is_form and not caller.via_cookie:
        return  # a JSON request without a session cookie carries no ambient authority to forge
    expected = csrf_expected(request, caller)
    sent = request.headers.get("x-csrf-token")
    if sent is None and is_form:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise PermissionDenied(
            "The form has expired or did not come from this site. Reload the page and try again."
        )


class Rule:
    """Base of access rules; instances are FastAPI dependencies returning the Actor."""

    description = ""

    async def __call__(self, request: Request) -> Actor:
        caller = resolve_caller(request)
        await check_csrf(request, caller)
        self.check(caller.actor)
        return caller.actor

    def check(self, actor: Actor) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class Public(Rule):
    description = "anyone, signed in or not"

    def check(self, actor: Actor) -> None:
        return None


class SignedIn(Rule):
    description = "any signed-in user"

    def check(self, actor: Actor) -> None:
        if actor.is_anonymous:
            raise NotAuthenticated(
                "Sign in first (browser) or send a personal API token (Authorization: Bearer)."
            )


class Roles(SignedIn):
    def __init__(self, *roles: str) -> None:
        self.roles = roles
        self.description = "users with role " + " or ".join(roles) + " (or admin)"

    def check(self, actor: Actor) -> None:
        super().check(actor)
        if not actor.has_role(*self.roles):
            raise PermissionDenied(
                "You do not have the role needed for this (" + ", ".join(self.roles) + ")."
            )


PUBLIC = Public()
SIGNED_IN = SignedIn()
ADMIN = Roles("admin")


def require(*roles: str) -> Rule:
    return Roles(*roles)
