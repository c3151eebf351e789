"""Sign-in through OpenID Connect providers: start, callback, linking identities from the account page.
The administrators' page for providers and group rules is web/routes/idp_admin.py."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from halric.accounts import federated, oidc
from halric.accounts import idp as idps
from halric.accounts import service as accounts
from halric.accounts.models import IdentityProvider, User
from halric.core.actor import Actor
from halric.core.errors import HalricError, NotAuthenticated
from halric.core.sealing import SealBox
from halric.web.access import PUBLIC, SIGNED_IN, client_ip, resolve_caller
from halric.web.routing import attach
from halric.web.templating import cookie_secure

pages = APIRouter(include_in_schema=False)

FLOW_COOKIE = "halric_oidc"  # the sign-in in progress: state, nonce, PKCE verifier (sealed, 10 min)
LINK_COOKIE = "halric_link"  # an identity waiting to be linked after the owner signs in (sealed, 15 min)
FLOW_SECONDS = 600
LINK_SECONDS = 900
FLOW_SALT = b"halric-oidc-sign-in-state"
LINK_SALT = b"halric-oidc-pending-link"


def _box(request: Request, salt: bytes) -> SealBox:
    return SealBox(request.app.state.settings.signing_key, salt)


def redirect_uri(request: Request, name: str) -> str:
    return f"{request.app.state.settings.base_url.rstrip('/')}/signin/oidc/{name}/callback"


def client_for(request: Request, row: IdentityProvider) -> oidc.Client:
    secret = idps.secret_box(request.app.state.settings.signing_key).open(row.client_secret_sealed)
    if secret is None:
        raise oidc.ProviderUnavailable(
            f"The hub cannot read its client secret for {row.display_name} (its secret key changed). An "
            "administrator must add the provider again."
        )
    return oidc.Client(
        name=row.name, display_name=row.display_name, issuer=row.issuer, client_id=row.client_id,
        client_secret=secret, scopes=row.scopes, redirect_uri=redirect_uri(request, row.name),
    )  # fmt: skip


def _set(request: Request, response: Response, name: str, value: str, *, path: str, seconds: int) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="lax", secure=cookie_secure(request), max_age=seconds, path=path
    )


def pending_link(request: Request) -> dict[str, Any] | None:
    """The identity waiting to be linked, when this browser has one."""
    raw = _box(request, LINK_SALT).open(request.cookies.get(LINK_COOKIE), max_age=LINK_SECONDS)
    return json.loads(raw) if raw else None


def complete_pending_link(request: Request, response: Response, s: Any, user: User) -> str | None:
    """After ``user`` signed in the usual way: link the waiting identity if it was meant for them.
    Returns the provider's display name when linked."""
    waiting = pending_link(request)
    if not waiting or waiting.get("uid") != user.id:
        return None
    row = s.get(IdentityProvider, waiting["pid"])
    if row is None:
        return None
    actor = accounts.actor_for(user, ip=client_ip(request))
    federated.link(s, actor, user, row, waiting["claims"])
    federated.apply_groups(s, user, row, waiting["claims"], ip=client_ip(request))
    response.delete_cookie(LINK_COOKIE, path="/")
    return row.display_name


def _signin_error(request: Request, exc: HalricError, next: str = "/dashboard") -> Response:
    from halric.web.routes.auth import signin_page

    return signin_page(request, {"error": exc.detail, "next": next}, status_code=exc.status)


def _start(request: Request, name: str, next: str, link_uid: int | None) -> Response:
    from halric.web.routes.auth import _safe_next

    next = _safe_next(next)
    try:
        with request.app.state.db.session() as s:
            row = federated.provider_by_name(s, name)
            client = client_for(request, row)
        url, pending = oidc.begin(client)
    except HalricError as exc:
        if link_uid is not None:
            return RedirectResponse("/account?" + _q(error=exc.detail), status_code=303)
        return _signin_error(request, exc, next)
    state = json.dumps(
        {"p": name, "s": pending.state, "n": pending.nonce, "v": pending.code_verifier, "next": next,
         "link": link_uid}
    )  # fmt: skip
    response = RedirectResponse(url, status_code=303)
    _set(request, response, FLOW_COOKIE, _box(request, FLOW_SALT).seal(state), path="/signin/oidc",
         seconds=FLOW_SECONDS)  # fmt: skip
    return response


def _q(**params: str) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


@pages.get("/signin/oidc/{name}")
def start(request: Request, name: str, next: str = "/dashboard", actor: Actor = Depends(PUBLIC)) -> Response:
    """Send the person to the provider's sign-in page."""
    return _start(request, name, next, None)


@pages.get("/signin/oidc/{name}/callback", response_class=HTMLResponse)
def callback(
    request: Request,
    name: str,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
    actor: Actor = Depends(PUBLIC),
) -> Response:
    """The provider sends the person back here with a code (or an error)."""
    raw = _box(request, FLOW_SALT).open(request.cookies.get(FLOW_COOKIE), max_age=FLOW_SECONDS)
    flow = json.loads(raw) if raw else None
    if flow is None or flow.get("p") != name:
        return _signin_error(request, oidc.SignInRefused(
            "This sign-in was not started in this browser, or took longer than 10 minutes. Start again."
        ))  # fmt: skip
    next = flow["next"]
    st = request.app.state.settings
    ip = client_ip(request)
    try:
        if error:
            raise oidc.SignInRefused(
                f"The provider did not sign you in ({error}{': ' + error_description[:200] if error_description else ''})."
            )
        with request.app.state.db.session() as s:
            row = federated.provider_by_name(s, name)
            client = client_for(request, row)
        pending = oidc.Pending(state=flow["s"], nonce=flow["n"], code_verifier=flow["v"])
        result = oidc.finish(client, pending, state=state, code=code, leeway=st.oidc_leeway_seconds)
        with request.app.state.db.session() as s:
            row = federated.provider_by_name(s, name)
            if flow.get("link") is not None:
                return _finish_link(request, s, row, flow["link"], result)
            outcome = federated.sign_in(s, row, result.claims, ip=ip, signup=st.signup)
            if outcome.user is None:
                assert outcome.link_to is not None
                keep = {k: v for k, v in result.claims.items() if k in _kept_claims(row)}
                sealed = _box(request, LINK_SALT).seal(
                    json.dumps({"pid": row.id, "uid": outcome.link_to.id, "claims": keep})
                )
                from halric.web.routes.auth import signin_page

                page = signin_page(request, {"link_provider": row.display_name, "next": next})
                _set(request, page, LINK_COOKIE, sealed, path="/", seconds=LINK_SECONDS)
                page.delete_cookie(FLOW_COOKIE, path="/signin/oidc")
                return page
            response = RedirectResponse(next, status_code=303)
            linked = complete_pending_link(request, response, s, outcome.user)
            if linked:
                response.headers["location"] = "/account?" + _q(linked=linked)
            token, ws = accounts.start_session(
                s, outcome.user, hours=st.session_hours, ip=ip, user_agent=request.headers.get("user-agent")
            )
            ws.idp = row.name
            ws.id_token = result.id_token
    except HalricError as exc:
        page = _signin_error(request, exc, next)
        page.delete_cookie(FLOW_COOKIE, path="/signin/oidc")
        return page
    from halric.web.routes.auth import _set_session_cookie

    _set_session_cookie(request, response, token)
    response.delete_cookie(FLOW_COOKIE, path="/signin/oidc")
    return response


def _kept_claims(row: IdentityProvider) -> set[str]:
    """What a pending link carries to the moment it is linked (the claims group rules read)."""
    rules = {"sub", "email", "email_verified", "orcid", "eduperson_orcid"}
    return rules | ({row.groups_claim} if row.groups_claim else set()) | {"eduperson_entitlement", "groups"}


def _finish_link(request: Request, s: Any, row: IdentityProvider, uid: int, result: oidc.Result) -> Response:
    caller = resolve_caller(request)
    if caller.user is None or caller.user.id != uid:
        raise NotAuthenticated("Sign in to the account you want to link first, then start again.")
    user = accounts.get_user(s, uid)
    try:
        federated.link(s, accounts.actor_for(user, ip=client_ip(request)), user, row, result.claims)
    except HalricError as exc:
        response = RedirectResponse("/account?" + _q(error=exc.detail), status_code=303)
    else:
        federated.apply_groups(s, user, row, result.claims, ip=client_ip(request))
        response = RedirectResponse("/account?" + _q(linked=row.display_name), status_code=303)
    response.delete_cookie(FLOW_COOKIE, path="/signin/oidc")
    return response


def provider_logout(request: Request, name: str, id_token: str | None) -> str | None:
    """The provider's end-session URL for RP-initiated logout, or None (none offered, unreachable,
    provider removed)."""
    try:
        with request.app.state.db.session() as s:
            client = client_for(request, federated.provider_by_name(s, name))
    except HalricError:
        return None
    base = request.app.state.settings.base_url.rstrip("/") + "/"
    return oidc.logout_url(client, id_token=id_token, post_logout_redirect_uri=base)


@pages.post("/account/identities/link/{name}")
def link_start(request: Request, name: str, actor: Actor = Depends(SIGNED_IN)) -> Response:
    """Sign in at a provider to link that identity to this account."""
    return _start(request, name, "/account", actor.user_id)


@pages.post("/account/identities/{identity_id}/unlink")
def unlink(request: Request, identity_id: int, actor: Actor = Depends(SIGNED_IN)) -> Response:
    try:
        with request.app.state.db.session() as s:
            user = accounts.get_user(s, actor.user_id or 0)
            federated.unlink(
                s, actor, user, identity_id, local_signin=request.app.state.settings.local_signin
            )
    except HalricError as exc:
        return RedirectResponse("/account?" + _q(error=exc.detail), status_code=303)
    return RedirectResponse("/account?" + _q(unlinked="1"), status_code=303)


def register(app: FastAPI) -> None:
    attach(app, pages)
