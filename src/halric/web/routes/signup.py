"""Opening one's own account and getting back into it: sign-up with e-mail confirmation, and
"forgot your password?" with a single-use link. The links go out through the mail outbox."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from halric.accounts import service as accounts
from halric.accounts.schemas import SignUp
from halric.calls import mail
from halric.core.actor import Actor
from halric.core.errors import HalricError, NotFound
from halric.web.access import PUBLIC, client_ip
from halric.web.forms import ACCOUNT_LABELS, FormErrors, from_exception
from halric.web.routes.auth import _safe_next
from halric.web.routing import attach
from halric.web.templating import render

pages = APIRouter(include_in_schema=False)


def _link(request: Request, path: str, token: str, next: str | None = None) -> str:
    base = request.app.state.settings.base_url.rstrip("/")
    params = {"token": token}
    if next and _safe_next(next) == next and next != "/dashboard":
        params["next"] = next
    return f"{base}{path}?{urlencode(params)}"


def _link_base(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def _signup_open(request: Request) -> None:
    if not request.app.state.settings.signup:
        raise NotFound("This hub does not open accounts on request. Ask its administrators for one.")


def _reset_mail(request: Request, name: str, token: str) -> str:
    minutes = request.app.state.settings.password_reset_minutes
    return (
        f"Hello {name},\n\nsomebody (we hope you) asked to set a new password for your HALRIC Hub account.\n"
        f"Open this link within {minutes} minutes to choose one:\n\n{_link(request, '/password/reset', token)}\n\n"
        "If it was not you, ignore this mail: your password stays as it is.\n"
    )


@pages.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, next: str | None = None, actor: Actor = Depends(PUBLIC)) -> Response:
    _signup_open(request)
    if not actor.is_anonymous:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "signup.html", {"next": _safe_next(next)})


@pages.post("/signup", response_class=HTMLResponse)
def signup(
    request: Request,
    username: Annotated[str, Form()],
    email: Annotated[str, Form()],
    full_name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    confirm_password: Annotated[str, Form()],
    next: Annotated[str, Form(max_length=2000)] = "/dashboard",
    actor: Actor = Depends(PUBLIC),
) -> Response:
    _signup_open(request)
    st = request.app.state.settings
    next = _safe_next(next)
    form = {"username": username, "email": email, "full_name": full_name}
    try:
        accounts.check_password_repeated(password, confirm_password)
        data = SignUp(username=username, email=email, full_name=full_name, password=password)
        with request.app.state.db.session() as s:
            result = accounts.sign_up(
                s,
                data,
                ip=client_ip(request),
                min_password_length=st.password_min_length,
                confirm_hours=st.signup_confirm_hours,
                reset_minutes=st.password_reset_minutes,
            )
            if result.user is not None and result.token:
                mail.queue(
                    s,
                    result.user.email,
                    "Confirm your HALRIC Hub account",
                    f"Hello {result.user.full_name},\n\nwelcome to HALRIC Hub. Open this link within "
                    f"{st.signup_confirm_hours} hours to confirm your e-mail address and start using your "
                    f"account “{result.user.username}”:\n\n{_link(request, '/signup/confirm', result.token, next)}\n\n"
                    "If you did not sign up, ignore this mail; the account is deleted if nobody confirms it.\n",
                )
            elif result.existing is not None and result.token:
                mail.queue(
                    s,
                    result.existing.email,
                    "You already have a HALRIC Hub account",
                    f"Hello {result.existing.full_name or result.existing.username},\n\nsomebody tried to open a "
                    f"new HALRIC Hub account with this e-mail address, which already belongs to the account "
                    f"“{result.existing.username}”. If it was you, sign in at {_link_base(request)}/signin; if "
                    f"you forgot the password, open this link within {st.password_reset_minutes} minutes to "
                    "choose a new one:\n\n"
                    f"{_link(request, '/password/reset', result.token)}\n\nIf it was not you, ignore this mail.\n",
                )
    except (ValidationError, HalricError) as exc:
        code = exc.status if isinstance(exc, HalricError) else 400
        errors = from_exception(exc, labels=ACCOUNT_LABELS)
        return render(
            request, "signup.html", {"errors": errors, "form": form, "next": next}, status_code=code
        )
    # the same answer whether or not the address already had an account
    return render(request, "signup_sent.html", {"email": data.email.lower()})


@pages.get("/signup/confirm", response_class=HTMLResponse)
def confirm_form(
    request: Request, token: str = "", next: str | None = None, actor: Actor = Depends(PUBLIC)
) -> Response:
    """A button, not an action: mail scanners that open links must not use them up."""
    return render(request, "signup_confirm.html", {"token": token, "next": _safe_next(next)})


@pages.post("/signup/confirm", response_class=HTMLResponse)
def confirm(
    request: Request,
    token: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/dashboard",
    actor: Actor = Depends(PUBLIC),
) -> Response:
    try:
        with request.app.state.db.session() as s:
            user = accounts.confirm_email(s, token, ip=client_ip(request))
            name = user.username
    except HalricError as exc:
        return render(request, "signup_confirm.html", {"error": exc.detail}, status_code=exc.status)
    return RedirectResponse(
        "/signin?" + urlencode({"confirmed": name, "next": _safe_next(next)}), status_code=303
    )


@pages.get("/password/forgot", response_class=HTMLResponse)
def forgot_form(request: Request, actor: Actor = Depends(PUBLIC)) -> Response:
    return render(request, "password_forgot.html", {})


@pages.post("/password/forgot", response_class=HTMLResponse)
def forgot(request: Request, email: Annotated[str, Form()], actor: Actor = Depends(PUBLIC)) -> Response:
    st = request.app.state.settings
    email = email.strip()
    if "@" not in email or len(email) > 320:
        return render(
            request,
            "password_forgot.html",
            {
                "errors": FormErrors().add(
                    "email", "Give the e-mail address of your account.", "E-mail address"
                ),
                "email": email,
            },
            status_code=400,
        )
    try:
        with request.app.state.db.session() as s:
            found = accounts.request_password_reset(
                s, email, ip=client_ip(request), reset_minutes=st.password_reset_minutes
            )
            if found is not None:
                user, token = found
                mail.queue(
                    s,
                    user.email,
                    "A new password for your HALRIC Hub account",
                    _reset_mail(request, user.full_name or user.username, token),
                )
    except HalricError as exc:
        return render(
            request,
            "password_forgot.html",
            {"errors": from_exception(exc, labels=ACCOUNT_LABELS), "email": email},
            status_code=exc.status,
        )
    # the same answer for every address: the page does not tell who has an account
    return render(request, "password_forgot.html", {"sent_to": email})


@pages.get("/password/reset", response_class=HTMLResponse)
def reset_form(request: Request, token: str = "", actor: Actor = Depends(PUBLIC)) -> Response:
    try:
        with request.app.state.db.session() as s:
            user = accounts.check_reset_token(s, token)
            name = user.username
    except HalricError as exc:
        return render(request, "password_reset.html", {"link_error": exc.detail}, status_code=exc.status)
    return render(request, "password_reset.html", {"token": token, "username": name})


@pages.post("/password/reset", response_class=HTMLResponse)
def reset(
    request: Request,
    token: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form()],
    confirm_password: Annotated[str, Form()],
    actor: Actor = Depends(PUBLIC),
) -> Response:
    st = request.app.state.settings
    try:
        accounts.check_password_repeated(password, confirm_password)
        with request.app.state.db.session() as s:
            user = accounts.reset_password(
                s, token, password, min_length=st.password_min_length, ip=client_ip(request)
            )
            name = user.username
    except HalricError as exc:
        if exc.field == "token":
            return render(request, "password_reset.html", {"link_error": exc.detail}, status_code=exc.status)
        with request.app.state.db.session() as s:
            try:
                name = accounts.check_reset_token(s, token).username
            except HalricError as gone:
                return render(
                    request, "password_reset.html", {"link_error": gone.detail}, status_code=gone.status
                )
        return render(
            request,
            "password_reset.html",
            {"token": token, "username": name, "errors": from_exception(exc, labels=ACCOUNT_LABELS)},
            status_code=exc.status,
        )
    return RedirectResponse("/signin?" + urlencode({"reset": name}), status_code=303)


def register(app: FastAPI) -> None:
    attach(app, pages)
