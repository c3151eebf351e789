"""The administrators' identity-provider page (/admin/identity-providers): adding a provider with a preset
or by hand (errors by the field, the input kept but never the secret), checking that it answers, removing
it after a confirmation, adding and removing group rules, CSRF, admins only, and audit entries without the
secret. A provider added on the page signs people in against a real oidc-provider. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import uuid

import lxml.html
from sqlalchemy import select
from tests.support.accounts import csrf_from, signin
from tests.support.net import free_port
from tests.support.oidc import HUB_SECRET, sign_in_at_provider

PAGE = "/admin/identity-providers"
SECRET = "page-secret-" + uuid.uuid4().hex


def _admin(client, make_user) -> str:
    client.cookies.clear()
    signin(client, make_user(roles=["admin"]))
    return csrf_from(client.get(PAGE).text)


def _field_error(html: str, name: str) -> str:
    doc = lxml.html.fromstring(html)
    found = doc.xpath(f'//*[@id="err-{name}"]')
    return found[0].text_content() if found else ""


def _value(html: str, input_id: str) -> str | None:
    doc = lxml.html.fromstring(html)
    found = doc.xpath(f'//*[@id="{input_id}"]')
    return found[0].get("value") if found else None


def _provider(app, name: str):
    from halric.accounts import idp

    with app.state.db.session() as s:
        return next((p for p in idp.list_providers(s) if p.name == name), None)


def _events(app, entity_type: str):
    from halric.core.audit import AuditEvent

    with app.state.db.session() as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.entity_type == entity_type).order_by(AuditEvent.id)
        )
        return [(e.action, e.entity_id, e.details) for e in rows]


def test_only_administrators_and_only_from_the_page(client, app, make_user):
    # not signed in, or signed in without the admin role: refused, nothing changes
    client.cookies.clear()
    assert client.get(PAGE, follow_redirects=False).status_code in (303, 401)
    signin(client, make_user(roles=["coordinator"]))
    assert client.get(PAGE).status_code == 403
    csrf = csrf_from(client.get("/account").text)
    form = {
        "preset": "orcid",
        "name": "orcid-x",
        "client_id": "APP-1",
        "client_secret": SECRET,
        "csrf_token": csrf,
    }
    assert client.post(PAGE, data=form).status_code == 403
    assert (
        client.post(
            PAGE + "/rules", data={"claim": "groups", "value": "v", "group": "g", "csrf_token": csrf}
        ).status_code
        == 403
    )
    assert client.get(PAGE + "/orcid-x/remove").status_code == 403
    assert _provider(app, "orcid-x") is None
    # an administrator's form without the page's CSRF token is refused too
    _admin(client, make_user)
    r = client.post(PAGE, data={**form, "csrf_token": "forged"})
    assert r.status_code == 403 and "Reload the page" in r.text
    assert _provider(app, "orcid-x") is None


def test_add_with_a_preset_as_the_cli_does(client, app, make_user):
    csrf = _admin(client, make_user)
    page = client.get(PAGE)
    # the presets are offered with what they fill in
    doc = lxml.html.fromstring(page.text)
    options = {o.get("value"): o for o in doc.xpath('//select[@id="idp-preset"]/option')}
    assert set(options) == {"", "lslogin", "myaccessid", "orcid"}
    assert options["lslogin"].get("data-issuer") == "https://login.aai.lifescience-ri.eu/oidc/"
    assert options["lslogin"].get("data-groups-claim") == "eduperson_entitlement"
    assert doc.xpath('//input[@name="client_secret"]')[0].get("type") == "password"

    name = "ls" + uuid.uuid4().hex[:6]
    r = client.post(PAGE, data={"preset": "lslogin", "name": name, "client_id": "halric-hub",
                                "client_secret": SECRET, "csrf_token": csrf}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?added={name}"
    row = _provider(app, name)
    assert (row.display_name, row.issuer, row.scopes, row.groups_claim, row.preset) == (
        "LS Login", "https://login.aai.lifescience-ri.eu/oidc/", "openid profile email eduperson_entitlement",
        "eduperson_entitlement", "lslogin",
    )  # fmt: skip
    assert SECRET not in row.client_secret_sealed
    from halric.accounts import idp

    assert idp.secret_box(app.state.settings.signing_key).open(row.client_secret_sealed) == SECRET
    shown = client.get(r.headers["location"])
    added = lxml.html.fromstring(shown.text).xpath('//*[@id="added"]')[0].text_content()
    assert f"http://127.0.0.1:8000/signin/oidc/{name}/callback" in added
    assert SECRET not in shown.text
    # audited, without the secret
    events = _events(app, "identity-provider")
    assert ("create", name) in [(a, i) for a, i, _ in events]
    assert SECRET not in json.dumps([d for _, _, d in events])
    # typed values win over the preset's
    own = "orcid" + uuid.uuid4().hex[:6]
    r = client.post(PAGE, data={"preset": "orcid", "name": own, "display_name": "ORCID (sandbox)",
                                "issuer": "https://sandbox.orcid.org", "client_id": "APP-0000",
                                "client_secret": SECRET, "scopes": "", "groups_claim": "", "csrf_token": csrf},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    row = _provider(app, own)
    assert (row.display_name, row.issuer, row.scopes, row.groups_claim) == (
        "ORCID (sandbox)", "https://sandbox.orcid.org", "openid", None)  # fmt: skip


def test_errors_are_shown_by_the_field_and_the_input_is_kept(client, app, make_user):
    csrf = _admin(client, make_user)
    typed = {"preset": "", "name": "maxiv-" + uuid.uuid4().hex[:4], "display_name": "MAX IV",
             "issuer": "http://login.maxiv.example/realms/users", "client_id": "halric-hub",
             "client_secret": SECRET, "scopes": "openid email groups", "groups_claim": "groups",
             "csrf_token": csrf}  # fmt: skip
    r = client.post(PAGE, data=typed)
    assert r.status_code == 400
    assert "https://" in _field_error(r.text, "issuer")
    assert 'href="#err-issuer"' in r.text  # the summary links to the field
    for input_id, key in [("idp-name", "name"), ("idp-display", "display_name"), ("idp-issuer", "issuer"),
                          ("idp-client-id", "client_id"), ("idp-scopes", "scopes"),
                          ("idp-groups-claim", "groups_claim")]:  # fmt: skip
        assert _value(r.text, input_id) == typed[key], key
    assert SECRET not in r.text and _value(r.text, "idp-secret") is None  # never sent back
    assert "type it again" in r.text
    assert _provider(app, typed["name"]) is None

    cases = [
        ({"name": "Bad Name!"}, "name", "lower-case"),
        ({"issuer": ""}, "issuer", "issuer URL"),
        ({"issuer": "https://"}, "issuer", "URL"),
        ({"client_secret": "  "}, "client_secret", "client secret"),
        ({"client_id": ""}, "client_id", "client id"),
        ({"groups_claim": "no spaces please"}, "groups_claim", "claim name"),
        ({"scopes": 'openid "quoted"'}, "scopes", "scope names"),
        ({"preset": "keycloak"}, "preset", "choose one of"),
    ]
    for change, field, words in cases:
        body = {**typed, "issuer": "https://login.maxiv.example/realms/users", **change}
        r = client.post(PAGE, data=body)
        assert r.status_code == 400, (change, r.status_code)
        assert words.lower() in _field_error(r.text, field).lower(), (change, _field_error(r.text, field))
    # http is accepted only for this machine (a test or development provider)
    local = {**typed, "issuer": f"http://127.0.0.1:{free_port()}", "name": "local-" + uuid.uuid4().hex[:4]}
    assert client.post(PAGE, data=local, follow_redirects=False).status_code == 303
    # the same name again: 409, by the name field
    r = client.post(PAGE, data={**local, "issuer": "https://other.example"})
    assert r.status_code == 409 and "exists already" in _field_error(r.text, "name")
    assert _provider(app, local["name"]).issuer == local["issuer"]


def test_check_discovery(client, app, make_user, providers):
    from halric.accounts import idp
    from halric.core.actor import system_actor

    csrf = _admin(client, make_user)
    op = providers.ops[0]
    up, down = "up" + uuid.uuid4().hex[:4], "down" + uuid.uuid4().hex[:4]
    with app.state.db.session() as s:
        box = idp.secret_box(app.state.settings.signing_key)
        idp.add_provider(s, system_actor("t"), box, name=up, issuer=op.issuer, client_id="hub",
                         client_secret="x", scopes="openid email no_such_scope")  # fmt: skip
        idp.add_provider(s, system_actor("t"), box, name=down, issuer=f"http://127.0.0.1:{free_port()}",
                         client_id="hub", client_secret="x")  # fmt: skip
    r = client.post(f"{PAGE}/{up}/check", data={"csrf_token": csrf})
    assert r.status_code == 200
    said = lxml.html.fromstring(r.text).xpath('//*[@id="check"]')[0]
    assert said.get("class") == "notice" and "answers" in said.text_content()
    assert f"{op.issuer}/auth" in said.text_content() and "1 signing key" in said.text_content()
    assert "no_such_scope" in said.text_content()  # not among the provider's scopes_supported
    r = client.post(f"{PAGE}/{down}/check", data={"csrf_token": csrf})
    said = lxml.html.fromstring(r.text).xpath('//*[@id="check"]')[0]
    assert said.get("role") == "alert" and "does not answer" in said.text_content()
    assert "cannot be reached" in said.text_content()
    assert client.post(f"{PAGE}/nowhere/check", data={"csrf_token": csrf}).status_code == 404


def test_remove_needs_the_confirmation(client, app, make_user):
    from halric.accounts import idp
    from halric.accounts.models import ExternalIdentity
    from halric.core.actor import system_actor

    csrf = _admin(client, make_user)
    name = "gone" + uuid.uuid4().hex[:4]
    client.post(PAGE, data={"name": name, "display_name": "Gone Facility", "issuer": "https://gone.example",
                            "client_id": "c", "client_secret": SECRET, "csrf_token": csrf})  # fmt: skip
    user = make_user()
    with app.state.db.session() as s:
        from halric.accounts.models import User

        uid = s.scalar(select(User.id).where(User.username == user))
        s.add(ExternalIdentity(user_id=uid, provider=name, issuer="https://gone.example", subject="s-1"))
        idp.add_rule(
            s, system_actor("t"), provider=name, claim="groups", value="gone:staff", group="gone-staff"
        )
    # the list links to a confirmation page that says what happens
    page = client.get(PAGE)
    assert f'href="{PAGE}/{name}/remove"' in page.text
    confirm = client.get(f"{PAGE}/{name}/remove")
    assert confirm.status_code == 200
    text = " ".join(lxml.html.fromstring(confirm.text).text_content().split())
    assert "Remove Gone Facility?" in text and "1 linked identity stays" in text and "gone:staff" in text
    # a POST that did not come from the confirmation page only leads there
    r = client.post(f"{PAGE}/{name}/remove", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}/{name}/remove"
    assert _provider(app, name) is not None
    r = client.post(f"{PAGE}/{name}/remove", data={"csrf_token": csrf_from(confirm.text), "confirm": name},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?removed={name}&kept=1"
    assert _provider(app, name) is None
    assert "1 linked identities kept" in client.get(r.headers["location"]).text
    assert ("delete", name, {"linked_identities": 1}) in _events(app, "identity-provider")
    with app.state.db.session() as s:  # the identity stays, to work again if the provider comes back
        assert s.scalar(select(ExternalIdentity.id).where(ExternalIdentity.provider == name)) is not None
    assert client.get(f"{PAGE}/{name}/remove").status_code == 404


def test_group_rules_are_added_and_removed(client, app, make_user):
    csrf = _admin(client, make_user)
    name = "fac" + uuid.uuid4().hex[:4]
    client.post(PAGE, data={"name": name, "issuer": "https://fac.example", "client_id": "c",
                            "client_secret": SECRET, "groups_claim": "groups", "csrf_token": csrf})  # fmt: skip
    existing = "team-" + uuid.uuid4().hex[:6]
    make_user(groups=[existing])
    page = client.get(PAGE)
    doc = lxml.html.fromstring(page.text)
    assert existing in [o.get("value") for o in doc.xpath('//datalist[@id="hub-groups"]/option')]
    assert name in [o.get("value") for o in doc.xpath('//select[@id="rule-provider"]/option')]
    # a bad group name: by the field, input kept
    bad = {
        "provider": name,
        "claim": "groups",
        "value": "fac:beam*",
        "group": "no spaces!",
        "csrf_token": csrf,
    }
    r = client.post(PAGE + "/rules", data=bad)
    assert r.status_code == 400 and "group name" in _field_error(r.text, "group")
    assert _value(r.text, "rule-value") == "fac:beam*" and _value(r.text, "rule-group") == "no spaces!"
    assert (
        "selected"
        in lxml.html.tostring(
            lxml.html.fromstring(r.text).xpath(f'//select[@id="rule-provider"]/option[@value="{name}"]')[0]
        ).decode()
    )
    r = client.post(PAGE + "/rules", data={**bad, "claim": ""})
    assert r.status_code == 400 and "claim name" in _field_error(r.text, "claim")
    # a good one
    r = client.post(PAGE + "/rules", data={**bad, "group": existing}, follow_redirects=False)
    assert r.status_code == 303
    rule_id = int(re.search(r"rule=(\d+)", r.headers["location"]).group(1))
    assert "new_group" not in r.headers["location"]
    listed = client.get(r.headers["location"])
    assert f"Rule {rule_id} added" in listed.text
    row = lxml.html.fromstring(listed.text).xpath(f'//table[@id="rules"]//tr[td[1]="{rule_id}"]')[0]
    assert [c.text_content().strip() for c in row.xpath("td")][:5] == [
        str(rule_id),
        name,
        "groups",
        "fac:beam*",
        existing,
    ]
    # the same rule again: 409; a rule for any provider with a group no account has yet: added, with a warning
    r = client.post(PAGE + "/rules", data={**bad, "group": existing})
    assert r.status_code == 409 and "exists already" in r.text
    new = "brand-new-" + uuid.uuid4().hex[:4]
    r = client.post(PAGE + "/rules", data={**bad, "provider": "", "group": new})
    assert r.status_code == 200 and "No account has the group" in r.text  # followed to the page
    # removed from the list
    r = client.post(f"{PAGE}/rules/{rule_id}/remove", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert not lxml.html.fromstring(client.get(PAGE).text).xpath(
        f'//table[@id="rules"]//tr[td[1]="{rule_id}"]'
    )
    assert client.post(f"{PAGE}/rules/{rule_id}/remove", data={"csrf_token": csrf}).status_code == 404
    actions = [(a, i) for a, i, _ in _events(app, "idp-group-rule")]
    assert ("create", str(rule_id)) in actions and ("delete", str(rule_id)) in actions


def test_a_provider_added_on_the_page_signs_people_in(client, app, make_user, providers):
    """Added by hand on the page, with a group rule from the page: a person signs in at the real provider
    and gets the group."""
    csrf = _admin(client, make_user)
    op = providers.ops[1]
    r = client.post(PAGE, data={"name": "op3", "display_name": "Facility Three", "issuer": op.issuer,
                                "client_id": "hub", "client_secret": HUB_SECRET,
                                "scopes": "openid email profile eduperson_entitlement",
                                "groups_claim": "eduperson_entitlement", "csrf_token": csrf},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    entitlement = "urn:geant:example.org:group:beamline-" + uuid.uuid4().hex[:6]
    group = "beam-" + uuid.uuid4().hex[:6]
    r = client.post(PAGE + "/rules", data={"provider": "op3", "claim": "eduperson_entitlement",
                                           "value": entitlement, "group": group, "csrf_token": csrf},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    login = "p" + uuid.uuid4().hex[:8]
    providers.set_user(op, login, email=f"{login}@uni.example", email_verified=True,
                       eduperson_entitlement=[entitlement])  # fmt: skip
    client.cookies.clear()
    assert "Sign in with Facility Three" in client.get("/signin").text
    assert sign_in_at_provider(client, "op3", login).status_code == 303
    me = client.get("/api/me").json()
    assert me["username"] == login and group in me["groups"]
