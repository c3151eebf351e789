"""Users, API tokens and signing in through the hub's forms."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient

from halric.core.db import Database

PASSWORD = "correct-horse-battery"


def add_user(db: Database, groups: list[str], roles: list[str] | None = None, prefix: str = "u") -> str:
    """A user with a unique name in ``groups`` (password PASSWORD); returns the user name."""
    from halric.accounts import service
    from halric.accounts.schemas import NewUser
    from halric.core.actor import system_actor

    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    with db.session() as s:
        service.create_user(
            s,
            system_actor("test"),
            NewUser(
                username=name,
                email=f"{name}@example.org",
                password=PASSWORD,
                roles=roles or ["applicant"],
                groups=groups,
            ),
        )
    return name


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page has no CSRF field"
    return m.group(1)


def signin(client: TestClient, username: str, password: str = PASSWORD) -> None:
    page = client.get("/signin")
    r = client.post(
        "/signin",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def bearer(db: Database, username: str) -> dict[str, str]:
    from sqlalchemy import select

    from halric.accounts import service
    from halric.accounts.models import User
    from halric.core.actor import system_actor

    with db.session() as s:
        user = s.scalar(select(User).where(User.username == username))
        token, _ = service.create_api_token(s, system_actor("test"), user, "test")
    return {"Authorization": f"Bearer {token}"}
