"""Administrators change existing accounts — roles, groups, e-mail, status, password — in the browser,
through the API and from the command line; rights follow at once, the hub keeps an administrator, and
every change is in the audit log with before and after (both databases)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from sqlalchemy import select
from tests.support.accounts import PASSWORD, bearer, csrf_from, signin

from halric.accounts.models import User, WebSession


def _uid(db, name: str) -> int:
    with db.session() as s:
        return s.scalar(select(User.id).where(User.username == name))


def _private_dataset(db, group: str) -> str:
    from halric.catalog import service
    from halric.core.actor import Actor

    owner = Actor(user_id=10**6, username="owner", groups=frozenset({group}))
    with db.session() as s:
        out = service.create_dataset(
            s,
            owner,
            {
                "datasetName": "Private scan " + group,
                "type": "raw",
                "ownerGroup": group,
                "owner": "owner",
                "contactEmail": "owner@example.org",
                "sourceFolder": "/data/" + group,
                "creationTime": "2025-01-01T00:00:00Z",
            },
        )
    return out["pid"]


def test_group_change_through_api_widens_and_narrows_rights_at_once(client, make_user, db):
    from urllib.parse import quote

    group = "lab-" + uuid.uuid4().hex[:6]
    pid = _private_dataset(db, group)
    admin, user = make_user(["admin"]), make_user(groups=["other-lab"])
    user_auth, admin_auth = bearer(db, user), bearer(db, admin)
    url = f"/api/v3/Datasets/{quote(pid, safe='')}"
    assert client.get(url, headers=user_auth).status_code in (403, 404)

    uid = _uid(db, user)
    r = client.patch(f"/api/admin/users/{uid}", json={"groups": ["other-lab", group]}, headers=admin_auth)
    assert r.status_code == 200, r.text
    assert r.json()["groups"] == sorted(["other-lab", group])
    # the same token, no new sign-in: the dataset is readable now
    got = client.get(url, headers=user_auth)
    assert got.status_code == 200 and got.json()["pid"] == pid

    r = client.patch(f"/api/admin/users/{uid}", json={"groups": []}, headers=admin_auth)
    assert r.status_code == 200 and r.json()["groups"] == []
    assert client.get(url, headers=user_auth).status_code in (403, 404)

    events = client.get(
        "/api/admin/audit",
        params={"entity_type": "user", "entity_id": str(uid), "action": "update"},
        headers=admin_auth,
    ).json()["items"]
    assert [e["details"]["groups"] for e in events] == [
        {"from": sorted(["other-lab", group]), "to": []},
        {"from": ["other-lab"], "to": sorted(["other-lab", group])},
    ]
    assert all(e["actor"] == admin for e in events)


def test_role_change_through_api_and_only_given_fields_change(client, make_user, db):
    admin, user = make_user(["admin"]), make_user(groups=["keep-me"])
    auth = bearer(db, admin)
    uid = _uid(db, user)
    user_auth = bearer(db, user)
    assert client.get("/api/admin/users", headers=user_auth).status_code == 403
    r = client.patch(
        f"/api/admin/users/{uid}",
        json={"roles": ["reviewer", "committee-member"], "full_name": "  Rita Reviewer "},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["roles"] == ["committee", "reviewer"] and body["full_name"] == "Rita Reviewer"
    assert body["groups"] == ["keep-me"] and body["email"] == f"{user}@example.org"
    assert client.get(f"/api/admin/users/{uid}", headers=auth).json() == body


def test_bad_updates_are_refused_and_change_nothing(client, make_user, db):
    admin, user, other = make_user(["admin"]), make_user(), make_user()
    auth = bearer(db, admin)
    uid = _uid(db, user)
    before = client.get(f"/api/admin/users/{uid}", headers=auth).json()
    cases = [
        ({"roles": ["wizard"]}, 422, "roles: unknown role 'wizard'"),
        ({"roles": []}, 422, "roles: give at least one role"),
        ({"groups": ["bad group!"]}, 422, "groups"),
        ({"email": "not-an-email"}, 422, "email"),
        ({"email": f"{other}@example.org"}, 409, "e-mail"),
        ({"is_admin": True}, 422, "is_admin"),
        # a valid field next to an invalid one: nothing is written
        ({"full_name": "Changed", "roles": ["wizard"]}, 422, "roles"),
    ]
    for body, code, word in cases:
        r = client.patch(f"/api/admin/users/{uid}", json=body, headers=auth)
        assert r.status_code == code, (body, r.text)
        assert word in r.json()["detail"], (body, r.json())
    assert client.get(f"/api/admin/users/{uid}", headers=auth).json() == before
    assert client.patch("/api/admin/users/999999", json={"full_name": "x"}, headers=auth).status_code == 404
    # not an administrator
    r = client.patch(f"/api/admin/users/{uid}", json={"roles": ["admin"]}, headers=bearer(db, other))
    assert r.status_code == 403
    assert client.get(f"/api/admin/users/{uid}", headers=auth).json() == before


def test_the_hub_keeps_an_active_administrator(client, make_user, db):
    me = make_user(["admin"])
    auth = bearer(db, me)
    my_id = _uid(db, me)
    r = client.patch(f"/api/admin/users/{my_id}", json={"roles": ["applicant"]}, headers=auth)
    assert r.status_code == 409 and "own administrator role" in r.json()["detail"]
    r = client.patch(f"/api/admin/users/{my_id}", json={"is_active": False}, headers=auth)
    assert r.status_code == 409 and "own account" in r.json()["detail"]

    # another admin may demote me while I am not the last one
    other = make_user(["admin"])
    r = client.patch(f"/api/admin/users/{my_id}", json={"roles": ["steward"]}, headers=bearer(db, other))
    assert r.status_code == 200 and r.json()["roles"] == ["steward"]
    assert client.get("/api/admin/users", headers=auth).status_code == 403


def test_last_active_administrator_cannot_be_removed(db):
    """With the service directly: on a database whose only active admin is one account, neither its
    role nor its status can be taken by a system actor (the CLI's)."""
    from sqlalchemy import update

    from halric.accounts import service
    from halric.accounts.models import UserRole
    from halric.accounts.schemas import NewUser, UserUpdate
    from halric.core.actor import system_actor
    from halric.core.errors import Conflict

    name = "solo" + uuid.uuid4().hex[:6]
    with db.session() as s:
        solo = service.create_user(
            s,
            system_actor("test"),
            NewUser(username=name, email=f"{name}@example.org", password=PASSWORD, roles=["admin"]),
        )
        solo_id = solo.id
    with db.session() as s:
        # every other admin of this test database is made inactive for the check, inside a transaction
        others = [
            uid
            for (uid,) in s.execute(
                select(UserRole.user_id).where(UserRole.role == "admin", UserRole.user_id != solo_id)
            )
        ]
        s.execute(update(User).where(User.id.in_(others)).values(is_active=False))
        for change in (UserUpdate(roles=["applicant"]), UserUpdate(is_active=False)):
            try:
                service.update_user(s, system_actor("test"), solo_id, change)
            except Conflict as exc:
                assert "last active administrator" in exc.detail
            else:
                raise AssertionError(f"{change} removed the last administrator")
        s.rollback()
    with db.session() as s:
        assert s.get(User, solo_id).is_active is True and s.get(User, solo_id).role_names == ["admin"]


def test_edit_page_changes_roles_and_groups_and_shows_history(client, make_user, db):
    admin, user = make_user(["admin"]), make_user(groups=["g-old"])
    uid = _uid(db, user)
    signin(client, admin)
    listing = client.get("/admin/users").text
    assert f'href="/admin/users/{uid}"' in listing
    page = client.get(f"/admin/users/{uid}")
    assert page.status_code == 200 and 'value="g-old"' in page.text
    r = client.post(
        f"/admin/users/{uid}",
        data={
            "email": f"{user}@example.org",
            "full_name": "Fay Facility",
            "role": ["facility", "steward"],
            "groups": "g-new, g-old  g-two",
            "organisation_id": "",
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/admin/users/{uid}?saved=1"
    with db.session() as s:
        u = s.get(User, uid)
        assert u.role_names == ["facility", "steward"] and u.group_names == ["g-new", "g-old", "g-two"]
        assert u.full_name == "Fay Facility"
    page = client.get(f"/admin/users/{uid}?saved=1")
    history = page.text.split('id="history"')[1]
    assert "Changes saved" in page.text and admin in history and "g-two" in history and "steward" in history

    # invalid input: the form comes back with the person's input and a reason, nothing changes
    r = client.post(
        f"/admin/users/{uid}",
        data={"email": "broken", "role": ["facility"], "groups": "g-x", "csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 400 and 'id="edit-error"' in r.text and "email" in r.text
    assert 'value="g-x"' in r.text
    with db.session() as s:
        assert s.get(User, uid).group_names == ["g-new", "g-old", "g-two"]
    # without the CSRF token nothing happens
    r = client.post(f"/admin/users/{uid}", data={"email": f"{user}@example.org", "role": ["applicant"]})
    assert r.status_code == 403
    with db.session() as s:
        assert s.get(User, uid).role_names == ["facility", "steward"]


def test_non_admins_cannot_open_or_post_the_edit_page(client, make_user, db):
    steward, user = make_user(["steward", "coordinator"]), make_user()
    uid = _uid(db, user)
    signin(client, steward)
    assert client.get(f"/admin/users/{uid}").status_code == 403
    page = client.get("/account")
    r = client.post(
        f"/admin/users/{uid}",
        data={"email": "x@example.org", "role": ["admin"], "csrf_token": csrf_from(page.text)},
    )
    assert r.status_code == 403
    with db.session() as s:
        assert s.get(User, uid).role_names == ["applicant"]


def test_password_reset_by_admin_ends_sessions_and_new_password_works(app, make_user, db):
    from fastapi.testclient import TestClient

    admin, user = make_user(["admin"]), make_user()
    uid = _uid(db, user)
    with TestClient(app) as theirs, TestClient(app) as mine:
        signin(theirs, user)
        assert theirs.get("/account").status_code == 200
        signin(mine, admin)
        page = mine.get(f"/admin/users/{uid}")
        r = mine.post(
            f"/admin/users/{uid}/password",
            data={"password": "short", "confirm_password": "short", "csrf_token": csrf_from(page.text)},
        )
        assert r.status_code == 400 and 'id="password-error"' in r.text
        r = mine.post(
            f"/admin/users/{uid}/password",
            data={
                "password": "a-brand-new-passphrase",
                "confirm_password": "a-brand-new-passphrase",
                "csrf_token": csrf_from(page.text),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
        with db.session() as s:
            assert s.scalars(select(WebSession).where(WebSession.user_id == uid)).all() == []
        # the old session is gone: the account page sends them to sign in
        assert theirs.get("/account", follow_redirects=False).status_code in (302, 303, 401)
        signin(theirs, user, "a-brand-new-passphrase")
    r = TestClient(app).put(
        f"/api/admin/users/{uid}/password", json={"password": "x"}, headers=bearer(db, admin)
    )
    assert r.status_code == 400 and "password" in r.json()["detail"]


def _cli(settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HALRIC_DATABASE_URL": settings.database_url,
        "HALRIC_DATA_DIR": str(settings.data_dir),
    }
    return subprocess.run(
        [sys.executable, "-m", "halric.cli.main", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_user_edit(settings, make_user, db):
    user = make_user(groups=["g1", "g2"])
    r = _cli(
        settings,
        "user",
        "edit",
        user,
        "--add-role",
        "reviewer",
        "--remove-group",
        "g1",
        "--add-group",
        "g3",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["roles"] == ["applicant", "reviewer"] and out["groups"] == ["g2", "g3"]
    r = _cli(settings, "user", "edit", user, "--inactive")
    assert r.returncode == 0 and "inactive" in r.stdout
    with db.session() as s:
        u = s.get(User, _uid(db, user))
        assert u.is_active is False and u.group_names == ["g2", "g3"]

    for args, word in [
        (("user", "edit", "nobody-" + user, "--add-role", "reviewer"), "No user named"),
        (("user", "edit", user, "--role", "wizard"), "unknown role"),
        (("user", "edit", user), "nothing to change"),
        (("user", "edit", user, "--role", "reviewer", "--add-role", "steward"), "either --role"),
    ]:
        r = _cli(settings, *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and word in lines[0], (args, r.stderr)
    with db.session() as s:
        assert s.get(User, _uid(db, user)).role_names == ["applicant", "reviewer"]
