"""Sign-in throttling: per (user name, address) and per address, a progressive delay answered with 429
and Retry-After; someone guessing from one address never keeps the owner out from another."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.support.accounts import PASSWORD, csrf_from


@contextmanager
def from_address(app, ip: str) -> Iterator[TestClient]:
    with TestClient(app, client=(ip, 50000)) as c:
        yield c


def _signin(c: TestClient, name: str, password: str):
    tok = csrf_from(c.get("/signin").text)
    return c.post("/signin", data={"username": name, "password": password, "csrf_token": tok},
                  follow_redirects=False)  # fmt: skip


def test_guessing_from_one_address_does_not_lock_the_owner_out(app, make_user, settings, db):
    from halric.accounts.models import LoginFailure

    owner = make_user()
    with from_address(app, "203.0.113.66") as attacker:
        for _ in range(settings.login_max_failures):
            assert _signin(attacker, owner, "wrong-guess-123").status_code == 401
        # the next try from there waits, even with the right password: 429 with Retry-After, on the page …
        r = _signin(attacker, owner, PASSWORD)
        assert r.status_code == 429 and "Too many failed sign-ins" in r.text
        assert 1 <= int(r.headers["retry-after"]) <= 30
        # … and on the API
        r = attacker.post("/api/auth/token", json={"username": owner, "password": PASSWORD})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert "Try again in" in r.json()["detail"]
    # the owner, from their own address, signs in at once
    with from_address(app, "198.51.100.7") as own:
        assert _signin(own, owner, PASSWORD).status_code == 303
        own.cookies.clear()  # a script, not the browser session
        r = own.post("/api/auth/token", json={"username": owner, "password": PASSWORD})
        assert r.status_code == 201
    # once the wait is over, the right password works from the attacker's address too and clears its counter
    with db.session() as s:
        s.execute(update(LoginFailure).values(locked_until=None))
    with from_address(app, "203.0.113.66") as attacker:
        assert _signin(attacker, owner, PASSWORD).status_code == 303


def test_the_delay_grows_with_each_further_failure(db, settings):
    from halric.accounts import throttle
    from halric.accounts.models import LoginFailure

    free, longest = settings.login_max_failures, settings.login_lock_minutes * 60
    assert [throttle.delay_after(n, free, longest) for n in range(1, free + 6)] == [0] * (free - 1) + [
        30, 60, 120, 240, 480, 900][:6]  # fmt: skip
    assert throttle.delay_after(free + 40, free, longest) == longest
    name, ip = "nobody-at-all", "192.0.2.9"

    def attempt() -> int:
        with db.session() as s:
            return throttle.attempt(s, name, ip, free=free, longest=longest)

    def wait_left(user: str = name, address: str = ip) -> int:
        with db.session() as s:
            return throttle.wait_left(s, user, address)

    assert [attempt() for _ in range(free)] == [0] * free  # the free ones
    waits = []
    for _ in range(3):
        waits.append(wait_left())
        assert attempt() >= waits[-1] - 1  # refused while waiting, and not counted
        with db.session() as s:  # the wait passes
            s.execute(update(LoginFailure).where(LoginFailure.key == throttle.pair_key(name, ip))
                      .values(locked_until=None))  # fmt: skip
        assert attempt() == 0
    waits.append(wait_left())
    assert [round(w, -1) for w in waits] == [30, 60, 120, 240]
    assert 230 <= wait_left("NOBODY-AT-ALL") <= 241  # user names in any case
    assert wait_left(address="192.0.2.10") == 0  # another address: no wait


def test_parallel_attempts_cannot_slip_through_together(db, settings):
    """Eight workers try at once when one free attempt is left: exactly one goes ahead."""
    from concurrent.futures import ThreadPoolExecutor

    from halric.accounts import throttle

    free, longest = settings.login_max_failures, settings.login_lock_minutes * 60
    name, ip = "parallel-guess", "192.0.2.77"
    for _ in range(free - 1):
        with db.session() as s:
            assert throttle.attempt(s, name, ip, free=free, longest=longest) == 0

    def attempt(_: int) -> int:
        with db.session() as s:
            return throttle.attempt(s, name, ip, free=free, longest=longest)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count(0) == 1 and all(r >= 1 for r in results if r), results


def test_one_address_guessing_many_names_is_slowed(app, make_user, settings):
    real = make_user()
    limit = settings.login_max_failures * 4
    with from_address(app, "203.0.113.99") as bot:
        for n in range(limit):
            # four failures per name: no (name, address) pair reaches its own limit
            r = _signin(bot, f"ghost{n // 4}-{real}", "wrong-guess-123")
            assert r.status_code == 401, n
        r = _signin(bot, real, PASSWORD)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    with from_address(app, "198.51.100.8") as own:
        assert _signin(own, real, PASSWORD).status_code == 303


def test_unknown_names_wait_exactly_like_real_ones(app, make_user, settings):
    real = make_user()
    answers = {}
    for name in (real, "ghost-" + real):
        with from_address(app, "203.0.113.120") as c:
            for _ in range(settings.login_max_failures):
                _signin(c, name, "wrong-guess-123")
            r = _signin(c, name, "wrong-guess-123")
            message = r.text.split('id="signin-error">')[1].split("<")[0]
            answers[name] = (r.status_code, re.sub(r"\d+", "N", message))
    assert answers[real] == answers["ghost-" + real]
    assert answers[real][0] == 429


def test_an_address_forgets_sooner_than_a_pair(db, settings):
    """Many people may share an address: its counter is forgotten after the longest wait without
    failures, while a (user name, address) pair remembers for a day."""
    from datetime import timedelta

    from halric.accounts import throttle
    from halric.accounts.models import LoginFailure
    from halric.core.timeutil import utcnow

    free, longest = settings.login_max_failures, settings.login_lock_minutes * 60
    ip = "192.0.2.200"
    with db.session() as s:
        for n in range(3):
            assert throttle.attempt(s, f"typo{n}", ip, free=free, longest=longest) == 0
    quiet = utcnow() - timedelta(seconds=longest + 5)
    with db.session() as s:
        s.execute(update(LoginFailure).values(last_at=quiet).where(
            LoginFailure.key.in_([throttle.address_key(ip), throttle.pair_key("typo0", ip)])))  # fmt: skip
    with db.session() as s:
        assert throttle.attempt(s, "typo0", ip, free=free, longest=longest) == 0
    with db.session() as s:
        assert s.get(LoginFailure, throttle.address_key(ip)).count == 1  # forgotten, then this one
        assert s.get(LoginFailure, throttle.pair_key("typo0", ip)).count == 2  # remembered
