"""Accounts of people who sign in through OpenID providers: two providers linked to one account, groups
from entitlement and group claims (changes take effect at the next sign-in), a dataset their mapped
group owns, API tokens and the SciCat API for federated accounts, unlinking, sign-out at the provider,
and local passwords turned off. Real providers (oidc-provider on Node.js), SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, quote, urlsplit

from sqlalchemy import select
from tests.support.accounts import PASSWORD
from tests.support.oidc import callback_url, sign_in_at_provider

ENTITLEMENT = "urn:geant:lifescience-ri.eu:group:halric-sample-team#aai.lifescience-ri.eu"


def _me(client):
    r = client.get("/api/me")
    assert r.status_code == 200, r.text
    return r.json()


def _fresh(client):
    client.cookies.clear()
    return client


def _csrf(client) -> str:
    page = client.get("/account")
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _rule(app, *, provider, claim, value, group) -> int:
    from halric.accounts import idp
    from halric.core.actor import system_actor

    with app.state.db.session() as s:
        return idp.add_rule(s, system_actor("t"), provider=provider, claim=claim, value=value, group=group).id


def _unrule(app, rule_id: int) -> None:
    from halric.accounts import idp
    from halric.core.actor import system_actor

    with app.state.db.session() as s:
        idp.remove_rule(s, system_actor("t"), rule_id)


def test_group_rule_changes_take_effect_at_the_next_sign_in(client, providers, add_idp, app):
    from halric.core.audit import AuditEvent

    op = providers.ops[0]
    add_idp("op0", op)
    login = "g" + uuid.uuid4().hex[:8]
    team, other = "beam-" + login, "sample-" + login
    providers.set_user(
        op, login, email=f"{login}@uni.example", email_verified=True, groups=[f"{login}:beamline"]
    )
    rule = _rule(app, provider="op0", claim="groups", value=f"{login}:beam*", group=team)
    assert sign_in_at_provider(_fresh(client), "op0", login).status_code == 303
    me = _me(client)
    assert team in me["groups"]
    # the administrator changes the mapping: nothing changes until the person signs in again
    _unrule(app, rule)
    _rule(app, provider="op0", claim="groups", value=f"{login}:beamline", group=other)
    assert team in _me(client)["groups"]
    assert sign_in_at_provider(_fresh(client), "op0", login).status_code == 303
    groups = _me(client)["groups"]
    assert other in groups and team not in groups
    with app.state.db.session() as s:
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "apply-group-rules", AuditEvent.entity_id == str(me["id"]))
            .order_by(AuditEvent.id)
        ).all()  # fmt: skip
        assert [e.details["added"] for e in events] == [[team], [other]]
        assert events[-1].details["removed"] == [team]


def test_rules_never_take_groups_an_administrator_gave(client, providers, add_idp, app):
    from halric.accounts import service
    from halric.accounts.schemas import UserUpdate
    from halric.core.actor import system_actor

    op = providers.ops[0]
    add_idp("op0", op)
    login = "k" + uuid.uuid4().hex[:8]
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True, groups=[])
    assert sign_in_at_provider(_fresh(client), "op0", login).status_code == 303
    uid = _me(client)["id"]
    with app.state.db.session() as s:
        service.update_user(s, system_actor("t"), uid, UserUpdate(groups=["given-by-admin"]))
    assert sign_in_at_provider(_fresh(client), "op0", login).status_code == 303
    assert "given-by-admin" in _me(client)["groups"]


def test_two_providers_one_account_sees_its_groups_dataset(client, providers, add_idp, app, make_user):
    """Sign up through provider op0, link provider op1 from the account page; op1's entitlement maps to
    a group that owns a private dataset: the person sees it, through either provider."""
    op0, op1 = providers.ops
    add_idp("op0", op0)
    add_idp("op1", op1, groups_claim="eduperson_entitlement")
    login = "t" + uuid.uuid4().hex[:8]
    group = "team-" + login
    providers.set_user(op0, login, email=f"{login}@uni.example", email_verified=True)
    providers.set_user(op1, "x" + login, email=f"{login}@uni.example", email_verified=True,
                       eduperson_entitlement=[ENTITLEMENT.replace("halric-sample-team", group)])  # fmt: skip
    _rule(app, provider="op1", claim="eduperson_entitlement",
          value=ENTITLEMENT.replace("halric-sample-team", group), group=group)  # fmt: skip
    # a private dataset owned by the group (made by a local member of it)
    owner = make_user(groups=[group])
    tok = client.post("/api/auth/token", json={"username": owner, "password": PASSWORD}).json()["token"]
    body = {"datasetName": f"{login} private", "type": "raw", "ownerGroup": group, "accessGroups": [],
            "owner": owner, "contactEmail": "o@example.org", "sourceFolder": f"/data/{login}",
            "creationTime": "2025-01-02T03:04:05Z"}  # fmt: skip
    r = client.post("/api/v4/datasets", json=body, headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 201, r.text
    pid = r.json()["pid"]

    assert sign_in_at_provider(_fresh(client), "op0", login).status_code == 303
    me = _me(client)
    assert group not in me["groups"]
    assert client.get(f"/api/v4/datasets/{quote(pid, safe='')}").status_code in (403, 404)
    # link op1 from the account page
    r = client.post(
        "/account/identities/link/op1", data={"csrf_token": _csrf(client)}, follow_redirects=False
    )
    assert r.status_code == 303
    back = client.get(callback_url(r.headers["location"], "x" + login), follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"].startswith("/account?linked="), back.text[
        :500
    ]
    page = client.get("/account")
    assert "Provider op0" in page.text and "Provider op1" in page.text
    assert group in _me(client)["groups"]
    assert client.get(f"/api/v4/datasets/{quote(pid, safe='')}").status_code == 200
    # the next sign-in through op1 reaches the same account
    assert sign_in_at_provider(_fresh(client), "op1", "x" + login).status_code == 303
    assert _me(client)["id"] == me["id"]
    # unlinking one is allowed, the last one is not
    from halric.accounts import federated, service

    with app.state.db.session() as s:
        ids = [i.id for i in federated.list_identities(s, service.get_user(s, me["id"]))]
    csrf = _csrf(client)
    r = client.post(f"/account/identities/{ids[0]}/unlink", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.headers["location"] == "/account?unlinked=1"
    r = client.post(f"/account/identities/{ids[1]}/unlink", data={"csrf_token": csrf}, follow_redirects=False)
    assert "only+way+you+can+sign+in" in r.headers["location"]
    with app.state.db.session() as s:
        assert len(federated.list_identities(s, service.get_user(s, me["id"]))) == 1


def test_federated_account_uses_api_tokens_and_the_scicat_api(client, providers, add_idp):
    op = providers.ops[0]
    add_idp("op0", op)
    login = "a" + uuid.uuid4().hex[:8]
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True)
    assert sign_in_at_provider(_fresh(client), "op0", login).status_code == 303
    me = _me(client)
    page = client.post("/account/tokens", data={"name": "script", "csrf_token": _csrf(client)})
    assert page.status_code == 200
    import re

    token = re.search(r'<code id="new-token">([^<]+)</code>', page.text).group(1)
    api = _fresh(client)
    h = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/me", headers=h).json()["id"] == me["id"]
    assert api.get("/api/v3/users/my/self", headers=h).json()["username"] == me["username"]
    # the SciCat login (pyscicat, scitacean) with the API token as the password
    r = api.post("/api/v3/auth/login", json={"username": me["username"], "password": token})
    assert r.status_code == 201, r.text
    jwt_h = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert api.get("/api/v3/users/my/self", headers=jwt_h).json()["username"] == me["username"]
    r = api.post("/api/v3/auth/login", json={"username": "someone-else", "password": token})
    assert r.status_code == 401
    # no password: the password login does not work for this account
    r = api.post("/api/auth/token", json={"username": me["username"], "password": "anything-at-all"})
    assert r.status_code == 401


def test_sign_out_ends_the_session_at_the_provider_too(client, providers, add_idp):
    op = providers.ops[0]
    add_idp("op0", op)
    login = "o" + uuid.uuid4().hex[:8]
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True)
    assert sign_in_at_provider(_fresh(client), "op0", login).status_code == 303
    csrf = _csrf(client)
    r = client.post("/signout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    loc = urlsplit(r.headers["location"])
    assert f"{loc.scheme}://{loc.netloc}" == op.issuer
    q = parse_qs(loc.query)
    assert (
        q["post_logout_redirect_uri"] == ["http://127.0.0.1:8000/"] and q["id_token_hint"][0].count(".") == 2
    )
    assert client.get("/api/me").status_code == 401
    # the provider accepts the request (its own confirmation page)
    import httpx

    assert httpx.get(r.headers["location"], timeout=10).status_code == 200


def test_local_passwords_off(client, app, providers, add_idp, make_user):
    add_idp("op0", providers.ops[0])
    local = make_user()
    app.state.settings.local_signin = False
    try:
        page = _fresh(client).get("/signin")
        assert 'name="password"' not in page.text and "Sign in with Provider op0" in page.text
        csrf = client.cookies.get("halric_csrf")
        r = client.post("/signin", data={"username": local, "password": PASSWORD, "csrf_token": csrf})
        assert r.status_code == 403 and "through their organisation" in r.text
        r = client.post("/api/auth/token", json={"username": local, "password": PASSWORD})
        assert r.status_code == 403 and "organisation" in r.json()["detail"]
    finally:
        app.state.settings.local_signin = True


def test_orcid_id_from_the_provider_is_shown_on_the_account_page(client, providers, add_idp):
    op = providers.ops[0]
    add_idp("op0", op)
    login = "r" + uuid.uuid4().hex[:8]
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True,
                       eduperson_orcid="https://orcid.org/0000-0002-1825-0097")  # fmt: skip
    assert sign_in_at_provider(_fresh(client), "op0", login).status_code == 303
    page = client.get("/account")
    assert 'id="orcid" href="https://orcid.org/0000-0002-1825-0097"' in page.text
