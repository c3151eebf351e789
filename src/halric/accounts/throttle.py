"""Sign-in throttling with a progressive delay, never a hard account lock.

Failed sign-ins are counted per (user name, client address) and per client address. The first
``free`` failures of a counter cost nothing; each further one makes that counter wait before the next
attempt: 30 s, 1 min, 2 min, 4 min … up to ``longest`` seconds. A waiting counter answers 429 with
``Retry-After`` (no worker sleeps). Because the account's counter is bound to the address, someone
guessing from one address cannot keep the owner out from another. A successful sign-in clears its
(user name, address) counter; a day without failures clears any counter. The counters live in the
database, so every worker of the hub sees the same state.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from halric.accounts.models import LoginFailure
from halric.core.timeutil import as_utc, utcnow

FIRST_DELAY_SECONDS = 30
PER_ADDRESS_FACTOR = 4  # one address may fail this many times more often, over all user names
FORGET_AFTER = timedelta(days=1)


def pair_key(username: str, ip: str | None) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}\n{ip or '-'}".encode()).hexdigest()
    return f"pair:{digest}"


def address_key(ip: str) -> str:
    return f"ip:{ip}"


def _keys(username: str, ip: str | None, free: int) -> list[tuple[str, int]]:
    keys = [(pair_key(username, ip), free)]
    if ip:
        keys.append((address_key(ip), free * PER_ADDRESS_FACTOR))
    return keys


def delay_after(failures: int, free: int, longest: int) -> int:
    """Seconds to wait after ``failures`` failures in a row: none for the first ``free - 1``, then
    30 s, doubling with each further failure, at most ``longest``."""
    if failures < free:
        return 0
    return min(longest, FIRST_DELAY_SECONDS * 2 ** min(failures - free, 30))


def wait_left(session: Session, username: str, ip: str | None, *, now: datetime | None = None) -> int:
    """Whole seconds before this user name may be tried again from this address (0: go ahead)."""
    now = now or utcnow()
    worst = 0.0
    for key, _free in _keys(username, ip, 1):
        row = session.get(LoginFailure, key)
        if row is not None and row.locked_until is not None:
            worst = max(worst, (as_utc(row.locked_until) - now).total_seconds())
    return int(worst) + 1 if worst > 0 else 0


def record_failure(
    session: Session, username: str, ip: str | None, *, free: int, longest: int, now: datetime | None = None
) -> int:
    """Count a failed attempt; returns the wait it imposes on the (user name, address) pair."""
    now = now or utcnow()
    waits = []
    for key, limit in _keys(username, ip, free):
        row = session.get(LoginFailure, key) or _new_row(session, key, now)
        if as_utc(row.last_at) < now - FORGET_AFTER:
            row.count = 0
        row.count += 1
        row.last_at = now
        wait = delay_after(row.count, limit, longest)
        row.locked_until = now + timedelta(seconds=wait) if wait else None
        waits.append(wait)
    return waits[0]


def _new_row(session: Session, key: str, now: datetime) -> LoginFailure:
    """Insert a counter; when another worker inserted it first, use theirs."""
    from sqlalchemy.exc import IntegrityError

    try:
        with session.begin_nested():
            row = LoginFailure(key=key, count=0, last_at=now)
            session.add(row)
        return row
    except IntegrityError:
        found = session.get(LoginFailure, key, populate_existing=True)
        assert found is not None
        return found


def record_success(session: Session, username: str, ip: str | None) -> None:
    """The right password from this address: its (user name, address) counter starts again. The
    address's own counter stays, so signing in to one's own account does not buy more guesses."""
    row = session.get(LoginFailure, pair_key(username, ip))
    if row is not None:
        session.delete(row)


def describe(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"
