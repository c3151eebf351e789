"""A fresh hub database with scitacean's test users (their passwords are shorter than the hub's policy)."""

from __future__ import annotations

import sys

from scitacean.testing.backend.config import USERS
from sqlalchemy import select

from halric.accounts import service
from halric.accounts.models import User
from halric.accounts.schemas import NewUser
from halric.accounts.security import hash_password
from halric.core.actor import system_actor
from halric.core.db import Database
from halric.migrations import upgrade


def main(url: str) -> None:
    upgrade(url)
    db = Database(url)
    with db.session() as s:
        for u in USERS.values():
            new = NewUser(
                username=u.username, email=u.email, password="x" * 12, roles=["applicant"], groups=[u.group]
            )
            service.create_user(s, system_actor("scitacean-setup"), new)
        s.flush()
        for u in USERS.values():
            s.scalar(select(User).where(User.username == u.username)).password_hash = hash_password(
                u.password
            )
    db.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
