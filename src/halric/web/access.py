"""Access rules. Every route depends on exactly one rule; a test walks the app and enforces it.

A rule resolves the caller (browser session cookie or ``Authorization: Bearer`` API token) to an
:class:`~halric.core.actor.Actor`, checks CSRF for unsafe requests authenticated by cookie, and refuses
callers without the required sign-in or role.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

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
log = logging.getLogger(__name__)


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
    """The client's address: the peer, or what a trusted proxy says (see web/proxies.py)."""
    return request.client.host if request.client else None


def resolve_caller(request: Request) -> Caller:
    """The caller of this request (cached on the request). Blocking: call it from a worker thread or a
    sync route; async code uses :func:`resolve_caller_async`."""
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    caller = Caller(ANONYMOUS, None, None, via_cookie=False)
    auth = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE)
    if auth.lower().startswith("bearer ") or cookie:
        caller = _lookup(request, auth, cookie)
    request.state.caller = caller
    return caller


async def resolve_caller_async(request: Request) -> Caller:
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") and not request.cookies.get(SESSION_COOKIE):
        return resolve_caller(request)  # anonymous: no database work
    if TokenCache.applies(request) and (known := TokenCache.of(request.app).get(auth[7:].strip())):
        caller, token_ids = known
        caller = dataclasses.replace(caller, actor=dataclasses.replace(caller.actor, ip=client_ip(request)))
        request.state.caller = caller
        if token_ids:
            TokenUse.of(request.app).note(token_ids)
        return caller
    from starlette.concurrency import run_in_threadpool

    from halric.web.deps import DbGate

    async with DbGate.of(request.app).turn(request, write=False):
        return await run_in_threadpool(resolve_caller, request)


def _lookup(request: Request, auth: str, cookie: str | None) -> Caller:
    """Token or session lookup in one short reading transaction; nothing is written on this path (a
    token's ``last_used_at`` is recorded afterwards, at most every few minutes: :class:`TokenUse`)."""
    from halric.accounts.models import ApiToken

    db = request.app.state.db
    ip = client_ip(request)
    caller = Caller(ANONYMOUS, None, None, via_cookie=False)
    used: list[int] = []
    s = db.new_session(write=False)
    try:
        with s.no_autoflush:
            if auth.lower().startswith("bearer "):
                token = auth[7:].strip()
                if looks_like_jwt(token):  # issued by the SciCat login (POST /api/v3/auth/login)
                    user = resolve_jwt(s, request.app.state.settings.signing_key, token)
                else:
                    user = accounts.resolve_api_token(s, token)
                    used = [t.id for t in s.dirty if isinstance(t, ApiToken)]
                if user is None:
                    raise NotAuthenticated("The API token is invalid, expired or revoked.")
                caller = Caller(accounts.actor_for(user, ip=ip, via="api"), user, None, via_cookie=False)
                if TokenCache.applies(request):
                    ids = [t.id for t in s.identity_map.values() if isinstance(t, ApiToken)]
                    TokenCache.of(request.app).put(token, caller, ids)
            elif cookie:
                found = accounts.resolve_session(s, cookie)
                if found is not None:
                    user, ws = found
                    caller = Caller(accounts.actor_for(user, ip=ip, via="web"), user, ws, via_cookie=True)
    finally:
        s.close()  # nothing written (the token's last_used_at change is dropped); objects stay loaded
    if used:
        TokenUse.of(request.app).note(used)
    return caller


class TokenCache:
    """Callers of recently seen Bearer tokens, kept ``HALRIC_AUTH_CACHE_SECONDS`` (per process).

    Only for the SciCat API (``/api/v3``, ``/api/v4``), where ingest scripts send many requests: a token
    is looked up once every few seconds instead of on every request. The price: there, a revoked or
    expired token, a deactivated account or changed roles take effect after at most that many seconds
    (0 switches the cache off). Every other address looks the token up each time."""

    PATHS = ("/api/v3/", "/api/v4/")

    @classmethod
    def applies(cls, request: Request) -> bool:
        return request.headers.get("authorization", "")[
            :7
        ].lower() == "bearer " and request.url.path.lower().startswith(cls.PATHS)

    def __init__(self, seconds: float, size: int = 4096) -> None:
        self.seconds = seconds
        self.size = size
        self._items: dict[bytes, tuple[float, Caller, list[int]]] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, app: Any) -> TokenCache:
        found = getattr(app.state, "token_cache", None)
        if found is None:
            found = app.state.token_cache = cls(app.state.settings.auth_cache_seconds)
        return found

    @staticmethod
    def _key(token: str) -> bytes:
        return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()

    def get(self, token: str) -> tuple[Caller, list[int]] | None:
        if self.seconds <= 0:
            return None
        with self._lock:
            found = self._items.get(self._key(token))
        if found is None or found[0] < time.monotonic():
            return None
        return found[1], found[2]

    def put(self, token: str, caller: Caller, token_ids: list[int]) -> None:
        if self.seconds <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._items) >= self.size:
                self._items = {k: v for k, v in self._items.items() if v[0] >= now}
                if len(self._items) >= self.size:
                    self._items.clear()
            self._items[self._key(token)] = (now + self.seconds, caller, token_ids)


class TokenUse:
    """Records when API tokens were last used, off the request path and at most once per token every
    ``every`` seconds per process (the account page shows it to the minute)."""

    def __init__(self, db: Any, every: float = 300.0) -> None:
        self.db = db
        self.every = every
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(cls, app: Any) -> TokenUse:
        found = getattr(app.state, "token_use", None)
        if found is None:
            found = app.state.token_use = cls(app.state.db)
        return found

    def note(self, token_ids: list[int]) -> None:
        now = time.monotonic()
        with self._lock:
            due = [t for t in token_ids if now - self._last.get(t, -self.every) >= self.every]
            for t in due:
                self._last[t] = now
        if due:
            threading.Thread(target=self.write, args=(due,), name="halric-token-use", daemon=True).start()

    def write(self, token_ids: list[int]) -> None:
        from sqlalchemy import update

        from halric.accounts.models import ApiToken
        from halric.core.timeutil import utcnow

        try:
            with self.db.session() as s:
                s.execute(update(ApiToken).where(ApiToken.id.in_(token_ids)).values(last_used_at=utcnow()))
        except Exception:
            log.warning("could not record API token use", exc_info=True)


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
        from halric.web.forms import read_form

        form = await read_form(request)
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
        caller = await resolve_caller_async(request)
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
