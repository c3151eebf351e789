"""The person's own data (GDPR, issue #17): download everything the hub holds about you, and erasing an
account with a successor and a pseudonym — on SQLite and PostgreSQL.

``world`` builds two people whose applications overlap (Erin owns one on which Finn is a co-applicant and
team member; Finn owns one on which Erin is both), catalog records that name each, a matchmaking question,
an expert profile, a job, mail, sessions and tokens, and an administrator's change of Erin's address (the
old one stays in the audit log). The erasure test then reads every text and JSON column of every table of
the database for anything that still names Erin.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import subprocess
import sys
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text, update
from tests.support.accounts import PASSWORD, bearer, csrf_from, signin
from tests.support.calls import complete_draft

from halric.accounts.models import ApiToken, User, WebSession
from halric.calls.models import Application, Collaborator, Decision, OutboxMessage, TeamMember
from halric.catalog.models import Dataset, Proposal, Sample
from halric.core.audit import AuditEvent


def new_orcid() -> str:
    """A valid ORCID iD (ISO 7064 11,2 check digit) of its own for each test's person."""
    digits = f"{uuid.uuid4().int % 10**15:015d}"
    total = 0
    for d in digits:
        total = (total + int(d)) * 2
    check = (12 - total % 11) % 11
    full = digits + ("X" if check == 10 else str(check))
    return "-".join(full[i : i + 4] for i in range(0, 16, 4))


@pytest.fixture(autouse=True)
def _registry(loaded):
    return loaded


def _add(
    db, username: str, email: str, roles: list[str], full_name: str = "", groups: list[str] | None = None
) -> int:
    from halric.accounts import service
    from halric.accounts.schemas import NewUser
    from halric.core.actor import system_actor

    with db.session() as s:
        user = service.create_user(
            s,
            system_actor("test"),
            NewUser(username=username, email=email, password=PASSWORD, roles=roles, full_name=full_name,
                    groups=groups or []),
        )  # fmt: skip
        return user.id


def _draft(client: TestClient, call_id: int, h: dict[str, str], team: list[dict[str, Any]]) -> int:
    app = client.post(f"/api/calls/{call_id}/applications", json={}, headers=h).json()
    r = client.put(
        f"/api/applications/{app['id']}", json=complete_draft(app["version"], team=team), headers=h
    )
    assert r.status_code == 200, r.text
    return app["id"]


def _member(name: str, email: str, org: str = "lu", country: str = "SE") -> dict[str, str]:
    return {"name": name, "email": email, "organisation_id": org, "country": country, "sector": "academia",
            "role": "researcher"}  # fmt: skip


def _invite_and_accept(client, db, aid: int, email: str, h_from: dict, h_to: dict) -> str:
    r = client.post(f"/api/applications/{aid}/invitations", json={"email": email, "kind": "co-applicant"},
                    headers=h_from)  # fmt: skip
    assert r.status_code == 201, r.text
    with db.session() as s:
        body = s.scalars(
            select(OutboxMessage.body).where(OutboxMessage.to == email).order_by(OutboxMessage.id)
        ).all()[-1]
    token = body.split("/calls/invitations/")[1].split()[0]
    assert client.post(f"/api/invitations/{token}/accept", headers=h_to).status_code == 200
    return token


@pytest.fixture()
def world(app, db) -> dict[str, Any]:
    """Erin (to be erased), Finn (overlapping applications), Sam (the successor), an admin, a coordinator."""
    from halric.core.actor import system_actor
    from halric.jobs import service as jobs
    from halric.match.models import MatchQuery
    from halric.registry.models import ExpertProfile

    tag = uuid.uuid4().hex[:8]
    letters = "".join(chr(ord("a") + int(c, 16) % 26) for c in tag)
    w: dict[str, Any] = {
        "orcid": new_orcid(), "tag": tag, "erin": f"erin.{tag}", "erin_email": f"erin.{tag}@uni.example.org", "erin_old": f"e.{tag}@old.example.org",
        "erin_name": f"Erin Åkesdotter {letters.capitalize()}", "finn": f"finn.{tag}",
        "finn_email": f"finn.{tag}@example.com", "finn_name": f"Finn Olsen {letters.upper()}",
        "sam": f"sam.{tag}", "sam_email": f"sam.{tag}@example.net", "sam_name": f"Sam Successor {letters}",
        "admin": f"adm.{tag}", "coo": f"coo.{tag}", "group": f"grp-{letters}", "finn_group": f"fgrp-{letters}",
    }  # fmt: skip
    w["erin_id"] = _add(db, w["erin"], w["erin_old"], ["applicant"], w["erin_name"], [w["group"]])
    w["finn_id"] = _add(db, w["finn"], w["finn_email"], ["applicant"], w["finn_name"], [w["finn_group"]])
    w["sam_id"] = _add(db, w["sam"], w["sam_email"], ["applicant"], w["sam_name"])
    w["admin_id"] = _add(db, w["admin"], f"{w['admin']}@example.org", ["admin"])
    _add(db, w["coo"], f"{w['coo']}@example.org", ["coordinator"])
    ha, hc = bearer(db, w["admin"]), bearer(db, w["coo"])
    with db.session() as s:
        s.execute(update(User).where(User.id == w["erin_id"]).values(orcid=w["orcid"]))
    # an administrator changes Erin's address: the old one is kept in the audit log of the change
    r = TestClient(app).patch(f"/api/admin/users/{w['erin_id']}", json={"email": w["erin_email"]}, headers=ha)
    assert r.status_code == 200, r.text
    he, hf = bearer(db, w["erin"]), bearer(db, w["finn"])
    w.update(he=he, hf=hf, ha=ha, hs=bearer(db, w["sam"]))
    with TestClient(app) as c:
        today = date.today()
        call = c.post("/api/calls", headers=hc, json={
            "slug": f"gdpr-{tag}", "title": "GDPR test call", "opens_on": (today - timedelta(days=1)).isoformat(),
            "deadline": (today + timedelta(days=60)).isoformat(), "budget_ceiling": "80000.00"}).json()  # fmt: skip
        # A: Erin's, with Finn in the team and as co-applicant; B: Finn's, with Erin in the team and as
        # co-applicant; C: Finn's alone
        w["app_a"] = _draft(c, call["id"], he, [_member(w["erin_name"], w["erin_email"]),
                                                 _member(w["finn_name"], w["finn_email"], "rigshospitalet", "DK")])  # fmt: skip
        w["app_b"] = _draft(c, call["id"], hf, [_member(w["finn_name"], w["finn_email"], "rigshospitalet", "DK"),
                                                 _member(w["erin_name"], w["erin_email"].upper())])  # fmt: skip
        w["app_c"] = _draft(
            c, call["id"], hf, [_member(w["finn_name"], w["finn_email"], "rigshospitalet", "DK")]
        )
        _invite_and_accept(c, db, w["app_a"], w["finn_email"], he, hf)
        w["erin_invitation"] = _invite_and_accept(c, db, w["app_b"], w["erin_email"], hf, he)
        for aid, h, words in ((w["app_b"], he, f"Ask {w['finn_name']} about the humidity range."),
                              (w["app_a"], hf, f"Agreed with {w['erin_name']} ({w['erin_email']}).")):  # fmt: skip
            assert (
                c.post(f"/api/applications/{aid}/comments", json={"text": words}, headers=h).status_code
                == 201
            )
        # catalog: Erin's dataset, proposal and sample (SciCat API), and one of Finn's
        body = {"datasetName": f"Tablet scan {tag}", "type": "raw", "ownerGroup": w["group"], "owner": w["erin_name"],
                "ownerEmail": w["erin_email"], "contactEmail": w["erin_email"], "orcidOfOwner": f"https://orcid.org/{w['orcid']}",
                "principalInvestigators": [w["erin_name"]], "sourceFolder": f"/data/{tag}",
                "creationTime": "2026-01-02T03:04:05Z", "proposalIds": [f"P-{tag}"],
                "scientificMetadata": {"operator": {"value": f"{w['erin_name']} <{w['erin_email']}>"}}}  # fmt: skip
        r = c.post("/api/v4/datasets", json=body, headers=he)
        assert r.status_code == 201, r.text
        w["pid"] = r.json()["pid"]
        r = c.post("/api/v4/datasets", headers=hf, json={**body, "datasetName": f"Finn's {tag}", "ownerGroup": w["finn_group"],
                   "owner": w["finn_name"], "ownerEmail": w["finn_email"], "contactEmail": w["finn_email"],
                   "orcidOfOwner": None, "principalInvestigators": [w["finn_name"]], "scientificMetadata": {},
                   "sourceFolder": f"/data/f{tag}"})  # fmt: skip
        assert r.status_code == 201, r.text
        w["finn_pid"] = r.json()["pid"]
        r = c.post("/api/v3/Proposals", headers=he, json={"proposalId": f"P-{tag}", "ownerGroup": w["group"],
                   "title": "Tablets", "email": w["erin_email"], "firstname": "Erin", "lastname": w["erin_name"].split(" ", 1)[1],
                   "pi_email": w["erin_email"]})  # fmt: skip
        assert r.status_code in (200, 201), r.text
        r = c.post("/api/v3/Samples", headers=he, json={"ownerGroup": w["group"], "sampleName": f"tablet {tag}",
                                                         "owner": w["erin_name"]})  # fmt: skip
        assert r.status_code in (200, 201), r.text
        w["sample"] = r.json()["sampleId"]
    with db.session() as s:
        s.add(Decision(application_id=w["app_a"], outcome="revise", decided_by=w["admin_id"],
                       letter=f"Dear {w['erin_name']},\n\nplease revise the budget."))  # fmt: skip
        s.add(MatchQuery(user_id=w["erin_id"], question=f"Who at MAX IV can help {w['erin_name']} with tablets?",
                         best_score=0.5, no_good_match=False, method="test", elapsed_ms=1.0))  # fmt: skip
        s.add(ExpertProfile(user_id=w["erin_id"], display_name=w["erin_name"], contact_email=w["erin_email"],
                            bio="Pharmaceutical crystallography."))  # fmt: skip
        from halric.accounts.service import actor_for
        from halric.calls.models import Project
        from halric.projects import service as projects

        # A runs as a project: its space (group pilot-<id> with the team, proposal HALRIC-<id>)
        s.add(
            Project(
                application_id=w["app_a"], started_on=date.today(), ends_on=date.today() + timedelta(days=180)
            )
        )
        s.flush()
        projects.create_space(s, system_actor("test"), w["app_a"])
        # and Erin is registered as a visitor of its access visit
        from halric.calls.models import Visit, Visitor

        visit = Visit(application_id=w["app_a"], instrument_id="maxiv-danmax")
        s.add(visit)
        s.flush()
        s.add(Visitor(visit_id=visit.id, name=w["erin_name"], organisation_id="lu", email=w["erin_email"],
                      arrives_on=date.today(), departs_on=date.today(), feedback_token_hash="f" * 40 + w["tag"]))  # fmt: skip

        erin = s.get(User, w["erin_id"])
        jobs.enqueue(s, actor_for(erin, ip="192.0.2.7"), "mail.send")
        jobs.enqueue(s, system_actor("test"), "mail.send")
    return w


def _export(client, h) -> dict[str, Any]:
    r = client.get("/api/account/export", headers=h)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"].startswith('attachment; filename="halric-personal-data-')
    assert r.headers["cache-control"] == "no-store"
    return r.json()


def test_export_holds_the_persons_items_and_not_other_peoples(client, world, db, settings):
    w = world
    signin(client, w["erin"])  # a browser session with its address
    doc = _export(client, w["he"])
    raw = json.dumps(doc, ensure_ascii=False)
    assert doc["format"] == "halric-personal-data/1" and doc["about"]["username"] == w["erin"]
    acc = doc["account"]
    assert (acc["email"], acc["full_name"], acc["orcid"]) == (w["erin_email"], w["erin_name"], w["orcid"])
    assert acc["password"]["set"] is True and "hash" in acc["password"]["note"]
    assert doc["roles"] == ["applicant"]
    assert doc["groups"] == sorted([{"name": w["group"], "given_by": "an administrator"},
                                    {"name": f"pilot-{w['app_a']}", "given_by": f"project:{w['app_a']}"}],
                                   key=lambda g: g["name"])  # fmt: skip
    assert doc["sessions"] and doc["sessions"][0]["client_address"] == "testclient"
    assert {t["name"] for t in doc["api_tokens"]} == {"test"}

    apps = {a["id"]: a for a in doc["applications"]}
    assert set(apps) == {w["app_a"], w["app_b"]}  # C is Finn's alone
    assert apps[w["app_a"]]["your_relation"] == ["owner", "team member"]
    assert apps[w["app_b"]]["your_relation"] == ["co-applicant", "team member"]
    for a in apps.values():  # one's own team row, and only a count of the others
        assert [t["name"] for t in a["you_in_the_team"]] == [w["erin_name"]] and a["other_team_members"] == 1
    assert "content" in apps[w["app_a"]] and apps[w["app_a"]]["decisions"][0]["outcome"] == "revise"
    assert [c["application_id"] for c in doc["comments"]] == [w["app_b"]]
    assert [m["to"] for m in doc["mail"]] == [w["erin_email"]]  # the invitation to B
    assert "[link code removed]" in doc["mail"][0]["body"]

    assert [d["pid"] for d in doc["datasets"]] == [w["pid"]]
    assert set(doc["datasets"][0]["you_are"]) >= {
        "owner",
        "contact",
        "owner (ORCID iD)",
        "principal investigator",
    }
    assert {p["proposalId"]: p["you_are"] for p in doc["proposals"]} == {
        f"P-{w['tag']}": ["contact", "principal investigator", "created it"],
        f"HALRIC-{w['app_a']}": ["contact", "principal investigator"],  # the project's, made by the hub
    }
    assert [x["sampleId"] for x in doc["samples"]] == [w["sample"]]
    assert [(v["application_id"], v["name"]) for v in doc["visits"]] == [(w["app_a"], w["erin_name"])]
    assert doc["match_questions"][0]["question"].startswith("Who at MAX IV")
    assert doc["expert_profile"]["contact_email"] == w["erin_email"]
    assert [j["kind"] for j in doc["jobs"]] == ["mail.send"]
    events = doc["audit_log"]
    assert any(e["action"] == "sign-in" and e["by"] == "you" and e["client_address"] for e in events)
    change = next(e for e in events if e["action"] == "update" and e["entity_id"] == str(w["erin_id"]))
    assert change["by"] == "another account" and change["details"]["email"]["from"] == w["erin_old"]
    invite = next(e for e in events if e["action"] == "invite" and e["entity_id"] == str(w["app_b"]))
    assert invite["by"] == "another account" and "details" not in invite  # names Erin; Finn's act, no details

    # nothing of Finn's own: his address, his application C, his dataset, his comment on A
    for theirs in (w["finn_email"], w["finn_pid"], f"Agreed with {w['erin_name']}"):
        assert theirs not in raw, theirs
    assert str(w["app_c"]) not in {str(a["id"]) for a in doc["applications"]}

    # no secrets: password hash, token and session hashes, CSRF tokens, link codes, the bearer token
    with db.session() as s:
        erin = s.get(User, w["erin_id"])
        secrets = [
            erin.password_hash,
            *s.scalars(select(ApiToken.token_hash).where(ApiToken.user_id == erin.id)),
        ]
        for ws in s.scalars(select(WebSession).where(WebSession.user_id == erin.id)):
            secrets += [ws.token_hash, ws.csrf_token]
    secrets += [w["he"]["Authorization"].split()[1], w["erin_invitation"]]
    assert all(x and x not in raw for x in secrets)
    assert "$argon2" not in raw

    with db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "export-personal-data",
                                                AuditEvent.entity_id == str(w["erin_id"]))).all()  # fmt: skip
        assert ev and ev[-1].actor_name == w["erin"] and ev[-1].details == {"by": "self"}


def test_export_from_the_account_page_and_for_administrators(client, world):
    w = world
    signin(client, w["erin"])
    page = client.get("/account")
    assert (
        'href="/account/export"' in page.text and "Download everything the hub holds about you" in page.text
    )
    r = client.get("/account/export")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert r.json()["account"]["username"] == w["erin"]
    anon = TestClient(client.app)
    assert anon.get("/api/account/export").status_code == 401
    assert anon.get("/account/export", follow_redirects=False).status_code in (303, 401)
    # an administrator downloads it on the person's behalf; nobody else can
    assert (
        client.get(f"/admin/users/{w['erin_id']}/export", headers=w["ha"]).json()["about"]["user_id"]
        == w["erin_id"]
    )
    assert client.get(f"/admin/users/{w['erin_id']}/export", headers=w["hf"]).status_code == 403
    schema = client.get("/api/openapi.json").json()
    assert "get" in schema["paths"]["/api/account/export"]
    assert "post" in schema["paths"]["/api/admin/users/{user_id}/erase"]


# --- erasure ------------------------------------------------------------------------------------------


def _identifiers(w: dict[str, Any]) -> dict[str, str]:
    return {"e-mail": w["erin_email"], "old e-mail": w["erin_old"], "name": w["erin_name"],
            "user name": w["erin"], "ORCID iD": w["orcid"]}  # fmt: skip


def _traces(db, needles: dict[str, str]) -> list[str]:
    """Every place in the database (any table, any text or JSON column, read as the database stores it and
    decoded) where one of ``needles`` still appears, case-blind."""
    found = []
    low = {k: v.lower() for k, v in needles.items()}
    insp = inspect(db.engine)
    with db.engine.connect() as conn:
        for table in insp.get_table_names():
            cols = [c["name"] for c in insp.get_columns(table)
                    if re.search(r"CHAR|TEXT|JSON|CLOB|STRING", str(c["type"]).upper())]  # fmt: skip
            for col in cols:
                q = text(f'SELECT CAST("{col}" AS TEXT) FROM "{table}" WHERE "{col}" IS NOT NULL')
                for (value,) in conn.execute(q):
                    forms = [value.lower()]
                    with contextlib.suppress(ValueError):
                        forms.append(json.dumps(json.loads(value), ensure_ascii=False).lower())
                    for what, needle in low.items():
                        if any(needle in f for f in forms):
                            found.append(f"{table}.{col}: {what} in {value[:120]!r}")
    return found


def test_erase_hands_everything_to_the_successor_and_leaves_no_trace(client, world, db, settings):
    from halric.core.personal import pseudonym_for

    w = world
    signin(client, w["erin"])
    erin_cookie = dict(client.cookies)
    before = _traces(db, _identifiers(w))
    assert len(before) > 30, before  # the world names Erin in many places
    assert any(t.startswith("audit_events.details: old e-mail") for t in before)

    r = client.post(
        f"/api/admin/users/{w['erin_id']}/erase", json={"successor_id": w["sam_id"]}, headers=w["ha"]
    )
    assert r.status_code == 200, r.text
    out = r.json()
    pseudonym = pseudonym_for(settings.signing_key, w["erin_id"], w["erin_email"]).name
    assert out["pseudonym"] == pseudonym and re.fullmatch(r"erased-[0-9a-f]{16}", pseudonym)
    assert out["successor"] == w["sam"]
    assert out["handed_over"] == {"groups": [w["group"]], "applications": 1, "datasets": 1, "proposals": 2,
                                  "samples": 1, "published_data": 0, "project_spaces": 1}  # fmt: skip

    assert _traces(db, _identifiers(w)) == []

    with db.session() as s:
        erin = s.get(User, w["erin_id"])
        assert (erin.username, erin.email) == (pseudonym, f"{pseudonym}@invalid")
        assert erin.erased_at and not erin.is_active and erin.password_hash is None and erin.orcid is None
        assert erin.full_name == "" and erin.role_names == [] and erin.group_names == []
        assert not s.scalars(select(WebSession).where(WebSession.user_id == erin.id)).all()
        assert not s.scalars(select(ApiToken).where(ApiToken.user_id == erin.id)).all()
        # handed over: the application, the dataset's owner and contact, the proposal, the sample, the group
        assert s.get(Application, w["app_a"]).owner_id == w["sam_id"]
        ds = s.get(Dataset, w["pid"])
        assert (ds.owner, ds.owner_email, ds.contact_email, ds.orcid_of_owner) == (
            w["sam_name"], w["sam_email"], w["sam_email"], None)  # fmt: skip
        assert ds.principal_investigators == [pseudonym] and ds.created_by == pseudonym
        prop = s.get(Proposal, f"P-{w['tag']}")
        assert (prop.email, prop.firstname, prop.pi_email) == (w["sam_email"], "Sam", f"{pseudonym}@invalid")
        assert s.get(Sample, w["sample"]).owner == w["sam_name"]
        assert w["group"] in s.get(User, w["sam_id"]).group_names
        # the project space follows: the successor is in the team's group, the proposal names them
        assert f"pilot-{w['app_a']}" in s.get(User, w["sam_id"]).group_names
        assert f"pilot-{w['app_a']}" in s.get(User, w["finn_id"]).group_names  # the co-applicant stays
        pilot = s.get(Proposal, f"HALRIC-{w['app_a']}")
        assert (pilot.email, pilot.pi_email) == (w["sam_email"], w["sam_email"])
        # pseudonymised: team rows, collaborator rows, the audit trail (kept, addresses gone)
        rows = s.scalars(select(TeamMember).where(TeamMember.email == f"{pseudonym}@invalid")).all()
        assert {t.application_id for t in rows} == {w["app_a"], w["app_b"]} and {t.name for t in rows} == {
            pseudonym
        }
        from halric.calls.models import Visitor

        visitor = s.scalars(select(Visitor).where(Visitor.email == f"{pseudonym}@invalid")).one()
        assert visitor.name == pseudonym and visitor.feedback_token_hash is None
        collab = s.scalars(select(Collaborator).where(Collaborator.user_id == erin.id)).one()
        assert collab.email == f"{pseudonym}@invalid" and collab.token_hash is None
        mine = s.scalars(select(AuditEvent).where(AuditEvent.actor_id == erin.id)).all()
        assert mine and {e.actor_name for e in mine} == {pseudonym} and {e.ip for e in mine} == {None}
        erase = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "erase", AuditEvent.entity_id == str(erin.id))
        ).one()
        assert erase.actor_name == w["admin"] and erase.details["successor"] == w["sam"]
        assert erase.details["successor_id"] == w["sam_id"]
        # the successor is told, without the person's name
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.to == w["sam_email"])).all()
        assert len(told) == 1 and "1 application(s)" in told[0].body and pseudonym in told[0].body
        # Finn's things are untouched
        assert s.get(Dataset, w["finn_pid"]).owner_email == w["finn_email"]
        assert s.get(Application, w["app_b"]).owner_id == w["finn_id"]
        assert {t.email for t in s.get(Application, w["app_c"]).team} == {w["finn_email"]}

    # the successor reads and changes the dataset through the group it was given
    r = client.get(f"/api/v3/Datasets/{w['pid'].replace('/', '%2F')}", headers=w["hs"])
    assert r.status_code == 200 and r.json()["ownerEmail"] == w["sam_email"]
    assert client.get(f"/api/applications/{w['app_a']}", headers=w["hs"]).status_code == 200
    # the erased account cannot sign in any more, by password, token or its old session
    assert client.get("/api/me", headers=w["he"]).status_code == 401
    anon = TestClient(client.app)
    anon.cookies.update(erin_cookie)
    assert anon.get("/api/me").status_code == 401
    page = anon.get("/signin")
    r = anon.post(
        "/signin", data={"username": w["erin"], "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 401
    # and it cannot be erased twice, nor given a password or changed
    again = client.post(
        f"/api/admin/users/{w['erin_id']}/erase", json={"successor_id": w["sam_id"]}, headers=w["ha"]
    )
    assert again.status_code == 409 and "erased already" in again.json()["detail"]
    r = client.put(
        f"/api/admin/users/{w['erin_id']}/password", json={"password": "another-long-one"}, headers=w["ha"]
    )
    assert r.status_code == 409
    r = client.patch(f"/api/admin/users/{w['erin_id']}", json={"is_active": True}, headers=w["ha"])
    assert r.status_code == 409
    page = client.get(f"/admin/users/{w['erin_id']}", headers=w["ha"])
    assert "Erased on" in page.text and "Erase this account" not in page.text
    listing = client.get("/admin/users", headers=w["ha"]).text
    row = listing[listing.index(f'href="/admin/users/{w["erin_id"]}"') :].split("</tr>")[0]
    assert "<td>erased</td>" in row and "Activate" not in row
    assert client.get("/api/account/export", headers=w["hs"]).status_code == 200


def test_erase_is_refused_with_a_reason(client, world, db):
    w = world
    url = f"/api/admin/users/{w['erin_id']}/erase"
    r = client.post(url, json={"successor_id": w["sam_id"]}, headers=w["hf"])
    assert r.status_code == 403
    r = client.post(url, json={}, headers=w["ha"])
    assert r.status_code == 400 and r.json()["field"] == "successor" and "successor" in r.json()["detail"]
    r = client.post(url, json={"successor_id": w["erin_id"]}, headers=w["ha"])
    assert r.status_code == 400 and "another account" in r.json()["detail"]
    r = client.post(url, json={"successor_id": 2**31 - 1}, headers=w["ha"])
    assert r.status_code == 400 and "no account" in r.json()["detail"]
    r = client.patch(f"/api/admin/users/{w['finn_id']}", json={"is_active": False}, headers=w["ha"])
    assert r.status_code == 200
    r = client.post(url, json={"successor_id": w["finn_id"]}, headers=w["ha"])
    assert r.status_code == 400 and "not an active account" in r.json()["detail"]
    r = client.post(
        f"/api/admin/users/{w['admin_id']}/erase", json={"successor_id": w["sam_id"]}, headers=w["ha"]
    )
    assert r.status_code == 409 and "your own account" in r.json()["detail"]
    assert client.post("/api/admin/users/999999999/erase", json={"successor_id": w["sam_id"]},
                       headers=w["ha"]).status_code == 404  # fmt: skip
    with db.session() as s:
        erin = s.get(User, w["erin_id"])
        assert erin.erased_at is None and erin.email == w["erin_email"]
        assert not s.scalars(select(AuditEvent).where(AuditEvent.action == "erase",
                                                      AuditEvent.entity_id == str(w["erin_id"]))).all()  # fmt: skip


def test_the_last_active_administrator_is_not_erased(db, world, settings):
    """On a database whose only active administrator is one account (the others made inactive inside the
    transaction), erasing it is refused, even by the command line's system actor."""
    from halric.accounts.models import UserRole
    from halric.core.actor import system_actor
    from halric.core.errors import Conflict
    from halric.gdpr.erase import erase_account

    w = world
    with db.session() as s:
        others = [u for (u,) in s.execute(select(UserRole.user_id).where(UserRole.role == "admin",
                                                                        UserRole.user_id != w["admin_id"]))]  # fmt: skip
        s.execute(update(User).where(User.id.in_(others)).values(is_active=False))
        with pytest.raises(Conflict, match="last active administrator"):
            erase_account(s, system_actor("test"), w["admin_id"], w["sam_id"], secret=settings.signing_key)
        s.rollback()


@pytest.mark.parametrize("where", ["after the applications", "at the very end"])
def test_erasure_is_one_transaction(db, world, settings, monkeypatch, where):
    """A failure midway (after the calls domain handed over) or after everything (the sweep done, the audit
    entry written) leaves the database exactly as it was."""
    from halric.core.actor import system_actor
    from halric.gdpr import erase as erase_mod

    w = world

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    if where == "after the applications":
        monkeypatch.setattr(erase_mod.catalog, "hand_over", boom)
    else:
        monkeypatch.setattr(erase_mod, "_tell_successor", boom)
    before = _traces(db, _identifiers(w))
    with pytest.raises(RuntimeError, match="disk full"), db.session() as s:
        erase_mod.erase_account(
            s, system_actor("test"), w["erin_id"], w["sam_id"], secret=settings.signing_key
        )
    assert _traces(db, _identifiers(w)) == before
    with db.session() as s:
        erin = s.get(User, w["erin_id"])
        assert (erin.username, erin.email, erin.erased_at, erin.is_active) == (
            w["erin"],
            w["erin_email"],
            None,
            True,
        )
        assert s.get(Application, w["app_a"]).owner_id == w["erin_id"]
        assert s.scalars(select(ApiToken).where(ApiToken.user_id == erin.id)).all()
        q = select(AuditEvent).where(AuditEvent.action == "erase", AuditEvent.entity_id == str(erin.id))
        assert s.scalars(q).all() == []


def test_erase_page_asks_for_a_successor_and_the_address(client, world, db):
    w = world
    page = client.get(f"/admin/users/{w['erin_id']}", headers=w["ha"])
    assert f'href="/admin/users/{w["erin_id"]}/erase"' in page.text
    form = client.get(f"/admin/users/{w['erin_id']}/erase", headers=w["ha"])
    assert form.status_code == 200 and w["sam"] in form.text
    assert f'<option value="{w["erin_id"]}"' not in form.text  # not its own successor
    signin(client, w["admin"])
    csrf = csrf_from(client.get(f"/admin/users/{w['erin_id']}/erase").text)
    url = f"/admin/users/{w['erin_id']}/erase"
    r = client.post(
        url, data={"csrf_token": csrf, "successor": str(w["sam_id"]), "confirm_email": "wrong@example.org"}
    )
    assert (
        r.status_code == 400 and 'id="err-confirm_email"' in r.text and 'value="wrong@example.org"' in r.text
    )
    r = client.post(url, data={"csrf_token": csrf, "successor": "", "confirm_email": w["erin_email"]})
    assert r.status_code == 400 and 'id="err-successor"' in r.text
    with db.session() as s:
        assert s.get(User, w["erin_id"]).erased_at is None
    r = client.post(url, data={"csrf_token": csrf, "successor": str(w["sam_id"]), "confirm_email": w["erin_email"].upper()},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"/admin/users/{w['erin_id']}?erased=1"
    assert 'id="erased"' in client.get(r.headers["location"]).text
    assert client.get(f"/admin/users/{w['erin_id']}/erase").status_code == 200  # says it is erased already


# --- the command line ----------------------------------------------------------------------------------


def _cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(settings.data_dir),
           "HALRIC_SECRET_KEY": settings.signing_key}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "halric.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=180)  # fmt: skip


def _one_line_error(r: subprocess.CompletedProcess[str], words: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("halric: error:") and words in r.stderr, r.stderr


def test_cli_export_and_erase(settings, world, db, tmp_path):
    w = world
    out = tmp_path / "erin.json"
    r = _cli(settings, "user", "export", w["erin_email"].upper(), "--out", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["account"]["username"] == w["erin"] and {a["id"] for a in doc["applications"]} == {
        w["app_a"],
        w["app_b"],
    }
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    _one_line_error(_cli(settings, "user", "export", w["erin_email"], "--out", str(out)), "exists already")
    _one_line_error(_cli(settings, "user", "export", "nobody@example.org", "--out", str(tmp_path / "n.json")),
                    "No account")  # fmt: skip
    _one_line_error(_cli(settings, "user", "export", w["erin_email"], "--out", str(tmp_path / "no" / "x.json")),
                    "does not exist")  # fmt: skip

    _one_line_error(
        _cli(settings, "user", "erase", w["erin_email"], "--successor", "nobody@example.org"), "No account"
    )
    _one_line_error(
        _cli(settings, "user", "erase", w["erin_email"], "--successor", w["erin_email"]), "another account"
    )
    with db.session() as s:
        assert s.get(User, w["erin_id"]).erased_at is None
    r = _cli(settings, "user", "erase", w["erin_email"], "--successor", w["sam_email"], "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["successor"] == w["sam"] and summary["handed_over"]["applications"] == 1
    assert _traces(db, _identifiers(w)) == []
    _one_line_error(_cli(settings, "user", "erase", summary["pseudonym"] + "@invalid", "--successor", w["sam_email"]),
                    "erased already")  # fmt: skip
