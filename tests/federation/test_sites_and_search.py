"""Federated search across real hub processes: merging, de-duplication, per-site status, each site's access
rules (anonymous, users' own tokens), slow and killed sites, the pages, the JSON API and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import lxml.html
import pytest
from tests.support.accounts import bearer, csrf_from, signin
from tests.support.federation import StandIn

WORD = "lysozyme"


@pytest.fixture(scope="module")
def world(remotes: dict[str, Any], db, settings) -> dict[str, Any]:
    """The local hub (the module's database) with the sites registered and local users."""
    from tests.support.accounts import add_user

    from halric.core.actor import system_actor
    from halric.federation import service
    from halric.federation.crypto import TokenBox

    box = TokenBox(settings.signing_key)
    sys_ = system_actor("test")
    alpha, beta = remotes["alpha"], remotes["beta"]
    with db.session() as s:
        for name, url, kind in (
            ("alpha", alpha.base, "hub"),
            ("alpha-scicat", alpha.base, "scicat"),
            ("beta", beta.base, "hub"),
            ("beta-panosc", beta.base + "/panosc-api", "panosc"),
        ):
            service.add_site(
                s, sys_, box, service.validate({"name": name, "url": url, "kind": kind, "timeout": 5})
            )
    local_owner = add_user(db, ["local-team"], prefix="loc")
    from halric.catalog import service as catalog
    from halric.core.actor import Actor

    with db.session() as s:
        owner = Actor(user_id=1, username=local_owner, groups=frozenset({"local-team"}), via="api")
        catalog.create_dataset(s, owner, {
            "datasetName": "Lysozyme local hub data", "type": "raw", "ownerGroup": "local-team", "owner": local_owner,
            "contactEmail": "l@example.org", "sourceFolder": "/d/l", "creationTime": "2025-01-01T00:00:00Z",
            "isPublished": True, "keywords": ["lysozyme"],
        })  # fmt: skip
    return {
        "box": box,
        "u_tok": add_user(db, ["hub-alpha"], prefix="tok"),
        "u_plain": add_user(db, ["hub-plain"], prefix="pln"),
        "coord": add_user(db, [], roles=["coordinator"], prefix="crd"),
    }


def _search(client, q: str, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    r = client.get("/api/federation/search", params={"q": q, **params}, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def _titles(res: dict[str, Any]) -> list[str]:
    return [r["title"] for r in res["results"]]


def test_anonymous_search_merges_every_site(client, world, remotes):
    res = _search(client, WORD)
    status = {x["name"]: x["status"] for x in res["sites"]}
    assert status == {"local": "ok", "alpha": "ok", "alpha-scicat": "ok", "beta": "ok", "beta-panosc": "ok"}
    for x in res["sites"]:
        assert set(x) == {"name", "status", "elapsed_ms"} and x["elapsed_ms"] >= 0
    titles = " ".join(_titles(res))
    assert "Lysozyme crystal at alpha" in titles and "Lysozyme solution at beta" in titles
    assert "Lysozyme local hub data" in titles
    assert "Quokka" not in titles and "Wombat" not in titles  # private at their sites
    sites_seen = {r["site"] for r in res["results"]}
    assert {"local", "beta"} <= sites_seen and sites_seen & {"alpha", "alpha-scicat"}
    scores = [r["score"] for r in res["results"]]
    assert scores == sorted(scores, reverse=True) and all(0 < x <= 1 for x in scores)
    # one entry per dataset: the shared DOI known at alpha and beta, and alpha known as hub and as SciCat
    shared = [r for r in res["results"] if r.get("doi") == remotes["shared"]]
    assert len(shared) == 1, shared
    assert {a["site"] for a in shared[0]["alsoAt"]} | {shared[0]["site"]} >= {"alpha", "beta"}
    assert len([r for r in res["results"] if r["pid"] == remotes["alpha_public"]]) == 1
    # facets and counts say what they cover, and count no private record
    assert set(res["coverage"]["facets"]) == {"local", "alpha", "alpha-scicat", "beta"}
    assert res["coverage"]["uncounted"] == ["beta-panosc"] and res["coverage"]["missing"] == []
    keywords = {f["value"] for f in res["facets"]["keyword"]}
    assert "lysozyme" in keywords and not keywords & {"quokka", "wombat"}
    # each remote record links to its site's own access route
    beta_hit = next(r for r in res["results"] if r["pid"] == remotes["beta_public"])
    assert beta_hit["url"].startswith(remotes["beta"].base)


def test_users_own_token_widens_that_site_only(client, db, world, remotes):
    from halric.federation import service
    from halric.federation.models import SiteUserToken

    alice_token = remotes["alpha"].api_token(remotes["alice"])
    tok_h = bearer(db, world["u_tok"])
    r = client.put("/api/federation/sites/alpha/token", json={"token": alice_token}, headers=tok_h)
    assert r.status_code == 204, r.text
    with db.session() as s:  # stored encrypted
        from sqlalchemy import select

        row = s.scalars(select(SiteUserToken)).one()
        assert alice_token not in row.token and row.token.startswith("gAAAA")
        assert service.user_tokens(s, _actor(db, world["u_tok"]), world["box"]) == {row.site_id: alice_token}
    mine = _search(client, "quokka", tok_h)
    theirs = _search(client, "quokka", bearer(db, world["u_plain"]))
    anon = _search(client, "quokka")
    assert [r["site"] for r in mine["results"]] == ["alpha"] and mine["results"][0]["isPublic"] is False
    assert theirs["results"] == [] and anon["results"] == []
    assert {f["value"] for f in mine["facets"]["keyword"]} >= {"quokka"}
    assert not any(f["value"] == "quokka" for f in theirs["facets"]["keyword"] + anon["facets"]["keyword"])
    assert mine["total"] >= 1 and theirs["total"] == 0 and anon["total"] == 0
    # alice's rights at alpha never reach beta's private records, nor alpha's SciCat door without a token
    assert _search(client, "wombat", tok_h)["results"] == []
    assert all(r["site"] != "alpha-scicat" for r in mine["results"])
    r = client.delete("/api/federation/sites/alpha/token", headers=tok_h)
    assert r.status_code == 204
    assert _search(client, "quokka", tok_h)["results"] == []


def _actor(db, username: str):
    from sqlalchemy import select

    from halric.accounts import service
    from halric.accounts.models import User

    with db.session() as s:
        return service.actor_for(s.scalar(select(User).where(User.username == username)))


def test_slow_and_killed_sites_cost_at_most_their_timeout(client, db, world):
    from halric.core.actor import system_actor
    from halric.federation import service

    slow, doomed = StandIn(delay=30), StandIn(delay=30)
    with db.session() as s:
        for name, site, timeout in (("slow", slow, 1.0), ("doomed", doomed, 8.0)):
            data = service.validate({"name": name, "url": site.base, "kind": "hub", "timeout": timeout})
            service.add_site(s, system_actor("test"), world["box"], data)
    try:
        out: dict[str, Any] = {}

        def run() -> None:
            t0 = time.perf_counter()
            out["res"] = _search(client, WORD)
            out["elapsed"] = time.perf_counter() - t0

        th = threading.Thread(target=run)
        th.start()
        assert doomed.wait_request().startswith("REQUEST /api/catalog/search")
        doomed.kill()  # killed while the query is in flight
        th.join(timeout=30)
        res = out["res"]
        status = {x["name"]: x for x in res["sites"]}
        assert status["slow"]["status"] == "timeout" and 950 <= status["slow"]["elapsed_ms"] <= 1600
        assert status["doomed"]["status"] == "error" and status["doomed"]["elapsed_ms"] < 8000
        assert out["elapsed"] < 2.5, out[
            "elapsed"
        ]  # the dead site cost no more than the slow one's 1 s timeout
        assert {n["site"] for n in res["notices"]} == {"slow", "doomed"}
        assert set(res["coverage"]["missing"]) == {"slow", "doomed"}
        assert "Lysozyme solution at beta" in _titles(res)  # the other sites' results are all there
        # the page: partial results with a notice, never an error page
        page = client.get("/federation/search", params={"q": WORD})
        assert page.status_code == 200
        doc = lxml.html.fromstring(page.text)
        alerts = " ".join(a.text_content() for a in doc.cssselect('[role="alert"]'))
        assert "slow did not answer in time" in alerts and "doomed could not be searched" in alerts
        assert doc.cssselect("#federated-results li.result")
        with db.session() as s:  # health stored
            assert service.get_site(s, "slow").status == "timeout"
            assert service.get_site(s, "doomed").status == "error"
            assert service.get_site(s, "beta").last_contact_at is not None
    finally:
        slow.kill()
        doomed.kill()
        with db.session() as s:
            for name in ("slow", "doomed"):
                service.remove_site(s, system_actor("test"), name)


def test_fake_site_matches_real_hub(remotes):
    """The stand-in answers the catalog search in the shape a real hub does (the keys the hub reads)."""
    import httpx
    from tests.federation.slow_site import ANSWER

    real = httpx.get(remotes["beta"].base + "/api/catalog/search", params={"q": WORD}).json()
    assert set(ANSWER) <= set(real)
    assert set(ANSWER["items"][0]) <= set(real["items"][0])
    assert set(ANSWER["facets"]) <= set(real["facets"])


def test_coordinator_registers_sites_in_the_browser(client, world, remotes):
    r = client.get("/federation/sites")
    assert r.status_code in (303, 307) or r.url.path == "/signin"
    signin(client, world["u_plain"])
    assert client.get("/federation/sites").status_code == 403
    client.cookies.clear()
    signin(client, world["coord"])
    page = client.get("/federation/sites")
    assert page.status_code == 200
    doc = lxml.html.fromstring(page.text)
    assert {a.text_content() for a in doc.cssselect("#sites a")} >= {"alpha", "beta", "beta-panosc"}
    form = {"csrf_token": csrf_from(page.text), "name": "gamma", "url": "ftp://nope", "kind": "hub", "mode": "live",
            "timeout": "3", "token": "", "group_map": "", "description": "", "landing_template": ""}  # fmt: skip
    bad = client.post("/federation/sites", data=form)
    assert bad.status_code == 400 and 'value="gamma"' in bad.text  # the form comes back as typed
    alert = lxml.html.fromstring(bad.text).cssselect(".alert")[0].text_content()
    assert alert.startswith("Address (URL): give an http:// or https:// address"), alert
    form["url"] = remotes["alpha"].base
    form["group_map"] = "alpha-team = hub-alpha"
    ok = client.post("/federation/sites", data=form, follow_redirects=False)
    assert ok.status_code == 303
    site_page = client.get("/federation/sites/gamma")
    assert site_page.status_code == 200 and "alpha-team = hub-alpha" in site_page.text
    assert (
        lxml.html.fromstring(site_page.text).cssselect("#site-form")[0].get("action")
        == "/federation/sites/gamma"
    )
    edit = {**form, "csrf_token": csrf_from(site_page.text), "timeout": "2.5", "enabled": "true",
            "token": "gamma-service-token"}  # fmt: skip
    saved = client.post("/federation/sites/gamma", data=edit)
    assert saved.status_code == 200 and "Saved" in saved.text and 'value="2.5"' in saved.text
    assert "gamma-service-token" not in saved.text and "one is stored" in saved.text
    tokens = client.get("/federation/tokens")
    assert tokens.status_code == 200 and "Token for gamma" in tokens.text
    stored = client.post(
        "/federation/tokens/gamma", data={"csrf_token": csrf_from(tokens.text), "token": "my-own"}
    )
    row = next(
        tr
        for tr in lxml.html.fromstring(stored.text).cssselect("#tokens tbody tr")
        if "gamma" in tr.text_content()
    )
    assert "stored" in row.text_content() and "my-own" not in stored.text
    site_page = client.get("/federation/sites/gamma")
    check = client.post("/federation/sites/gamma/check", data={"csrf_token": csrf_from(site_page.text)})
    assert "Health: error" in check.text and "the service token was refused" in check.text  # alpha refuses it
    edit = {**edit, "csrf_token": csrf_from(check.text), "token": "", "clear_token": "true"}
    assert "one is stored" not in client.post("/federation/sites/gamma", data=edit).text
    check = client.post("/federation/sites/gamma/check", data={"csrf_token": csrf_from(check.text)})
    assert check.status_code == 200 and "Health: ok" in check.text
    listing = client.get("/federation/sites")
    row = next(
        tr
        for tr in lxml.html.fromstring(listing.text).cssselect("#sites tbody tr")
        if "gamma" in tr.text_content()
    )
    assert "ok" in row.text_content() and "never" not in row.text_content()
    gone = client.post("/federation/sites/gamma/delete", data={"csrf_token": csrf_from(listing.text)})
    assert gone.status_code == 200 and "Removed gamma" in gone.text


def test_cli_sites_and_federated_search(db, settings, world, remotes):
    env = {**os.environ, "HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(settings.data_dir),
           "HALRIC_SECRET_KEY": settings.secret_key}  # fmt: skip

    def halric(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(
            [sys.executable, "-m", "halric.cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (r.returncode == 0) == ok, r.stderr
        return r

    name = "cli" + uuid.uuid4().hex[:4]
    halric(
        "sites",
        "add",
        name,
        remotes["beta"].base,
        "--kind",
        "hub",
        "--token",
        "secret-service-token",
        "--timeout",
        "4",
    )
    listed = json.loads(halric("sites", "list", "--json").stdout)
    mine = next(x for x in listed if x["name"] == name)
    assert mine["kind"] == "hub" and mine["timeout"] == 4 and mine["has_service_token"] is True
    assert "secret-service-token" not in json.dumps(listed)
    bad = halric("sites", "add", "x", "http://h", "--kind", "gopher", ok=False)
    assert (
        bad.returncode == 2 and bad.stderr.startswith("halric: error: kind:") and bad.stderr.count("\n") == 1
    )
    try:
        out = json.loads(halric("search", "quokka lysozyme", "--federated", "--json").stdout)
        assert set(out) == {"results", "sites"}
        assert all({"site", "pid", "title", "score"} <= set(r) for r in out["results"])
        assert all(set(x) == {"name", "status", "elapsed_ms"} for x in out["sites"])
        assert all(x["status"] in ("ok", "timeout", "error") for x in out["sites"])
        assert {x["name"] for x in out["sites"]} >= {"local", "alpha", "beta", name}
        assert out["results"] and not any("Quokka" in r["title"] for r in out["results"])  # private at alpha
        # with a hub token: that user's rights and site tokens apply
        from halric.accounts import service as accounts
        from halric.federation import service as fed

        with db.session() as s:
            fed.set_user_token(
                s,
                _actor(db, world["u_tok"]),
                world["box"],
                "alpha",
                remotes["alpha"].api_token(remotes["alice"]),
            )
            from sqlalchemy import select

            from halric.accounts.models import User

            user = s.scalar(select(User).where(User.username == world["u_tok"]))
            from halric.core.actor import system_actor

            hub_token, _ = accounts.create_api_token(s, system_actor("test"), user, "cli")
        out = json.loads(halric("search", "quokka", "--federated", "--json", "--token", hub_token).stdout)
        assert [r["site"] for r in out["results"]] == ["alpha"]
        local_only = json.loads(halric("search", WORD, "--json").stdout)
        assert [x["name"] for x in local_only["sites"]] == ["local"]
        assert halric("search", WORD, "--federated", "--token", "hlr_wrong", ok=False).returncode == 2
    finally:
        halric("sites", "remove", name)
