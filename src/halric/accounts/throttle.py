"""Sign-in throttling with a progressive delay, never a hard account lock.

Sign-in attempts are counted per (user name, client address) and per client address. The first
``free`` failures of a counter cost nothing; from then on each attempt makes that counter wait before
the next one: 30 s, 1 min, 2 min, 4 min … up to ``longest`` seconds. A waiting counter answers 429 with
``Retry-After`` (no worker sleeps). Because the account's counter is bound to the address, someone
guessing from one address cannot keep the owner out from another. A successful sign-in clears its
(user name, address) counter; a pair's counter is forgotten after a day without failures, an
address's after ``longest`` seconds without (many people may share one address).

An attempt is counted *before* its password is checked, in one conditional ``UPDATE`` that both checks
the wait and counts (so parallel attempts from several workers cannot slip through together), and the
count is committed at once; a success then takes its count back. The counters live in the database, so
every worker of the hub sees the same state.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, literal, null, or_, update
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


def _keys(username: str, ip: str | None, free: int, longest: int) -> list[tuple[str, int, timedelta]]:
    """The counters of an attempt, address first: (key, free failures, quiet time that forgets them).
    An address forgets sooner than a (user name, address) pair: many people may share one address."""
    keys = [(address_key(ip), free * PER_ADDRESS_FACTOR, timedelta(seconds=longest))] if ip else []
    return [*keys, (pair_key(username, ip), free, FORGET_AFTER)]


def delay_after(failures: int, free: int, longest: int) -> int:
    """Seconds to wait after ``failures`` failures in a row: none for the first ``free - 1``, then
    30 s, doubling with each further failure, at most ``longest``."""
    if failures < free:
        return 0
    return min(longest, FIRST_DELAY_SECONDS * 2 ** min(failures - free, 30))


def _ensure_row(session: Session, key: str, now: datetime) -> None:
    """Insert a counter unless it exists (also when another worker inserts it at the same moment)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(LoginFailure.__table__).values(key=key, count=0, last_at=now)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))


def _when(value: datetime | None) -> Any:
    return null() if value is None else literal(value, LoginFailure.__table__.c.locked_until.type)


def _count_one(
    session: Session, key: str, free: int, longest: int, forget: timedelta, now: datetime
) -> int | None:
    """Count an attempt on ``key`` unless it must wait: the new count, or None while waiting."""
    col = LoginFailure.__table__.c
    count = case((col.last_at < now - forget, 1), else_=col.count + 1)
    steps: list[tuple[Any, Any]] = [(count < free, _when(None))]
    n = free
    while delay_after(n, free, longest) < longest:
        steps.append((count == n, _when(now + timedelta(seconds=delay_after(n, free, longest)))))
        n += 1
    locked_until = case(*steps, else_=_when(now + timedelta(seconds=longest)))
    stmt = (
        update(LoginFailure.__table__)
        .where(col.key == key, or_(col.locked_until.is_(None), col.locked_until <= now))
        .values(count=count, last_at=now, locked_until=locked_until)
        .returning(col.count)
    )
    return session.execute(stmt).scalar()


def attempt(session: Session, username: str, ip: str | None, *, free: int, longest: int) -> int:
    """Count a sign-in attempt before its password is checked. Returns 0 when it may go ahead (and it
    is counted, as if it will fail), or the whole seconds to wait (nothing is checked then)."""
    now = utcnow()
    for key, limit, forget in _keys(username, ip, free, longest):
        _ensure_row(session, key, now)
        if _count_one(session, key, limit, longest, forget, now) is None:
            row = session.get(LoginFailure, key, populate_existing=True)
            left = (as_utc(row.locked_until) - now).total_seconds() if row and row.locked_until else 0
            return max(1, int(left) + 1)
    session.expire_all()
    return 0


def succeeded(session: Session, username: str, ip: str | None, *, free: int) -> None:
    """The right password: the (user name, address) counter starts again, and the address takes back
    the count of this attempt (its failures stay, so signing in to one's own account does not buy more
    guesses at others)."""
    col = LoginFailure.__table__.c
    session.execute(update(LoginFailure.__table__).where(col.key == pair_key(username, ip)).values(
        count=0, locked_until=None))  # fmt: skip
    if ip:
        limit = free * PER_ADDRESS_FACTOR
        count = case((col.count > 0, col.count - 1), else_=0)
        session.execute(update(LoginFailure.__table__).where(col.key == address_key(ip)).values(
            count=count, locked_until=case((count < limit, _when(None)), else_=col.locked_until)))  # fmt: skip
    session.expire_all()


def wait_left(session: Session, username: str, ip: str | None, *, now: datetime | None = None) -> int:
    """Whole seconds before this user name may be tried again from this address (0: go ahead)."""
    now = now or utcnow()
    worst = 0.0
    for key, *_ in _keys(username, ip, 1, 1):
        row = session.get(LoginFailure, key, populate_existing=True)
        if row is not None and row.locked_until is not None:
            worst = max(worst, (as_utc(row.locked_until) - now).total_seconds())
    return int(worst) + 1 if worst > 0 else 0


def describe(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"
