"""The administrators' identity-provider page: add a provider (presets for LS Login, MyAccessID and
ORCID), check that it answers, remove it after a confirmation, and add and remove the group rules for
its claims. Everything goes through the same service functions as ``halric idp`` (accounts/idp.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from halric.accounts import idp as idps
from halric.accounts import oidc
from halric.core.actor import Actor
from halric.core.errors import HalricError
from halric.web.access import ADMIN
from halric.web.deps import FORM, FormData
from halric.web.forms import FormErrors, from_exception, size_errors
from halric.web.params import RowId
from halric.web.routes.oidc import redirect_uri
from halric.web.routing import attach
from halric.web.templating import render

pages = APIRouter(prefix="/admin/identity-providers", include_in_schema=False)

PROVIDER_FIELDS = ("preset", "name", "display_name", "issuer", "client_id", "scopes", "groups_claim")
PROVIDER_LABELS = {
    "preset": "Kind of provider", "name": "Short name", "display_name": "Shown as", "issuer": "Issuer",
    "client_id": "Client id", "client_secret": "Client secret", "scopes": "Scopes",
    "groups_claim": "Groups claim",
}  # fmt: skip
RULE_FIELDS = ("provider", "claim", "value", "group")
RULE_LABELS = {"provider": "Provider", "claim": "Claim", "value": "Value", "group": "Hub group"}
HERE = "/admin/identity-providers"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _page(request: Request, *, status_code: int = 200, **extra: Any) -> Response:
    ctx: dict[str, Any] = {
        "errors": FormErrors(), "form": {}, "rule_errors": FormErrors(), "rule_form": {}, "check": None,
        "presets": idps.PRESETS, **extra,
    }  # fmt: skip
    with request.app.state.db.session() as s:
        providers = idps.list_providers(s)
        ctx["rows"] = [{"p": p, "redirect_uri": redirect_uri(request, p.name)} for p in providers]
        ctx["rules"] = idps.list_rules(s)
        ctx["groups"] = idps.hub_groups(s)
        return render(request, "admin_identity_providers.html", ctx, status_code=status_code)


def _back(**params: str) -> RedirectResponse:
    return RedirectResponse(HERE + ("?" + urlencode(params) if params else ""), status_code=303)


@pages.get("", response_class=HTMLResponse)
def admin_providers(request: Request, actor: Actor = Depends(ADMIN)) -> Response:
    return _page(request)


@pages.post("", response_class=HTMLResponse)
def add_provider(request: Request, actor: Actor = Depends(ADMIN), form: FormData = FORM) -> Response:
    """Add a provider; on an error the page comes back with the input (never the secret) and a message by
    each field."""
    typed = {k: _text(form, k) for k in PROVIDER_FIELDS}
    secret = form.get("client_secret")
    secret = secret if isinstance(secret, str) else ""
    errors = size_errors({**typed, "client_secret": secret}, limit=4096)
    if not errors:
        try:
            with request.app.state.db.session() as s:
                row = idps.add_provider(
                    s, actor, idps.secret_box(request.app.state.settings.signing_key),
                    name=typed["name"], issuer=typed["issuer"] or None, client_id=typed["client_id"],
                    client_secret=secret.strip(), scopes=typed["scopes"] or None,
                    groups_claim=typed["groups_claim"] or None, display_name=typed["display_name"] or None,
                    preset=typed["preset"] or None,
                )  # fmt: skip
                name = row.name
        except HalricError as exc:
            errors = from_exception(exc, labels=PROVIDER_LABELS)
            return _page(request, status_code=exc.status, errors=errors, form=typed)
    if errors:
        return _page(request, status_code=400, errors=errors, form=typed)
    return _back(added=name)


@pages.post("/{name}/check", response_class=HTMLResponse)
def check_provider(request: Request, name: str, actor: Actor = Depends(ADMIN)) -> Response:
    """Fetch the provider's discovery document and keys now, and say what came back."""
    with request.app.state.db.session() as s:
        row = idps.get_provider(s, name)
        issuer, display, scopes = row.issuer, row.display_name, row.scopes
    try:
        found = oidc.probe(issuer, display, scopes)
    except oidc.ProviderUnavailable as exc:
        return _page(request, check={"name": name, "display": display, "ok": False, "message": exc.detail})
    return _page(request, check={"name": name, "display": display, "ok": True, "found": found})


@pages.get("/{name}/remove", response_class=HTMLResponse)
def remove_confirm(request: Request, name: str, actor: Actor = Depends(ADMIN)) -> Response:
    """What removing the provider does, and the button that does it."""
    with request.app.state.db.session() as s:
        row = idps.get_provider(s, name)
        ctx = {
            "p": row,
            "linked": idps.linked_identities(s, name),
            "rules": [r for r in idps.list_rules(s) if r.provider == name],
        }
        return render(request, "admin_identity_provider_remove.html", ctx)


@pages.post("/{name}/remove")
def remove_provider(
    request: Request, name: str, actor: Actor = Depends(ADMIN), form: FormData = FORM
) -> Response:
    if form.get("confirm") != name:  # not sent from the confirmation page: show it
        return RedirectResponse(f"{HERE}/{name}/remove", status_code=303)
    with request.app.state.db.session() as s:
        linked = idps.remove_provider(s, actor, name)
    return _back(removed=name, kept=str(linked))


@pages.post("/rules", response_class=HTMLResponse)
def add_rule(request: Request, actor: Actor = Depends(ADMIN), form: FormData = FORM) -> Response:
    typed = {k: _text(form, k) for k in RULE_FIELDS}
    errors = size_errors(typed, limit=1000)
    if not errors:
        try:
            with request.app.state.db.session() as s:
                rule = idps.add_rule(
                    s, actor, provider=typed["provider"] or None, claim=typed["claim"],
                    value=typed["value"], group=typed["group"],
                )  # fmt: skip
                rule_id, new_group = rule.id, typed["group"] not in idps.hub_groups(s)
        except HalricError as exc:
            errors = from_exception(exc, labels=RULE_LABELS)
            return _page(request, status_code=exc.status, rule_errors=errors, rule_form=typed)
    if errors:
        return _page(request, status_code=400, rule_errors=errors, rule_form=typed)
    return _back(rule=str(rule_id), **({"new_group": typed["group"]} if new_group else {}))


@pages.post("/rules/{rule_id}/remove")
def remove_rule(rule_id: RowId, request: Request, actor: Actor = Depends(ADMIN)) -> Response:
    with request.app.state.db.session() as s:
        idps.remove_rule(s, actor, rule_id)
    return _back(rule_removed=str(rule_id))


def register(app: FastAPI) -> None:
    attach(app, pages)
    app.state.dashboard_cards += [
        {
            "roles": ["admin"],
            "title": "Identity providers",
            "text": "The OpenID providers people sign in with (LS Login, MyAccessID, ORCID…) and the rules "
            "that turn their group claims into hub groups.",
            "href": HERE,
            "link": "Open the providers",
        },
    ]
