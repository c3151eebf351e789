"""Jinja2 rendering with the context every page needs (caller, CSRF token, navigation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from halric import __version__
from halric.web.access import CSRF_COOKIE, csrf_expected, ensure_csrf_cookie, resolve_caller

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# templates ship inside the package: read once per process, not stat()ed on every page (restart the server
# after editing one)
TEMPLATES.env.auto_reload = False
TEMPLATES.env.globals["version"] = __version__
TEMPLATES.env.globals["quote"] = lambda v: quote(str(v), safe="")  # a pid as one path segment


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    try:
        caller = resolve_caller(request)
    except Exception:  # an invalid Bearer token on an HTML page: render as anonymous
        from halric.web.access import ANONYMOUS, Caller

        caller = Caller(ANONYMOUS, None, None, via_cookie=False)
    csrf = csrf_expected(request, caller) or ensure_csrf_cookie(request)
    ctx = {
        "request": request,
        "actor": caller.actor,
        "user": caller.user,
        "csrf_token": csrf,
        "site_name": request.app.state.settings.site_name,
        "settings": request.app.state.settings,
        "nav": request.app.state.nav,
        "nav_current": max(
            (href for _, _, href in request.app.state.nav if request.url.path.startswith(href)),
            key=len,
            default=None,
        ),
        "path": request.url.path,
    }
    ctx.update(context or {})
    response = TEMPLATES.TemplateResponse(request, name, ctx, status_code=status_code)
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="lax", secure=cookie_secure(request), path="/"
        )
    return response


def cookie_secure(request: Request) -> bool:
    mode = request.app.state.settings.cookie_secure
    if mode == "always":
        return True
    if mode == "never":
        return False
    # behind a proxy, uvicorn's --proxy-headers (on in `halric serve`) sets the scheme from X-Forwarded-Proto
    return request.url.scheme == "https"
