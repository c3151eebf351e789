"""The one place where errors become HTTP answers: JSON ``{"detail": ...}`` for the API, a page for people."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from halric.core.errors import HalricError, NotAuthenticated

log = logging.getLogger("halric.web")


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api", "/healthz", "/panosc-api")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, object]]]:
    errors = []
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        field = ".".join(loc) or "request"
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        errors.append({"field": field, "message": msg})
        parts.append(f"{field}: {msg}")
    return "; ".join(parts) or "The request is not valid.", errors


def retry_after(exc: HalricError) -> dict[str, str] | None:
    seconds = getattr(exc, "retry_after", None)
    return {"Retry-After": str(seconds)} if seconds else None


async def error_page(request: Request, status: int, detail: str, *, look_up: bool = True) -> Response:
    """The error page; the caller (for the page header) is looked up off the event loop if no route
    did it yet (e.g. a 404 for a browser with a session cookie)."""
    from halric.web.access import ANONYMOUS, Caller, resolve_caller_async
    from halric.web.templating import render

    try:
        if not look_up:
            raise LookupError("the database is busy")
        await resolve_caller_async(request)
    except Exception:  # an invalid token or a busy database: show the page signed out
        request.state.caller = Caller(ANONYMOUS, None, None, via_cookie=False)
    return render(request, "error.html", {"status": status, "detail": detail}, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(HalricError)
    async def _domain(request: Request, exc: HalricError) -> Response:
        if wants_json(request):
            body: dict[str, object] = {"detail": exc.detail}
            if exc.field:
                body["field"] = exc.field
            if exc.extra:
                body.update(exc.extra)
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else retry_after(exc)
            return JSONResponse(body, status_code=exc.status, headers=headers)
        if isinstance(exc, NotAuthenticated) and request.method == "GET":
            from urllib.parse import quote

            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
        page = await error_page(request, exc.status, exc.detail)
        page.headers.update(retry_after(exc) or {})
        return page

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        detail, errors = _describe_validation(exc)
        if wants_json(request):
            return JSONResponse({"detail": detail, "errors": errors}, status_code=422)
        return await error_page(request, 422, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"Nothing here: {request.url.path}"
        if exc.status_code == 405:
            detail = f"Method {request.method} is not allowed here."
        if exc.status_code == 400 and "exceeded maximum size" in detail:
            detail = (
                "One field of the form is far too long (over 16 MB) for the hub to read the form. Go back in "
                "your browser: what you typed is still in the page; shorten that field and send it again."
            )
        if wants_json(request):
            return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)
        return await error_page(request, exc.status_code, detail)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if is_busy(exc):
            log.warning("database busy: %s %s: %s", request.method, request.url.path, exc)
            detail = "The hub is busy; nothing was changed. Try again in a few seconds."
            headers = {"Retry-After": "2"}
            if wants_json(request):
                return JSONResponse({"detail": detail}, status_code=503, headers=headers)
            response = await error_page(request, 503, detail, look_up=False)
            response.headers.update(headers)
            return response
        rid = uuid.uuid4().hex[:12]
        log.exception("unhandled error, request id %s", rid)
        detail = f"Internal error. Quote request id {rid} when reporting it."
        if wants_json(request):
            return JSONResponse({"detail": detail, "request_id": rid}, status_code=500)
        return await error_page(request, 500, detail)


BUSY_SQLSTATES = {
    "55P03",  # lock_not_available (lock_timeout)
    "57014",  # query_canceled (statement_timeout)
    "25P03",  # idle_in_transaction_session_timeout
    "40P01",  # deadlock_detected
    "40001",  # serialization_failure
}


def is_busy(exc: BaseException) -> bool:
    """The database could not serve this request in time (no connection, a lock, a timeout): the request
    was rolled back as a whole and may be retried (503 + Retry-After), never a 500."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from halric.core.db import DatabaseBusy

    if isinstance(exc, DatabaseBusy | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        if getattr(orig, "sqlstate", None) in BUSY_SQLSTATES:
            return True
        text = str(orig).lower()
        return "database is locked" in text or "database is busy" in text
    return False


def form_error(exc: Exception) -> str:
    """One line a person can act on (field paths and pydantic wording translated by web.forms)."""
    from halric.web.forms import from_exception

    return from_exception(exc).summary
