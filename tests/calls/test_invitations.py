"""Invitations are bound to the invited address: only the account with that address accepts, once,
within the validity period; a refused attempt does not use the invitation up."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from tests.support.accounts import bearer
from tests.support.calls import complete_draft


def _invite(client, db, aid: int, email: str, h: dict[str, str], kind: str = "co-applicant") -> str:
    from halric.calls.models import OutboxMessage

    r = client.post(f"/api/applications/{aid}/invitations", json={"email": email, "kind": kind}, headers=h)
    assert r.status_code == 201, r.text
    with db.session() as s:
        body = s.scalars(select(OutboxMessage.body).where(OutboxMessage.to == email.lower())
                         .order_by(OutboxMessage.id)).all()[-1]  # fmt: skip
    assert "only for that account" in body
    return body.split("/calls/invitations/")[1].split()[0]


def _draft(client, people, open_call) -> int:
    h = people["applicant"]["h"]
    app = client.post(f"/api/calls/{open_call['id']}/applications", json={}, headers=h).json()
    assert (
        client.put(
            f"/api/applications/{app['id']}", json=complete_draft(app["version"]), headers=h
        ).status_code
        == 200
    )
    return app["id"]


def test_only_the_invited_account_accepts_once(client, people, open_call, make_user, db):
    aid = _draft(client, people, open_call)
    bob, carol = make_user(["applicant"], prefix="bob"), make_user(["applicant"], prefix="carol")
    hb, hcarol = bearer(db, bob), bearer(db, carol)
    token = _invite(
        client, db, aid, f"{bob.upper()}@example.org", people["applicant"]["h"]
    )  # case does not matter

    # carol holds the link: refused with the reason, on the API and on the page, and nothing is used up
    r = client.post(f"/api/invitations/{token}/accept", headers=hcarol)
    assert r.status_code == 403
    assert f"sent to {bob[0]}…@example.org" in r.json()["detail"] and carol in r.json()["detail"]
    page = client.get(f"/calls/invitations/{token}", headers=hcarol)
    assert page.status_code == 403 and "sent to" in page.text and "Accept the invitation" not in page.text
    page = client.post(f"/calls/invitations/{token}", headers=hcarol)
    assert page.status_code == 403 and 'role="alert"' in page.text
    assert client.get(f"/api/applications/{aid}", headers=hcarol).status_code == 404
    assert client.put(f"/api/applications/{aid}", json=complete_draft(99), headers=hcarol).status_code == 404

    # bob, the invited address, accepts and may edit; the link then stops working
    assert client.get(f"/calls/invitations/{token}", headers=hb).status_code == 200
    r = client.post(f"/api/invitations/{token}/accept", headers=hb)
    assert r.status_code == 200 and r.json()["application_id"] == aid
    version = client.get(f"/api/applications/{aid}", headers=hb).json()["version"]
    assert client.put(f"/api/applications/{aid}", json=complete_draft(version, title="Bob's edit"),
                      headers=hb).status_code == 200  # fmt: skip
    assert client.post(f"/api/invitations/{token}/accept", headers=hb).status_code == 404
    assert client.post(f"/api/invitations/{token}/accept", headers=hcarol).status_code == 404


def test_invitation_expires_and_can_be_sent_again(client, people, open_call, make_user, db):
    from halric.calls import service
    from halric.calls.models import Collaborator
    from halric.core.timeutil import utcnow

    aid = _draft(client, people, open_call)
    dave = make_user(["applicant"], prefix="dave")
    hd, email = bearer(db, dave), f"{dave}@example.org"
    token = _invite(client, db, aid, email, people["applicant"]["h"])
    # a second invitation while the first is valid is refused
    r = client.post(
        f"/api/applications/{aid}/invitations", json={"email": email}, headers=people["applicant"]["h"]
    )
    assert r.status_code == 409
    with db.session() as s:
        s.execute(update(Collaborator).where(Collaborator.email == email)
                  .values(invited_at=utcnow() - timedelta(days=service.INVITATION_DAYS, minutes=1)))  # fmt: skip
    r = client.post(f"/api/invitations/{token}/accept", headers=hd)
    assert r.status_code == 409 and "expired" in r.json()["detail"]
    assert client.get(f"/api/applications/{aid}", headers=hd).status_code == 404
    fresh = _invite(client, db, aid, email, people["applicant"]["h"])
    assert fresh != token
    assert (
        client.post(f"/api/invitations/{token}/accept", headers=hd).status_code == 404
    )  # the old link is gone
    assert client.post(f"/api/invitations/{fresh}/accept", headers=hd).status_code == 200
    assert client.get(f"/api/applications/{aid}", headers=hd).status_code == 200
