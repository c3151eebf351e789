"""People open their own account and get back into it: sign-up confirmed by e-mail, and a single-use
password-reset link. Neither tells a stranger who has an account (both databases)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.support.accounts import PASSWORD, csrf_from, signin

from halric.accounts.models import AccountToken, User, WebSession
from halric.calls.models import OutboxMessage
from halric.core.audit import AuditEvent

_addresses = iter(range(1, 255))


@pytest.fixture()
def client(app):
    """A browser from an address of its own: links are limited per client address and hour."""
    with TestClient(app, client=(f"198.51.100.{next(_addresses)}", 5000)) as c:
        yield c


def _mails_to(db, address: str) -> list[OutboxMessage]:
    with db.session() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.to == address).order_by(OutboxMessage.id))
        return [r for r in rows]


def _link(message: OutboxMessage, path: str) -> str:
    m = re.search(r"http://[^/\s]+(" + re.escape(path) + r"\?token=\S+)", message.body)
    assert m, message.body
    return m.group(1)


def _sign_up(client: TestClient, **fields) -> object:
    page = client.get("/signup")
    assert page.status_code == 200
    name = fields.get("username") or "new" + uuid.uuid4().hex[:8]
    data = {
        "username": name,
        "email": f"{name}@company.example",
        "full_name": "Nora New",
        "password": "a-good-long-password",
        "confirm_password": "a-good-long-password",
        "csrf_token": csrf_from(page.text),
        **fields,
    }
    return client.post("/signup", data=data)


def test_sign_up_confirm_and_sign_in(client, db):
    name = "nora" + uuid.uuid4().hex[:6]
    r = _sign_up(client, username=name)
    assert r.status_code == 200 and 'id="signup-sent"' in r.text
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == name))
        assert user.role_names == ["applicant"] and user.group_names == []
        assert user.email_verified_at is None and user.password_hash.startswith("$argon2id$")
        assert "sign-up" in {
            e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.entity_id == str(user.id)))
        }
    # not yet: the address is unconfirmed
    page = client.get("/signin")
    r = client.post(
        "/signin",
        data={"username": name, "password": "a-good-long-password", "csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 401 and "Confirm your e-mail address first" in r.text
    # the wrong password does not learn that the account is unconfirmed
    r = client.post(
        "/signin", data={"username": name, "password": "wrong-password", "csrf_token": csrf_from(page.text)}
    )
    assert r.status_code == 401 and "Confirm your e-mail" not in r.text

    [message] = _mails_to(db, f"{name}@company.example")
    link = _link(message, "/signup/confirm")
    # opening the link only shows a button (mail scanners that follow links use nothing up)
    page = client.get(link)
    assert page.status_code == 200 and "Confirm my address" in page.text
    token = link.split("token=")[1]
    r = client.post(
        "/signup/confirm", data={"token": token, "csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == f"/signin?confirmed={name}&next=%2Fdashboard"
    signin(client, name, "a-good-long-password")
    assert client.get("/account").status_code == 200
    # a link works once
    client.post("/signout", data={"csrf_token": csrf_from(client.get("/account").text)})
    page = client.get(link)
    r = client.post("/signup/confirm", data={"token": token, "csrf_token": csrf_from(page.text)})
    assert r.status_code == 400 and "not valid any more" in r.text


@pytest.mark.parametrize(
    "fields, word",
    [
        ({"password": "short", "confirm_password": "short"}, "Password: use at least"),
        ({"confirm_password": "something-else-entirely"}, "differ"),
        ({"email": "not-an-address"}, "email"),
        ({"username": "bad name!"}, "username"),
        ({"full_name": "   "}, "name"),
    ],
)
def test_invalid_sign_up_keeps_input_and_writes_nothing(client, db, fields, word):
    with db.session() as s:
        users = len(s.scalars(select(User.id)).all())
        tokens = len(s.scalars(select(AccountToken.id)).all())
    r = _sign_up(client, **fields)
    assert r.status_code in (400, 422) and 'id="signup-error"' in r.text and word in r.text
    assert 'value="Nora New"' in r.text or fields.get("full_name")
    with db.session() as s:
        assert len(s.scalars(select(User.id)).all()) == users
        assert len(s.scalars(select(AccountToken.id)).all()) == tokens


def test_taken_user_name_is_said_but_taken_address_is_not(client, db, make_user):
    existing = make_user()
    r = _sign_up(client, username=existing, email=f"other-{existing}@company.example")
    assert r.status_code == 409 and "user name is taken" in r.text
    before = len(_mails_to(db, f"{existing}@example.org"))
    # the address of an existing account: the same answer as for a new one, and its owner gets a reset link
    r = _sign_up(client, email=f"{existing.upper()}@EXAMPLE.org")
    assert r.status_code == 200 and 'id="signup-sent"' in r.text
    mails = _mails_to(db, f"{existing}@example.org")
    assert len(mails) == before + 1 and "already belongs to the account" in mails[-1].body
    assert _link(mails[-1], "/password/reset")
    with db.session() as s:
        assert s.scalar(select(User).where(User.email == f"{existing}@example.org")).username == existing


def test_forgot_password_resets_once_and_ends_sessions(app, db, make_user):
    name = make_user()
    email = f"{name}@example.org"
    with TestClient(app) as theirs, TestClient(app, client=("192.0.2.7", 5000)) as stranger:
        signin(theirs, name)
        page = stranger.get("/password/forgot")
        r = stranger.post(
            "/password/forgot", data={"email": email.upper(), "csrf_token": csrf_from(page.text)}
        )
        assert r.status_code == 200 and 'id="forgot-sent"' in r.text
        unknown = stranger.post(
            "/password/forgot", data={"email": "nobody-" + email, "csrf_token": csrf_from(page.text)}
        )
        # the same page for an unknown address, and no mail to it
        assert unknown.status_code == 200 and 'id="forgot-sent"' in unknown.text
        assert unknown.text.replace("nobody-" + email, email) == r.text.replace(email.upper(), email)
        assert _mails_to(db, "nobody-" + email) == []

        link = _link(_mails_to(db, email)[-1], "/password/reset")
        form = stranger.get(link)
        assert form.status_code == 200 and name in form.text
        token = link.split("token=")[1]
        csrf = csrf_from(form.text)
        # a too-short password keeps the link usable
        bad = stranger.post(
            "/password/reset",
            data={"token": token, "password": "short", "confirm_password": "short", "csrf_token": csrf},
        )
        assert bad.status_code == 400 and 'id="reset-error"' in bad.text
        ok = stranger.post(
            "/password/reset",
            data={
                "token": token,
                "password": "brand-new-pass-1",
                "confirm_password": "brand-new-pass-1",
                "csrf_token": csrf,
            },
            follow_redirects=False,
        )
        assert ok.status_code == 303 and ok.headers["location"] == f"/signin?reset={name}"
        with db.session() as s:
            uid = s.scalar(select(User.id).where(User.username == name))
            assert s.scalars(select(WebSession).where(WebSession.user_id == uid)).all() == []
            ev = s.scalars(
                select(AuditEvent).where(
                    AuditEvent.entity_id == str(uid), AuditEvent.action == "reset-password"
                )
            ).all()
            assert ev and ev[-1].actor_name == name
        assert theirs.get("/account", follow_redirects=False).status_code in (302, 303, 401)
        again = stranger.post(
            "/password/reset",
            data={
                "token": token,
                "password": "another-pass-22",
                "confirm_password": "another-pass-22",
                "csrf_token": csrf,
            },
        )
        assert again.status_code == 400 and 'id="reset-link-error"' in again.text
        signin(theirs, name, "brand-new-pass-1")
        page = theirs.get("/signin")
        old = theirs.post(
            "/signin", data={"username": name, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
        )
        assert old.status_code in (303, 401)  # already signed in redirects; never the old password's success


def test_newer_link_replaces_older_and_expired_links_fail(client, db, make_user):
    from halric.core.timeutil import utcnow

    name = make_user()
    email = f"{name}@example.org"
    page = client.get("/password/forgot")
    for _ in range(2):
        client.post("/password/forgot", data={"email": email, "csrf_token": csrf_from(page.text)})
    first, second = (_link(m, "/password/reset") for m in _mails_to(db, email)[-2:])
    assert client.get(first).status_code == 400
    assert client.get(second).status_code == 200
    with db.session() as s:
        for t in s.scalars(select(AccountToken).where(AccountToken.used_at.is_(None))):
            t.expires_at = utcnow() - timedelta(seconds=1)
    r = client.get(second)
    assert r.status_code == 400 and "expired" in r.text
    assert client.get("/password/reset?token=made-up").status_code == 400


def test_reset_links_per_account_and_address_are_limited(app, db, make_user):
    name = make_user()
    email = f"{name}@example.org"
    with TestClient(app, client=("192.0.2.8", 5000)) as c:
        page = c.get("/password/forgot")
        for _ in range(5):
            r = c.post("/password/forgot", data={"email": email, "csrf_token": csrf_from(page.text)})
            assert r.status_code == 200
        # three links per account and hour: the rest are answered alike but not sent
        assert len(_mails_to(db, email)) == 3
    # one address asking for too many links is told to wait (10 an hour)
    with TestClient(app, client=("203.0.113.9", 5000)) as c:
        page = c.get("/password/forgot")
        codes = []
        for _ in range(12):
            other = make_user()
            codes.append(
                c.post(
                    "/password/forgot",
                    data={"email": f"{other}@example.org", "csrf_token": csrf_from(page.text)},
                ).status_code
            )
        assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]


def test_signup_can_be_turned_off(settings, db):
    from halric.web.app import create_app

    closed = create_app(settings.model_copy(update={"signup": False}))
    with TestClient(closed) as c:
        assert c.get("/signup").status_code == 404
        assert "Create one" not in c.get("/signin").text
        page = c.get("/signin")
        r = c.post(
            "/signup",
            data={
                "username": "closed" + uuid.uuid4().hex[:6], "email": "c@company.example", "full_name": "C",
                "password": "a-good-long-password", "confirm_password": "a-good-long-password",
                "csrf_token": csrf_from(page.text),
            },
        )  # fmt: skip
        assert r.status_code == 404
        # resetting a password still works
        assert c.get("/password/forgot").status_code == 200


def test_admin_made_accounts_are_confirmed(client, make_user):
    name = make_user()
    signin(client, name)
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize("target, kept", [("/calls/7?tab=budget", True), ("//evil.example/x", False)])
def test_where_they_were_going_survives_sign_up(client, db, target, kept):
    """From "Sign in to apply" to the call page again, through sign-up, mail and confirmation; never
    to another site."""
    from urllib.parse import parse_qs, urlparse

    name = "goer" + uuid.uuid4().hex[:6]
    page = client.get("/signup", params={"next": target})
    assert ('value="' + target + '"' in page.text) is kept
    r = client.post(
        "/signup",
        data={
            "username": name, "email": f"{name}@company.example", "full_name": "Gus Goer",
            "password": "a-good-long-password", "confirm_password": "a-good-long-password",
            "next": target, "csrf_token": csrf_from(page.text),
        },
    )  # fmt: skip
    assert r.status_code == 200
    link = _link(_mails_to(db, f"{name}@company.example")[-1], "/signup/confirm")
    query = parse_qs(urlparse(link).query)
    assert query.get("next") == ([target] if kept else None)
    page = client.get(link)
    r = client.post(
        "/signup/confirm",
        data={"token": query["token"][0], "next": target, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    back = parse_qs(urlparse(r.headers["location"]).query)["next"]
    assert back == [target if kept else "/dashboard"]
    page = client.get(r.headers["location"])
    r = client.post(
        "/signin",
        data={
            "username": name,
            "password": "a-good-long-password",
            "next": back[0],
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == (target if kept else "/dashboard")
