"""OpenID Connect sign-in against real providers (panva's oidc-provider on Node.js), over HTTP through
the providers' real login and consent pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import uuid
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from sqlalchemy import select
from tests.support.accounts import PASSWORD
from tests.support.oidc import callback_url, new_key, sign_in_at_provider


def _me(client):
    r = client.get("/api/me")
    assert r.status_code == 200, r.text
    return r.json()


def _fresh(client):
    client.cookies.clear()
    return client


def _login() -> str:
    return "p" + uuid.uuid4().hex[:8]


def _identities(app, username):
    from halric.accounts import federated, service

    with app.state.db.session() as s:
        user = service.find_user(s, username)
        return [(i.provider, i.issuer, i.subject) for i in federated.list_identities(s, user)]


def _payload(jwt_text: str) -> dict:
    part = jwt_text.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_code_flow_with_pkce_opens_an_applicant_account(client, providers, add_idp, app):
    op = providers.ops[0]
    add_idp("op0", op)
    login = _login()
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True, name="Ada Lovelace")
    r = client.get("/signin/oidc/op0?next=/catalog", follow_redirects=False)
    assert r.status_code == 303
    auth = urlsplit(r.headers["location"])
    q = parse_qs(auth.query)
    assert auth.netloc == urlsplit(op.issuer).netloc
    assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) >= 43
    assert q["response_type"] == ["code"] and q["client_id"] == ["hub"]
    assert q["state"][0] and q["nonce"][0] and q["state"][0] != q["nonce"][0]
    assert "openid" in q["scope"][0].split()
    back = client.get(callback_url(r.headers["location"], login), follow_redirects=False)
    assert back.status_code == 303, back.text[:800]
    assert back.headers["location"] == "/catalog"
    me = _me(client)
    assert me["roles"] == ["applicant"] and me["email"] == f"{login}@uni.example"
    assert me["full_name"] == "Ada Lovelace"
    # keyed by issuer + sub, never the address
    assert _identities(app, me["username"]) == [("op0", op.issuer, login)]
    # a second sign-in finds the same account
    again = sign_in_at_provider(_fresh(client), "op0", login)
    assert again.status_code == 303 and _me(client)["id"] == me["id"]


def test_bad_state_is_refused(client, providers, add_idp):
    op = providers.ops[0]
    add_idp("op0", op)
    login = _login()
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True)
    r = _fresh(client).get("/signin/oidc/op0", follow_redirects=False)
    back = callback_url(r.headers["location"], login)
    forged = back.replace("state=", "state=x", 1)
    page = client.get(forged, follow_redirects=False)
    assert page.status_code == 400
    assert "does not belong to the sign-in this browser started" in page.text
    assert 'name="username"' in page.text  # local sign-in offered on the same page
    assert client.get("/api/me").status_code == 401


def test_callback_without_the_browser_cookie_is_refused(client, providers, add_idp):
    op = providers.ops[0]
    add_idp("op0", op)
    login = _login()
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True)
    r = _fresh(client).get("/signin/oidc/op0", follow_redirects=False)
    back = callback_url(r.headers["location"], login)
    page = _fresh(client).get(back, follow_redirects=False)  # another browser (login CSRF)
    assert page.status_code == 400 and "not started in this browser" in page.text


def test_replayed_code_is_refused(client, providers, add_idp):
    op = providers.ops[0]
    add_idp("op0", op)
    login = _login()
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True)
    r = _fresh(client).get("/signin/oidc/op0", follow_redirects=False)
    back = callback_url(r.headers["location"], login)
    assert client.get(back, follow_redirects=False).status_code == 303
    code = parse_qs(urlsplit(back).query)["code"][0]
    # the same code again, inside a new sign-in of the same browser (its own state)
    r2 = _fresh(client).get("/signin/oidc/op0", follow_redirects=False)
    state2 = parse_qs(urlsplit(r2.headers["location"]).query)["state"][0]
    page = client.get(
        f"/signin/oidc/op0/callback?code={quote(code)}&state={quote(state2)}", follow_redirects=False
    )
    assert page.status_code == 400
    assert "did not accept the sign-in code" in page.text and "invalid_grant" in page.text
    assert client.get("/api/me").status_code == 401


def test_expired_id_token_is_refused(client, providers, add_idp):
    op = providers.ops[0]
    add_idp("op0", op)
    login = _login()
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True)
    r = _fresh(client).get("/signin/oidc/op0", follow_redirects=False)
    back = callback_url(r.headers["location"], login)
    providers.set(clock_offset=-7200)  # the provider's clock is two hours behind: its tokens expired
    try:
        page = client.get(back, follow_redirects=False)
    finally:
        providers.set(clock_offset=0)
    assert page.status_code == 400, page.text[:500]
    assert "has expired" in page.text
    assert client.get("/api/me").status_code == 401


def test_wrong_audience_is_refused(client, providers, add_idp, app):
    """A real ID token the provider issued to another client is refused by the hub's validation."""
    from halric.accounts import oidc
    from halric.accounts.models import WebSession
    from halric.web.routes.oidc import client_for

    op = providers.ops[0]
    add_idp("op0", op)
    add_idp("other", op, client_id="other")
    login = _login()
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True)
    assert sign_in_at_provider(_fresh(client), "other", login).status_code == 303
    with app.state.db.session() as s:
        foreign = s.scalars(
            select(WebSession).where(WebSession.idp == "other").order_by(WebSession.id.desc())
        ).first()
        token = foreign.id_token
        from halric.accounts import idp

        hub_client = client_for(_Req(app), idp.get_provider(s, "op0"))
    assert _payload(token)["aud"] == "other"
    meta = oidc.discover(op.issuer)
    with pytest.raises(oidc.SignInRefused, match="issued to another client"):
        oidc.validate_id_token(hub_client, meta, token, nonce=_payload(token)["nonce"], access_token=None)


class _Req:
    """Just enough of a request for ``client_for`` outside a request."""

    def __init__(self, app):
        self.app = app


def test_jwks_key_rotation(client, providers, add_idp, app):
    from halric.accounts.models import WebSession

    op = providers.ops[0]
    add_idp("op0", op)
    login = _login()
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True)
    assert sign_in_at_provider(_fresh(client), "op0", login).status_code == 303  # keys cached by the hub
    kid = "op0-" + uuid.uuid4().hex[:8]
    op.keys = [new_key(kid), *op.keys]  # the provider signs with a new key from now on
    providers.restart()
    r = sign_in_at_provider(_fresh(client), "op0", login)
    assert r.status_code == 303, r.text[:500]
    with app.state.db.session() as s:
        ws = s.scalars(
            select(WebSession).where(WebSession.idp == "op0").order_by(WebSession.id.desc())
        ).first()
        header = json.loads(base64.urlsafe_b64decode(ws.id_token.split(".")[0] + "=="))
    assert header["kid"] == kid


def test_unverified_email_never_links_or_matches(client, providers, add_idp, make_user, app):
    op = providers.ops[0]
    add_idp("op0", op)
    local = make_user()
    login = _login()
    providers.set_user(op, login, email=f"{local}@example.org", email_verified=False)
    r = sign_in_at_provider(_fresh(client), "op0", login)
    assert r.status_code == 303, r.text[:500]
    me = _me(client)
    assert me["username"] != local and me["email"] != f"{local}@example.org"
    assert _identities(app, local) == []


def test_verified_email_of_an_existing_account_asks_to_sign_in_locally_to_link(
    client, providers, add_idp, make_user, app
):
    op = providers.ops[0]
    add_idp("op0", op)
    local = make_user()
    login = _login()
    providers.set_user(op, login, email=f"{local}@example.org", email_verified=True)
    page = sign_in_at_provider(_fresh(client), "op0", login)
    assert page.status_code == 200 and 'id="link-waiting"' in page.text
    assert client.get("/api/me").status_code == 401  # never signed in or linked silently
    assert _identities(app, local) == []
    csrf = client.cookies.get("halric_csrf")
    r = client.post("/signin", data={"username": local, "password": PASSWORD, "csrf_token": csrf},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith("/account?linked=")
    assert _identities(app, local) == [("op0", op.issuer, login)]
    # from now on the provider signs in straight to that account
    assert sign_in_at_provider(_fresh(client), "op0", login).status_code == 303
    assert _me(client)["username"] == local


def test_provider_down_gives_a_clear_message_and_local_sign_in_works(client, app, make_user):
    from tests.support.net import free_port as port

    from halric.accounts import idp
    from halric.core.actor import system_actor

    with app.state.db.session() as s:
        if not any(p.name == "down" for p in idp.list_providers(s)):
            idp.add_provider(
                s, system_actor("t"), idp.secret_box(app.state.settings.signing_key), name="down",
                issuer=f"http://127.0.0.1:{port()}", client_id="hub", client_secret="x", display_name="Down AAI",
            )  # fmt: skip
    page = _fresh(client).get("/signin/oidc/down", follow_redirects=False)
    assert page.status_code == 503
    assert "Down AAI cannot be reached right now" in page.text
    local = make_user()
    csrf = client.cookies.get("halric_csrf")
    r = client.post("/signin", data={"username": local, "password": PASSWORD, "csrf_token": csrf},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and _me(client)["username"] == local
