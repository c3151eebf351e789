"""Sign-in, sign-out, password change and personal API tokens (pages and JSON API)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from halric.accounts import service as accounts
from halric.accounts.schemas import TokenOut, UserOut
from halric.core.actor import Actor
from halric.core.errors import HalricError, NotAuthenticated, PermissionDenied, TooManyRequests
from halric.web.access import PUBLIC, SESSION_COOKIE, SIGNED_IN, client_ip, resolve_caller
from halric.web.deps import DB
from halric.web.errors import retry_after
from halric.web.forms import ACCOUNT_LABELS, from_exception
from halric.web.params import RowId
from halric.web.routing import attach
from halric.web.templating import cookie_secure, render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["accounts"])


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=cookie_secure(request),
        max_age=request.app.state.settings.session_hours * 3600, path="/",
    )  # fmt: skip


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/dashboard"


def _current_user(request: Request, s: Session):
    caller = resolve_caller(request)
    if caller.user is None:
        raise NotAuthenticated("Sign in first.")
    return accounts.get_user(s, caller.user.id)


LOCAL_OFF = "This hub signs people in through their organisation: choose your provider below."


def _check_local(request: Request) -> None:
    if not request.app.state.settings.local_signin:
        raise PermissionDenied(LOCAL_OFF)


def signin_page(request: Request, context: dict, status_code: int = 200) -> Response:
    """The sign-in page: the local form (unless turned off) and a button per identity provider."""
    from halric.accounts import idp
    from halric.web.routes.oidc import pending_link

    with request.app.state.db.session() as s:
        providers = [(p.name, p.display_name) for p in idp.list_providers(s)]
    waiting = pending_link(request)
    ctx = {"providers": providers, "link_waiting": bool(waiting), **context}
    return render(request, "signin.html", ctx, status_code=status_code)


@pages.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, next: str | None = None, actor: Actor = Depends(PUBLIC)) -> Response:
    if not actor.is_anonymous:
        return RedirectResponse(_safe_next(next), status_code=303)
    return signin_page(request, {"next": _safe_next(next)})


@pages.post("/signin", response_class=HTMLResponse)
def signin(
    request: Request,
    username: Annotated[str, Form(max_length=150)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/dashboard",
    actor: Actor = Depends(PUBLIC),
) -> Response:
    from halric.web.routes.oidc import complete_pending_link

    st = request.app.state.settings
    db = request.app.state.db
    response = RedirectResponse(_safe_next(next), status_code=303)
    try:
        _check_local(request)
        with db.session() as s:
            user = accounts.authenticate(
                s,
                username,
                password,
                ip=client_ip(request),
                max_failures=st.login_max_failures,
                lock_minutes=st.login_lock_minutes,
            )
            token, _ = accounts.start_session(
                s,
                user,
                hours=st.session_hours,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
            linked = complete_pending_link(request, response, s, user)
            if linked:
                response.headers["location"] = "/account?" + urlencode({"linked": linked})
    except (NotAuthenticated, TooManyRequests, PermissionDenied) as exc:
        page = signin_page(
            request,
            {"error": exc.detail, "username": username, "next": _safe_next(next)},
            status_code=exc.status,
        )
        page.headers.update(retry_after(exc) or {})
        return page
    _set_session_cookie(request, response, token)
    return response


@pages.post("/signout")
def signout(request: Request, actor: Actor = Depends(SIGNED_IN)) -> Response:
    """End the hub session; after a sign-in through a provider that offers RP-initiated logout, the
    browser then goes there to end the provider's session too (and comes back to the home page)."""
    token = request.cookies.get(SESSION_COOKIE)
    target = "/"
    ws = resolve_caller(request).web_session
    if ws is not None and ws.idp:
        from halric.web.routes.oidc import provider_logout

        target = provider_logout(request, ws.idp, ws.id_token) or "/"
    if token:
        with request.app.state.db.session() as s:
            accounts.end_session(s, token, actor)
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@pages.get("/account", response_class=HTMLResponse)
def account_page(request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    user = _current_user(request, s)
    return render(request, "account.html", account_context(request, s, user))


def account_context(request: Request, s: Session, user, **extra) -> dict:
    """What the account page shows: API tokens, linked identities and the providers one may link."""
    from halric.accounts import federated, idp

    providers = idp.list_providers(s)
    names = {p.name: p.display_name for p in providers}
    identities = [(i, names.get(i.provider, i.provider)) for i in federated.list_identities(s, user)]
    return {
        "tokens": accounts.list_api_tokens(s, user),
        "me": user,
        "identities": identities,
        "providers": [(p.name, p.display_name) for p in providers],
        **extra,
    }


@pages.post("/account/password", response_class=HTMLResponse)
def account_password(
    request: Request,
    current_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024)],
    confirm_password: Annotated[str, Form(max_length=1024)],
    actor: Actor = Depends(SIGNED_IN),
) -> Response:
    st = request.app.state.settings
    db = request.app.state.db
    try:
        accounts.check_password_repeated(new_password, confirm_password)
        with db.session() as s:
            user = _current_user(request, s)
            accounts.change_password(
                s, actor, user, current_password, new_password, min_length=st.password_min_length
            )
            token, _ = accounts.start_session(
                s,
                user,
                hours=st.session_hours,
                ip=client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
    except HalricError as exc:
        with db.session() as s:
            user = _current_user(request, s)
            return render(
                request,
                "account.html",
                account_context(
                    request,
                    s,
                    user,
                    errors=from_exception(exc, labels=ACCOUNT_LABELS, aliases={"password": "new_password"}),
                ),
                status_code=400,
            )
    response = RedirectResponse("/account?changed=1", status_code=303)
    _set_session_cookie(request, response, token)
    return response


@pages.post("/account/tokens", response_class=HTMLResponse)
def account_new_token(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    actor: Actor = Depends(SIGNED_IN),
    s: Session = DB,
) -> Response:
    user = _current_user(request, s)
    token, row = accounts.create_api_token(s, actor, user, name)
    s.flush()
    return render(
        request, "account.html", account_context(request, s, user, new_token=token, new_token_name=row.name)
    )


@pages.post("/account/tokens/{token_id}/revoke")
def account_revoke_token(token_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    accounts.revoke_api_token(s, actor, token_id)
    return RedirectResponse("/account", status_code=303)


# --- JSON API --------------------------------------------------------------------------------------


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)
    token_name: str = Field(default="script", max_length=100)
    days: int = Field(default=30, ge=1, le=365)


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    days: int | None = Field(default=365, ge=1, le=3650)


@api.get("/me", response_model=UserOut, summary="The signed-in user")
def me(request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> UserOut:
    return accounts.to_out(_current_user(request, s))


@api.post(
    "/auth/token", response_model=TokenOut, status_code=201, summary="Exchange a password for an API token"
)
def token_from_password(request: Request, body: Credentials, actor: Actor = Depends(PUBLIC)) -> TokenOut:
    st = request.app.state.settings
    _check_local(request)
    with request.app.state.db.session() as s:
        user = accounts.authenticate(
            s,
            body.username,
            body.password,
            ip=client_ip(request),
            max_failures=st.login_max_failures,
            lock_minutes=st.login_lock_minutes,
        )
        token, row = accounts.create_api_token(
            s,
            accounts.actor_for(user, ip=client_ip(request), via="api"),
            user,
            body.token_name,
            days=body.days,
        )
        return TokenOut(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            token=token,
            expires_at=row.expires_at.isoformat() if row.expires_at else None,
        )


@api.get(
    "/tokens", response_model=list[TokenOut], summary="Your active API tokens (values are never shown again)"
)
def list_tokens(request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> list[TokenOut]:
    user = _current_user(request, s)
    return [
        TokenOut(
            id=t.id,
            name=t.name,
            prefix=t.prefix,
            expires_at=t.expires_at.isoformat() if t.expires_at else None,
        )
        for t in accounts.list_api_tokens(s, user)
    ]


@api.post("/tokens", response_model=TokenOut, status_code=201, summary="Create a personal API token")
def create_token(
    request: Request, body: NewToken, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> TokenOut:
    user = _current_user(request, s)
    token, row = accounts.create_api_token(s, actor, user, body.name, days=body.days)
    return TokenOut(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        token=token,
        expires_at=row.expires_at.isoformat() if row.expires_at else None,
    )


@api.delete("/tokens/{token_id}", status_code=204, summary="Revoke one of your API tokens")
def delete_token(token_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Response:
    accounts.revoke_api_token(s, actor, token_id)
    return Response(status_code=204)


def register(app: FastAPI) -> None:
    attach(app, pages)
    attach(app, api)
