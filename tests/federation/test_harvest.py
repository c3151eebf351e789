"""Harvesting real hub processes into the local index: incremental, resumable, lease-protected; deleted and
unpublished records disappear; harvested private records are shown only to users mapped to their groups."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from tests.support.accounts import bearer


@pytest.fixture(scope="module")
def hw(remotes: dict[str, Any], db, settings) -> dict[str, Any]:
    from tests.support.accounts import add_user

    from halric.core.actor import system_actor
    from halric.federation import service
    from halric.federation.crypto import TokenBox

    box = TokenBox(settings.signing_key)
    beta, alpha = remotes["beta"], remotes["alpha"]
    token = beta.api_token(remotes["harvester"])
    with db.session() as s:
        for body, tok in (
            ({"name": "beta-h", "url": beta.base, "kind": "hub", "mode": "harvest",
              "group_map": {"beta-team": ["hub-beta"]}}, token),
            ({"name": "alpha-pan", "url": alpha.base + "/panosc-api", "kind": "panosc", "mode": "harvest"}, None),
        ):  # fmt: skip
            service.add_site(s, system_actor("test"), box, service.validate(body), token=tok)
    return {
        "box": box, "token": token, "sys": system_actor("harvest"),
        "u_beta": add_user(db, ["hub-beta"], prefix="hb"), "u_alpha": add_user(db, ["hub-alpha"], prefix="ha"),
    }  # fmt: skip


def _harvest(db, hw, *names: str, **kw: Any) -> dict[str, dict[str, Any]]:
    from halric.federation.harvest import harvest_all

    return {r["site"]: r for r in harvest_all(db, hw["sys"], hw["box"], list(names) or None, **kw)}


def _find(client, q: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = client.get("/api/federation/search", params={"q": q, "local": "false"}, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


def _remote_count(remotes: dict[str, Any], token: str) -> int:
    r = httpx.get(
        remotes["beta"].base + "/api/v3/Datasets/count", headers={"Authorization": f"Bearer {token}"}
    )
    return r.json()["count"]


def test_harvest_then_search_respects_mapped_groups(client, db, hw, remotes):
    res = _harvest(db, hw)  # every site in harvest mode
    assert set(res) == {"beta-h", "alpha-pan"}
    assert res["beta-h"]["status"] == "done" and res["alpha-pan"]["status"] == "done"
    assert res["beta-h"]["added"] == _remote_count(remotes, hw["token"])  # public and beta-team records
    u_beta, u_alpha = bearer(db, hw["u_beta"]), bearer(db, hw["u_alpha"])
    seen = _find(client, "wombat", u_beta)
    assert [(r["site"], r["title"]) for r in seen["results"]] == [("beta-h", "Wombat secret lysozyme")]
    assert seen["total"] == 1 and {"value": "wombat", "count": 1} in seen["facets"]["keyword"]
    for headers in (u_alpha, {}):
        other = _find(client, "wombat", headers)
        assert other["results"] == [] and other["total"] == 0
        assert not any(f["value"] == "wombat" for f in other["facets"]["keyword"])
    lyso = _find(client, "lysozyme")
    titles = {r["title"] for r in lyso["results"]}
    assert "Lysozyme solution at beta" in titles and "Lysozyme crystal at alpha" in titles
    assert not any("Wombat" in t or "Quokka" in t for t in titles)
    assert {x["name"] for x in lyso["sites"]} >= {"beta-h", "alpha-pan"}
    assert lyso["total"] == sum(1 for _ in lyso["results"]) or lyso["total"] >= len(lyso["results"])
    # alpha's PaNOSC door serves public data only: nothing private was harvested from it
    assert _find(client, "quokka", u_alpha)["results"] == []


def test_incremental_deletions_and_unpublishing(client, db, hw, remotes):
    from halric.federation import service

    _harvest(db, hw, "beta-h")
    beta, bob = remotes["beta"], remotes["bob"]
    tag = "numbat" + uuid.uuid4().hex[:6]
    keep = beta.dataset(bob, "beta-team", f"{tag} kept", isPublished=True, keywords=[tag])
    drop = beta.dataset(bob, "beta-team", f"{tag} dropped", isPublished=True, keywords=[tag])
    r = _harvest(db, hw, "beta-h")["beta-h"]
    assert (r["status"], r["added"], r["updated"], r["removed"]) == ("done", 2, 0, 0)
    beta.patch(bob, keep, {"description": "now with more words"})
    r = _harvest(db, hw, "beta-h")["beta-h"]
    assert (r["added"], r["updated"], r["removed"]) == (0, 1, 0)  # only what changed is read again
    assert len(_find(client, tag)["results"]) == 2
    beta.delete(bob, drop)
    beta.patch(bob, keep, {"isPublished": False})
    r = _harvest(db, hw, "beta-h")["beta-h"]
    assert r["removed"] == 1 and r["updated"] == 1
    assert _find(client, tag)["results"] == []  # gone for everyone not mapped to beta-team
    assert _find(client, tag, bearer(db, hw["u_alpha"]))["results"] == []
    mapped = _find(client, tag, bearer(db, hw["u_beta"]))["results"]
    assert [(r["pid"], r["isPublic"]) for r in mapped] == [(keep, False)]
    with db.session() as s:
        site = service.get_site(s, "beta-h")
        assert (
            site.status == "ok" and site.harvest_finished_at is not None and site.harvest_started_at is None
        )


def test_panosc_harvest_forgets_unpublished(client, db, hw, remotes):
    alpha, alice = remotes["alpha"], remotes["alice"]
    tag = "bilby" + uuid.uuid4().hex[:6]
    pid = alpha.dataset(alice, "alpha-team", f"{tag} public for now", isPublished=True)
    _harvest(db, hw, "alpha-pan")
    assert [r["pid"] for r in _find(client, tag)["results"]] == [pid]
    alpha.patch(alice, pid, {"isPublished": False})
    r = _harvest(db, hw, "alpha-pan")["alpha-pan"]
    assert r["status"] == "done" and r["removed"] == 1
    assert _find(client, tag)["results"] == []


def test_resumable_and_one_run_at_a_time(db, hw, remotes, settings):
    from halric.core.timeutil import utcnow
    from halric.federation import service
    from halric.federation.models import HarvestedRecord

    name = "beta-r" + uuid.uuid4().hex[:4]
    with db.session() as s:
        body = {"name": name, "url": remotes["beta"].base, "kind": "hub", "mode": "live"}
        site = service.add_site(s, hw["sys"], hw["box"], service.validate(body), token=hw["token"])
        site_id = site.id
    first = _harvest(db, hw, name, page_size=2, max_pages=2)[name]
    assert (first["status"], first["pages"], first["added"]) == ("partial", 2, 4)  # stopped, as if killed
    with db.session() as s:
        assert service.get_site(s, name).harvest_started_at is not None  # the run is still open
    rest = _harvest(db, hw, name, page_size=2)[name]
    total = _remote_count(remotes, hw["token"])
    assert rest["status"] == "done" and rest["added"] == total - 4 and rest["updated"] == 0
    with db.session() as s:
        from sqlalchemy import func, select

        n = s.scalar(select(func.count(HarvestedRecord.id)).where(HarvestedRecord.site_id == site_id))
        assert n == total
        site = service.get_site(s, name)
        site.harvest_lease_until, site.harvest_lease_owner = utcnow() + timedelta(minutes=5), "another-run"
    busy = _harvest(db, hw, name)[name]
    assert busy["status"] == "busy" and busy["added"] == 0
    # from cron: the CLI, one line of JSON per site
    with db.session() as s:
        service.get_site(s, name).harvest_lease_until = None
    env = {**os.environ, "HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(settings.data_dir),
           "HALRIC_SECRET_KEY": settings.secret_key}  # fmt: skip
    out = subprocess.run([sys.executable, "-m", "halric.cli.main", "sites", "harvest", name, "--json"], env=env,
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout)
    assert row["site"] == name and row["status"] == "done" and row["added"] == 0
