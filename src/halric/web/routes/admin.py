"""Administration: accounts and the audit log (pages and JSON API)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from halric.accounts import service as accounts
from halric.accounts.roles import ROLES
from halric.accounts.schemas import NewPassword, NewUser, UserOut, UserUpdate
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import HalricError
from halric.projects import service as projects
from halric.web.access import ADMIN
from halric.web.deps import DB
from halric.web.forms import ACCOUNT_LABELS, FormErrors, from_exception
from halric.web.params import Offset, RowId
from halric.web.routing import attach
from halric.web.templating import render

pages = APIRouter(prefix="/admin", include_in_schema=False)
api = APIRouter(prefix="/api/admin", tags=["admin"])


def _group_names(text: str) -> list[str]:
    """The groups field of the account forms: names separated by spaces or commas."""
    return text.replace(",", " ").split()


@pages.get("/users", response_class=HTMLResponse)
def users_page(request: Request, actor: Actor = Depends(ADMIN), s: Session = DB) -> Response:
    return render(request, "admin_users.html", {"users": accounts.list_users(s), "roles": ROLES})


@pages.post("/users", response_class=HTMLResponse)
def users_create(
    request: Request,
    username: Annotated[str, Form(max_length=150)],
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[list[str], Form()],
    full_name: Annotated[str, Form(max_length=200)] = "",
    groups: Annotated[str, Form(max_length=2000)] = "",
    organisation_id: Annotated[str, Form(max_length=64)] = "",
    actor: Actor = Depends(ADMIN),
) -> Response:
    st = request.app.state.settings
    form: dict[str, Any] = {
        "username": username,
        "email": email,
        "full_name": full_name,
        "role": role,
        "groups": groups,
        "organisation_id": organisation_id,
    }
    try:
        data = NewUser(
            username=username,
            email=email,
            password=password,
            roles=role,
            full_name=full_name,
            groups=_group_names(groups),
            organisation_id=organisation_id or None,
        )
        with request.app.state.db.session() as s:
            user = accounts.create_user(s, actor, data, min_password_length=st.password_min_length)
            projects.sync_all(s, actor)  # a facility account joins the projects of its organisation
            name = user.username
    except (ValidationError, HalricError) as exc:
        errors = from_exception(exc, labels=ACCOUNT_LABELS)
        with request.app.state.db.session() as s:
            users = accounts.list_users(s)
        return render(
            request,
            "admin_users.html",
            {"users": users, "roles": ROLES, "errors": errors, "form": form},
            status_code=400,
        )
    return RedirectResponse(f"/admin/users?created={name}", status_code=303)


@pages.post("/users/{user_id}/active")
def users_active(
    user_id: RowId, active: Annotated[bool, Form()], actor: Actor = Depends(ADMIN), s: Session = DB
) -> Response:
    accounts.set_active(s, actor, user_id, active)
    projects.sync_all(s, actor)  # project groups hold active accounts only
    return RedirectResponse("/admin/users", status_code=303)


def _edit_page(request: Request, user_id: int, *, status_code: int = 200, **extra: Any) -> Response:
    with request.app.state.db.session() as s:
        target = accounts.get_user(s, user_id)
        history, _ = audit.list_events(s, entity_type="user", entity_id=str(user_id), limit=20)
        ctx = {"target": target, "roles": ROLES, "history": history, "errors": FormErrors(),
               "password_errors": FormErrors(), **extra}  # fmt: skip
        return render(request, "admin_user_edit.html", ctx, status_code=status_code)


@pages.get("/users/{user_id}", response_class=HTMLResponse)
def user_edit_page(request: Request, user_id: RowId, actor: Actor = Depends(ADMIN)) -> Response:
    return _edit_page(request, user_id)


@pages.post("/users/{user_id}", response_class=HTMLResponse)
def user_edit(
    request: Request,
    user_id: RowId,
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI form default
    full_name: Annotated[str, Form(max_length=200)] = "",
    groups: Annotated[str, Form(max_length=2000)] = "",
    organisation_id: Annotated[str, Form(max_length=64)] = "",
    actor: Actor = Depends(ADMIN),
) -> Response:
    form = {
        "email": email,
        "full_name": full_name,
        "role": role,
        "groups": groups,
        "organisation_id": organisation_id,
    }
    try:
        data = UserUpdate(
            email=email,
            full_name=full_name,
            roles=role,
            groups=_group_names(groups),
            organisation_id=organisation_id or None,
        )
        with request.app.state.db.session() as s:
            accounts.update_user(s, actor, user_id, data)
            projects.sync_all(s, actor)  # who is a project's facility contact may have changed
    except (ValidationError, HalricError) as exc:
        code = exc.status if isinstance(exc, HalricError) else 400
        errors = from_exception(exc, labels=ACCOUNT_LABELS)
        return _edit_page(request, user_id, status_code=code, errors=errors, form=form)
    return RedirectResponse(f"/admin/users/{user_id}?saved=1", status_code=303)


@pages.post("/users/{user_id}/password", response_class=HTMLResponse)
def user_password(
    request: Request,
    user_id: RowId,
    password: Annotated[str, Form(max_length=1024)],
    confirm_password: Annotated[str, Form(max_length=1024)],
    actor: Actor = Depends(ADMIN),
) -> Response:
    st = request.app.state.settings
    try:
        accounts.check_password_repeated(password, confirm_password)
        with request.app.state.db.session() as s:
            target = accounts.get_user(s, user_id)
            accounts.set_password(s, actor, target, password, min_length=st.password_min_length)
    except HalricError as exc:
        errors = from_exception(exc, labels=ACCOUNT_LABELS)
        return _edit_page(request, user_id, status_code=exc.status, password_errors=errors)
    return RedirectResponse(f"/admin/users/{user_id}?password=1", status_code=303)


@pages.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    entity_type: str | None = None,
    actor_name: str | None = Query(None, alias="actor"),
    action: str | None = None,
    page: int = Query(1, ge=1, le=100000),
    actor: Actor = Depends(ADMIN),
    s: Session = DB,
) -> Response:
    per_page = 50
    events, total = audit.list_events(
        s,
        entity_type=entity_type or None,
        actor_name=actor_name or None,
        action=action or None,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    return render(
        request,
        "admin_audit.html",
        {
            "events": events,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // per_page)),
            "filters": {"entity_type": entity_type or "", "actor": actor_name or "", "action": action or ""},
        },
    )


# --- JSON API --------------------------------------------------------------------------------------


class AuditOut(BaseModel):
    id: int
    at: str
    actor: str
    via: str
    ip: str | None
    action: str
    entity_type: str
    entity_id: str | None
    details: dict[str, Any]


class AuditPage(BaseModel):
    total: int
    items: list[AuditOut]


@api.get("/users", response_model=list[UserOut], summary="All accounts")
def api_users(actor: Actor = Depends(ADMIN), s: Session = DB) -> list[UserOut]:
    return [accounts.to_out(u) for u in accounts.list_users(s)]


@api.post("/users", response_model=UserOut, status_code=201, summary="Create an account")
def api_create_user(
    request: Request, body: NewUser, actor: Actor = Depends(ADMIN), s: Session = DB
) -> UserOut:
    user = accounts.create_user(
        s, actor, body, min_password_length=request.app.state.settings.password_min_length
    )
    projects.sync_all(s, actor)  # a facility account joins the projects of its organisation
    return accounts.to_out(user)


@api.get("/users/{user_id}", response_model=UserOut, summary="One account")
def api_user(user_id: RowId, actor: Actor = Depends(ADMIN), s: Session = DB) -> UserOut:
    return accounts.to_out(accounts.get_user(s, user_id))


@api.patch(
    "/users/{user_id}",
    response_model=UserOut,
    summary="Change an account's e-mail, name, roles, groups, organisation or status; audited",
    responses={409: {"description": "would leave the hub without an active administrator, or e-mail in use"}},
)
def api_update_user(
    user_id: RowId, body: UserUpdate, actor: Actor = Depends(ADMIN), s: Session = DB
) -> UserOut:
    user = accounts.update_user(s, actor, user_id, body)
    projects.sync_all(s, actor)  # who is a project's facility contact may have changed
    return accounts.to_out(user)


@api.put(
    "/users/{user_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password for an account (ends its sessions); audited",
)
def api_set_password(
    request: Request, user_id: RowId, body: NewPassword, actor: Actor = Depends(ADMIN), s: Session = DB
) -> Response:
    target = accounts.get_user(s, user_id)
    accounts.set_password(
        s, actor, target, body.password, min_length=request.app.state.settings.password_min_length
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@api.get("/audit", response_model=AuditPage, summary="The audit log, newest first")
def api_audit(
    entity_type: str | None = None,
    entity_id: str | None = Query(None, max_length=200),
    actor_name: str | None = Query(None, alias="actor"),
    action: str | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0,
    actor: Actor = Depends(ADMIN),
    s: Session = DB,
) -> AuditPage:
    events, total = audit.list_events(
        s,
        entity_type=entity_type,
        entity_id=entity_id,
        actor_name=actor_name,
        action=action,
        limit=limit,
        offset=offset,
    )
    return AuditPage(
        total=total,
        items=[
            AuditOut(
                id=e.id,
                at=e.at.isoformat(),
                actor=e.actor_name,
                via=e.via,
                ip=e.ip,
                action=e.action,
                entity_type=e.entity_type,
                entity_id=e.entity_id,
                details=e.details,
            )
            for e in events
        ],
    )


def register(app: FastAPI) -> None:
    attach(app, pages)
    attach(app, api)
    app.state.dashboard_cards += [
        {
            "roles": ["admin"],
            "title": "Accounts",
            "text": "Create accounts, give roles and groups, deactivate accounts.",
            "href": "/admin/users",
            "link": "Manage accounts",
        },
        {
            "roles": ["admin"],
            "title": "Audit log",
            "text": "Every change in the hub: who, what, when and from where.",
            "href": "/admin/audit",
            "link": "Open audit log",
        },
    ]
