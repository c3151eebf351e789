"""Admins create users and browse the audit log; every change is recorded with who, what, when, where."""

from __future__ import annotations

from tests.support.accounts import bearer, csrf_from, signin


def test_admin_creates_user_in_browser_form_and_it_is_audited(client, make_user, db):
    admin = make_user(["admin"])
    signin(client, admin)
    page = client.get("/admin/users")
    assert page.status_code == 200
    new = "made-" + admin
    r = client.post(
        "/admin/users",
        data={
            "username": new,
            "email": f"{new}@example.org",
            "password": "a-long-password",
            "role": ["reviewer", "committee"],
            "groups": "panel-1, panel-2",
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    listing = client.get("/admin/users").text
    assert new in listing
    users = {u["username"]: u for u in client.get("/api/admin/users", headers=bearer(db, admin)).json()}
    assert users[new]["roles"] == ["committee", "reviewer"]
    assert users[new]["groups"] == ["panel-1", "panel-2"]
    audit = client.get(
        "/api/admin/audit", params={"entity_type": "user", "action": "create"}, headers=bearer(db, admin)
    ).json()
    ev = next(e for e in audit["items"] if e["details"].get("username") == new)
    assert ev["actor"] == admin and ev["via"] == "web" and ev["ip"] == "testclient"
    page = client.get("/admin/audit", params={"actor": admin})
    assert page.status_code == 200 and new in page.text


def test_invalid_user_form_keeps_input_and_explains(client, make_user):
    admin = make_user(["admin"])
    signin(client, admin)
    page = client.get("/admin/users")
    r = client.post(
        "/admin/users",
        data={
            "username": "ok-name-" + admin,
            "email": "not-an-email",
            "password": "a-long-password",
            "role": ["applicant"],
            "csrf_token": csrf_from(page.text),
        },
    )
    assert r.status_code == 400
    assert "email" in r.text and 'value="ok-name-' in r.text
    names = client.get("/admin/users").text
    assert "ok-name-" + admin not in names.split('id="users"')[1].split("</table>")[0]


def test_short_password_refused_nothing_written(client, make_user, db):
    from sqlalchemy import func, select

    from halric.accounts.models import User

    admin = make_user(["admin"])
    with db.session() as s:
        before = s.scalar(select(func.count()).select_from(User))
    r = client.post(
        "/api/admin/users",
        json={"username": "shorty-" + admin, "email": f"s{admin}@example.org", "password": "short"},
        headers=bearer(db, admin),
    )
    assert r.status_code == 400 and "password" in r.json()["detail"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(User)) == before


def test_signin_and_token_events_are_audited(client, make_user, db):
    name = make_user()
    signin(client, name)
    admin = make_user(["admin"])
    items = client.get("/api/admin/audit", params={"actor": name}, headers=bearer(db, admin)).json()["items"]
    assert "sign-in" in {e["action"] for e in items}


def test_deactivate_via_admin_page(client, make_user, db):
    from sqlalchemy import select

    from halric.accounts.models import User

    admin, victim = make_user(["admin"]), make_user()
    signin(client, admin)
    page = client.get("/admin/users")
    with db.session() as s:
        uid = s.scalar(select(User.id).where(User.username == victim))
    r = client.post(
        f"/admin/users/{uid}/active",
        data={"active": "false", "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with db.session() as s:
        assert s.get(User, uid).is_active is False
