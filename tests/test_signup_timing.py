"""Sign-up takes as long for an address that has an account as for a new one, so its timing does not
tell a stranger who is registered (both databases; medians of interleaved tries, robust to noise)."""

from __future__ import annotations

import statistics
import time
import uuid

from fastapi.testclient import TestClient
from tests.support.accounts import csrf_from

TRIES = 15


def _timed_sign_up(app, ip: str, email: str) -> float:
    with TestClient(app, client=(ip, 5000)) as c:  # one address per pair: links are limited per address
        token = csrf_from(c.get("/signup").text)
        name = "t" + uuid.uuid4().hex[:10]
        data = {"username": name, "email": email, "full_name": "Tim Ing", "password": "a-good-long-password",
                "confirm_password": "a-good-long-password", "csrf_token": token}  # fmt: skip
        start = time.perf_counter()
        r = c.post("/signup", data=data)
        elapsed = time.perf_counter() - start
    assert r.status_code == 200 and 'id="signup-sent"' in r.text, r.text
    return elapsed


def _registered(db, n: int) -> list[str]:
    """Confirmed accounts, one per try (reset links are capped per account); one hash for all, to stay fast."""
    from halric.accounts.models import User, UserRole
    from halric.accounts.security import hash_password
    from halric.core.timeutil import utcnow

    digest, emails = hash_password("a-good-long-password"), []
    with db.session() as s:
        for _ in range(n):
            name = "reg" + uuid.uuid4().hex[:10]
            user = User(
                username=name, email=f"{name}@example.org", password_hash=digest, email_verified_at=utcnow()
            )
            user.roles = [UserRole(role="applicant")]
            s.add(user)
            emails.append(user.email)
    return emails


def test_sign_up_time_does_not_reveal_registered_addresses(app, db):
    registered = _registered(db, TRIES)
    new, known = [], []
    for n in range(TRIES):
        ip = f"192.0.2.{n + 1}"
        fresh = f"fresh{uuid.uuid4().hex[:10]}@example.org"
        if n % 2:  # alternate the order so drift on a busy machine hits both sides alike
            new.append(_timed_sign_up(app, ip, fresh))
            known.append(_timed_sign_up(app, ip, registered[n]))
        else:
            known.append(_timed_sign_up(app, ip, registered[n]))
            new.append(_timed_sign_up(app, ip, fresh))
    ratio = statistics.median(known) / statistics.median(new)
    assert 0.5 <= ratio <= 2, (
        f"median sign-up: known address {statistics.median(known) * 1000:.1f} ms, "
        f"new address {statistics.median(new) * 1000:.1f} ms (ratio {ratio:.2f})"
    )
