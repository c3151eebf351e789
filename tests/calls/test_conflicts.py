"""Conflicts of interest: a member in conflict (declared or from a team organisation) neither reads nor
scores the application, sees it only as "excluded" in the ranking, and only a coordinator lifts a
declared conflict (audited)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from tests.support.accounts import bearer
from tests.support.calls import complete_draft

SCORES = {"excellence": 4, "impact": 5, "collaboration": 3}


@pytest.fixture()
def in_committee(client, people, open_call):
    """An application in committee review (team from Lund University and Rigshospitalet), its title."""
    ha, hc = people["applicant"]["h"], people["coordinator"]["h"]
    title = f"Conflict study {uuid.uuid4().hex[:8]}"
    app = client.post(f"/api/calls/{open_call['id']}/applications", json={}, headers=ha).json()
    aid = app["id"]
    assert client.put(f"/api/applications/{aid}", json=complete_draft(app["version"], title=title),
                      headers=ha).status_code == 200  # fmt: skip
    assert client.post(f"/api/applications/{aid}/submit", headers=ha).status_code == 200

    def move(target: str):
        return client.post(f"/api/applications/{aid}/transition", json={"target": target}, headers=hc)

    assert move("feasibility").status_code == 200
    body = {"infrastructure_id": "maxiv", "verdict": "feasible", "comments": ""}
    assert client.post(f"/api/applications/{aid}/feasibility", json=body,
                       headers=people["maxiv_staff"]["h"]).status_code == 200  # fmt: skip
    assert move("committee").status_code == 200
    return aid, title


def _user_id(db, name: str) -> int:
    from halric.accounts.models import User

    with db.session() as s:
        return s.scalar(select(User.id).where(User.username == name))


def _ranking_row(client, call_id: int, aid: int, h: dict[str, str]) -> dict:
    rows = client.get(f"/api/calls/{call_id}/ranking", headers=h).json()
    return next(r for r in rows if r["application_id"] == aid)


def test_declared_conflict_excludes_until_a_coordinator_lifts_it(
    client, people, open_call, in_committee, make_user, db
):
    from halric.calls.models import CommitteeReview
    from halric.core.audit import AuditEvent

    aid, title = in_committee
    name = make_user(["committee"], prefix="comx", organisation="dtu")
    h, hc = bearer(db, name), people["coordinator"]["h"]
    assert client.get(f"/api/applications/{aid}", headers=h).status_code == 200  # not in conflict yet
    r = client.post(f"/api/applications/{aid}/review", json={"conflict": True, "conflict_reason": "Former PhD advisor"},
                    headers=h)  # fmt: skip
    assert r.status_code == 200 and r.json()["conflict"] is True

    # reading: the application, its PDF, its page (with the reviews on it) are refused with the reason
    for path in (f"/api/applications/{aid}", f"/api/applications/{aid}/pdf", f"/applications/{aid}/pdf"):
        r = client.get(path, headers=h)
        assert r.status_code == 403, path
        assert "excluded from this application because of a declared conflict of interest" in r.text
    page = client.get(f"/applications/{aid}", headers=h)
    assert page.status_code == 403 and "declared conflict of interest" in page.text and title not in page.text
    assert aid not in [a["id"] for a in client.get("/api/applications", headers=h).json()]

    # scoring afterwards is refused and does not clear the conflict
    r = client.post(f"/api/applications/{aid}/review", json={"scores": SCORES}, headers=h)
    assert r.status_code == 409 and "declared conflict of interest" in r.json()["detail"]
    with db.session() as s:
        row = s.scalar(select(CommitteeReview).where(CommitteeReview.application_id == aid,
                                                     CommitteeReview.member_id == _user_id(db, name)))  # fmt: skip
        assert row.conflict is True and row.scores == {} and row.conflict_reason == "Former PhD advisor"

    # the ranking shows the row as excluded: no title, state or scores (API and page)
    mine = _ranking_row(client, open_call["id"], aid, h)
    assert mine["excluded"] == "conflict of interest"
    assert (
        mine["title"] is None and mine["state"] is None and mine["mean"] is None and mine["reviews"] is None
    )
    page = client.get(f"/calls/{open_call['id']}/ranking", headers=h)
    assert (
        page.status_code == 200 and "excluded: conflict of interest" in page.text and title not in page.text
    )
    assert _ranking_row(client, open_call["id"], aid, hc)["title"] == title  # the coordinator sees it

    # only a coordinator lifts it, with a reason; the lift is audited
    member_id = _user_id(db, name)
    lift = f"/api/applications/{aid}/conflicts/{member_id}/lift"
    assert client.post(lift, json={"reason": "I lift my own"}, headers=h).status_code == 403
    assert client.post(lift, json={"reason": ""}, headers=hc).status_code == 400
    assert client.post(lift, json={"reason": "Advisor relation ended in 2015"}, headers=hc).status_code == 200
    with db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "lift-conflict",
                                                AuditEvent.entity_id == str(aid))).all()  # fmt: skip
        assert ev and ev[-1].details["member"] == name and "2015" in ev[-1].details["reason"]
    assert (
        client.post(lift, json={"reason": "Advisor relation ended"}, headers=hc).status_code == 404
    )  # nothing left
    assert client.get(f"/api/applications/{aid}", headers=h).status_code == 200
    r = client.post(f"/api/applications/{aid}/review", json={"scores": SCORES}, headers=h)
    assert r.status_code == 200 and r.json()["conflict"] is False
    assert _ranking_row(client, open_call["id"], aid, h)["title"] == title


def test_team_organisation_conflict_cannot_read_score_or_be_lifted(
    client, people, open_call, in_committee, db
):
    aid, _ = in_committee
    h, hc = people["member_lu"]["h"], people["coordinator"]["h"]  # Lund University is in the team
    for path in (f"/api/applications/{aid}", f"/api/applications/{aid}/pdf"):
        r = client.get(path, headers=h)
        assert r.status_code == 403 and "conflict of interest" in r.json()["detail"], path
    r = client.post(f"/api/applications/{aid}/review", json={"scores": SCORES}, headers=h)
    assert r.status_code == 409 and "conflict of interest" in r.json()["detail"]
    assert _ranking_row(client, open_call["id"], aid, h)["excluded"] == "conflict of interest"
    member_id = _user_id(db, people["member_lu"]["name"])
    r = client.post(
        f"/api/applications/{aid}/conflicts/{member_id}/lift", json={"reason": "Please let me"}, headers=hc
    )
    assert r.status_code == 409 and r.json()["field"] == "member_id"
    # someone with no part in the application still gets 404 (existence not revealed)
    assert client.get(f"/api/applications/{aid}", headers=people["other"]["h"]).status_code == 404


def test_excluded_rows_come_last_whatever_their_score(client, people, open_call, in_committee, make_user, db):
    aid, _ = in_committee
    name = make_user(["committee"], prefix="comy", organisation="dtu")
    h = bearer(db, name)
    assert client.post(f"/api/applications/{aid}/review", json={"scores": {k: 5 for k in SCORES}},
                       headers=people["member_dtu"]["h"]).status_code == 200  # fmt: skip
    client.post(
        f"/api/applications/{aid}/review", json={"conflict": True, "conflict_reason": "Co-author"}, headers=h
    )
    rows = client.get(f"/api/calls/{open_call['id']}/ranking", headers=h).json()
    excluded = [n for n, r in enumerate(rows) if r["excluded"]]
    assert excluded and excluded == list(range(len(rows) - len(excluded), len(rows)))


def test_coordinator_lifts_a_declared_conflict_on_the_page(
    client, people, open_call, in_committee, make_user, db
):
    from tests.support.accounts import csrf_from, signin

    aid, _ = in_committee
    name = make_user(["committee"], prefix="comz", organisation="dtu")
    h = bearer(db, name)
    client.post(
        f"/api/applications/{aid}/review", json={"conflict": True, "conflict_reason": "Same lab"}, headers=h
    )
    signin(client, people["coordinator"]["name"])
    page = client.get(f"/applications/{aid}")
    assert "Lift the declared conflict" in page.text
    r = client.post(f"/applications/{aid}/action", data={"do": "lift-conflict", "member_id": str(_user_id(db, name)),
                                                         "reason": "Left the lab in 2019", "csrf_token": csrf_from(page.text)},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert client.get(f"/api/applications/{aid}", headers=h).status_code == 200
