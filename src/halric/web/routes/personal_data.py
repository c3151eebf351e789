"""The person's own data (GDPR): download everything the hub holds about you, and erasing an account.

- ``GET /account/export`` (the button on the account page) and ``GET /api/account/export``: the JSON
  document of :mod:`halric.gdpr.export` as a file; ``GET /admin/users/{id}/export`` for administrators
  answering a request on someone's behalf.
- ``/admin/users/{id}/erase``: the confirmation page (name a successor, type the account's e-mail
  address) and ``POST /api/admin/users/{id}/erase``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from halric.accounts import service as accounts
from halric.core.actor import Actor
from halric.core.errors import HalricError, NotAuthenticated
from halric.core.timeutil import utcnow
from halric.gdpr.erase import erase_account
from halric.gdpr.export import export_person
from halric.web.access import ADMIN, SIGNED_IN
from halric.web.deps import DB, DB_WRITE
from halric.web.forms import FormErrors, from_exception
from halric.web.params import RowId
from halric.web.routing import attach
from halric.web.templating import render

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api", tags=["accounts"])

ERASE_LABELS = {"successor": "Successor", "confirm_email": "E-mail address of the account"}


def _download(request: Request, s: Session, actor: Actor, user_id: int) -> JSONResponse:
    doc = export_person(s, actor, user_id, site_name=request.app.state.settings.site_name)
    name = f"halric-personal-data-{doc['about']['username']}-{utcnow():%Y-%m-%d}.json"
    return JSONResponse(
        doc,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def _me(actor: Actor) -> int:
    if actor.user_id is None:
        raise NotAuthenticated("Sign in first.")
    return actor.user_id


@pages.get("/account/export")
def account_export(request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB_WRITE) -> Response:
    return _download(request, s, actor, _me(actor))


@pages.get("/admin/users/{user_id}/export")
def admin_export(
    request: Request, user_id: RowId, actor: Actor = Depends(ADMIN), s: Session = DB_WRITE
) -> Response:
    return _download(request, s, actor, user_id)


@api.get(
    "/account/export",
    response_model=dict[str, Any],
    summary="Everything the hub holds about you, as one JSON document (a file download); audited",
    description="Your account, roles, groups, linked identities, sessions, API tokens (names and dates), "
    "applications you own or are on, reviews and comments you wrote, mail to you in the outbox, catalog "
    "records that name you, matchmaking questions, and audit-log events by you or about you. Secrets "
    "(password and token hashes, link codes) are never included.",
    responses={200: {"description": "The document, sent with Content-Disposition: attachment"}},
)
def api_account_export(
    request: Request, actor: Actor = Depends(SIGNED_IN), s: Session = DB_WRITE
) -> Response:
    return _download(request, s, actor, _me(actor))


# --- erasure -----------------------------------------------------------------------------------------


def _erase_page(
    request: Request, s: Session, user_id: int, *, status_code: int = 200, **extra: Any
) -> Response:
    target = accounts.get_user(s, user_id)
    candidates = [
        u for u in accounts.list_users(s) if u.is_active and u.erased_at is None and u.id != target.id
    ]
    ctx = {"target": target, "candidates": candidates, "errors": FormErrors(), "form": {}, **extra}
    return render(request, "admin_user_erase.html", ctx, status_code=status_code)


@pages.get("/admin/users/{user_id}/erase", response_class=HTMLResponse)
def erase_form(request: Request, user_id: RowId, actor: Actor = Depends(ADMIN), s: Session = DB) -> Response:
    return _erase_page(request, s, user_id)


@pages.post("/admin/users/{user_id}/erase", response_class=HTMLResponse)
def erase_submit(
    request: Request,
    user_id: RowId,
    successor: Annotated[str, Form(max_length=20)] = "",
    confirm_email: Annotated[str, Form(max_length=320)] = "",
    actor: Actor = Depends(ADMIN),
) -> Response:
    st = request.app.state.settings
    form = {"successor": successor, "confirm_email": confirm_email}
    try:
        successor_id = int(successor) if successor.strip() else None
    except ValueError:
        successor_id = -1  # refused below as no such account
    try:
        with request.app.state.db.session() as s:
            erase_account(s, actor, user_id, successor_id, secret=st.signing_key, confirm_email=confirm_email,
                          base_url=st.base_url)  # fmt: skip
    except HalricError as exc:
        errors = from_exception(exc, labels=ERASE_LABELS)
        with request.app.state.db.session(write=False) as s:
            return _erase_page(request, s, user_id, status_code=exc.status, errors=errors, form=form)
    return RedirectResponse(f"/admin/users/{user_id}?erased=1", status_code=303)


class EraseIn(BaseModel):
    successor_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="The active account that takes over (required)"
    )


class ErasureOut(BaseModel):
    user_id: int
    pseudonym: str = Field(description="What now stands for the person in the records kept")
    successor: str
    handed_over: dict[str, Any]
    removed: dict[str, int]
    pseudonymised: dict[str, int]


@api.post(
    "/admin/users/{user_id}/erase",
    response_model=ErasureOut,
    tags=["admin"],
    summary="Erase an account: its applications and data go to a successor, the rest is removed or "
    "pseudonymised, in one transaction; audited",
    responses={
        400: {"description": "no successor, the successor is the account itself, or it is not active"},
        409: {"description": "erased already, your own account, or the last active administrator"},
    },
)
def api_erase(
    request: Request, user_id: RowId, body: EraseIn, actor: Actor = Depends(ADMIN), s: Session = DB
) -> ErasureOut:
    st = request.app.state.settings
    done = erase_account(s, actor, user_id, body.successor_id, secret=st.signing_key, base_url=st.base_url)
    return ErasureOut(**done.summary())


def register(app: FastAPI) -> None:
    attach(app, pages)
    attach(app, api)
