"""`halric idp`: add (presets, secret from stdin, stored encrypted), list, remove, group rules; bad input
is one line on stderr and exit code 2; the admin page lists what was configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.accounts import PASSWORD


def _halric(settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HALRIC_DATABASE_URL": settings.db_url,
        "HALRIC_DATA_DIR": str(settings.data_dir),
        "HALRIC_SECRET_KEY": settings.secret_key,
        "HALRIC_BASE_URL": "https://hub.example.org",
    }
    cmd = [sys.executable, "-m", "halric.cli.main", "idp", *args]
    return subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True, timeout=120)


def _bad(r: subprocess.CompletedProcess[str], words: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and words in r.stderr, r.stderr


def test_idp_commands(db, settings, client, make_user):
    from halric.accounts import idp
    from halric.accounts.models import IdentityProvider
    from halric.core.audit import AuditEvent

    ok = _halric(settings, "add", "lslogin", "--preset", "lslogin", "--client-id", "halric-hub",
                 "--client-secret-stdin", stdin="top-secret-value\n")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "https://hub.example.org/signin/oidc/lslogin/callback" in ok.stdout
    ok = _halric(settings, "add", "maxiv", "https://login.maxiv.example/realms/users", "--client-id", "hub",
                 "--client-secret-stdin", "--scopes", "email groups", "--groups-claim", "groups",
                 "--display-name", "MAX IV", stdin="s2\n")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    with db.session() as s:
        row = s.query(IdentityProvider).filter_by(name="lslogin").one()
        assert row.issuer == "https://login.aai.lifescience-ri.eu/oidc/" and row.display_name == "LS Login"
        assert row.scopes == "openid profile email eduperson_entitlement"
        assert row.groups_claim == "eduperson_entitlement"
        assert "top-secret" not in row.client_secret_sealed
        assert idp.secret_box(settings.signing_key).open(row.client_secret_sealed) == "top-secret-value"
        maxiv = s.query(IdentityProvider).filter_by(name="maxiv").one()
        assert maxiv.scopes == "openid email groups" and maxiv.display_name == "MAX IV"
        assert s.query(AuditEvent).filter_by(entity_type="identity-provider", action="create").count() == 2

    # `check` asks the provider now: this one's address does not resolve, which is said in one line
    _bad(_halric(settings, "check", "maxiv"), "MAX IV cannot be reached")
    _bad(_halric(settings, "check", "nowhere"), "nowhere")

    listed = json.loads(_halric(settings, "list", "--json").stdout)
    assert [p["name"] for p in listed] == ["lslogin", "maxiv"]
    assert "top-secret" not in json.dumps(listed)

    _bad(_halric(settings, "add", "x", "https://x.example", "--client-id", "c"), "--client-secret-stdin")
    _bad(_halric(settings, "add", "x", "http://x.example", "--client-id", "c", "--client-secret-stdin",
                 stdin="s\n"), "https://")  # fmt: skip
    _bad(_halric(settings, "add", "maxiv", "https://x.example", "--client-id", "c", "--client-secret-stdin",
                 stdin="s\n"), "exists already")  # fmt: skip

    ok = _halric(settings, "map", "eduperson_entitlement", "urn:geant:example:group:team", "team-a",
                 "--provider", "lslogin")  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    _bad(_halric(settings, "map", "groups", "x", "bad group!"), "group")
    # the other refusals, through the service the command calls
    import pytest

    from halric.core.actor import system_actor
    from halric.core.errors import InvalidInput, NotFound

    box = idp.secret_box(settings.signing_key)
    with db.session() as s:
        for kwargs, words in [
            ({"name": "Bad Name", "issuer": "https://x.example"}, "name:"),
            ({"name": "x", "issuer": None, "preset": "nope"}, "preset"),
        ]:
            with pytest.raises(InvalidInput, match=words):
                idp.add_provider(s, system_actor("t"), box, client_id="c", client_secret="s", **kwargs)
        with pytest.raises(NotFound):
            idp.add_rule(s, system_actor("t"), provider="nowhere", claim="groups", value="x", group="g")
    rules = json.loads(_halric(settings, "rules", "--json").stdout)
    assert [(r["provider"], r["group"]) for r in rules] == [("lslogin", "team-a")]

    # the admin page shows providers, the redirect URI to register and the rules; others may not see it
    admin = make_user(roles=["admin"])
    csrf = client.get("/signin") and client.cookies.get("halric_csrf")
    assert client.post("/signin", data={"username": admin, "password": PASSWORD, "csrf_token": csrf},
                       follow_redirects=False).status_code == 303  # fmt: skip
    page = client.get("/admin/identity-providers")
    assert page.status_code == 200
    assert "LS Login" in page.text and "urn:geant:example:group:team" in page.text
    assert "/signin/oidc/lslogin/callback" in page.text and "top-secret" not in page.text
    signin = client.get("/signin")  # signed in: redirected; the sign-in page for a stranger has the buttons
    client.cookies.clear()
    signin = client.get("/signin")
    assert 'href="/signin/oidc/lslogin"' in signin.text and "Sign in with MAX IV" in signin.text
    applicant = make_user()
    csrf = client.cookies.get("halric_csrf")
    client.post("/signin", data={"username": applicant, "password": PASSWORD, "csrf_token": csrf})
    assert client.get("/admin/identity-providers").status_code == 403

    assert _halric(settings, "unmap", str(rules[0]["id"])).returncode == 0
    ok = _halric(settings, "remove", "maxiv")
    assert ok.returncode == 0 and "0 linked identities kept" in ok.stdout
    assert [p["name"] for p in json.loads(_halric(settings, "list", "--json").stdout)] == ["lslogin"]
