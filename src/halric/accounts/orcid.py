"""ORCID iDs of hub accounts: their form, their address, and who has which.

A hub account learns its ORCID iD only from an identity provider at sign-in (ORCID's own ``sub``, or an
``orcid``/``eduperson_orcid`` claim: accounts/federated.py), never from what a person types — so the iD
is one ORCID vouched for. Other parts of the hub use it: the account page, DataCite creators
(catalog/published.py) and matchmaking's experts (match/service.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from halric.accounts.models import User

ORCID_RE = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])")
BASE = "https://orcid.org/"
_IN = re.compile(r"^(?:(?:https?://)?(?:www\.)?orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dXx])/?$")


def checksum_ok(orcid: str) -> bool:
    """The ISO 7064 11,2 check character of an iD ``0000-0002-1825-0097``."""
    digits = orcid.replace("-", "")
    total = 0
    for d in digits[:-1]:
        total = (total + int(d)) * 2
    check = (12 - total % 11) % 11
    return digits[-1].upper() == ("X" if check == 10 else str(check))


def normalise(value: object) -> str | None:
    """``0000-0002-1825-0097`` from an iD given bare or as its https://orcid.org/ address; None when the
    value is not an ORCID iD (wrong form or check character)."""
    if not isinstance(value, str):
        return None
    m = _IN.match(value.strip())
    if m is None:
        return None
    orcid = m.group(1).upper()
    return orcid if checksum_ok(orcid) else None


def url(orcid: str) -> str:
    return BASE + orcid


def by_user(s: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """The ORCID iD of each of these accounts that has one."""
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    rows = s.execute(select(User.id, User.orcid).where(User.id.in_(ids), User.orcid.is_not(None)))
    return {uid: o for uid, value in rows if (o := normalise(value))}


def by_email(s: Session, emails: Iterable[str | None]) -> dict[str, str]:
    """``{e-mail (lower case): ORCID iD}`` for active accounts with one of these confirmed addresses."""
    wanted = sorted({e.strip().lower() for e in emails if e and "@" in e})
    if not wanted:
        return {}
    out: dict[str, str] = {}
    for chunk in (wanted[i : i + 500] for i in range(0, len(wanted), 500)):
        rows = s.execute(
            select(func.lower(User.email), User.orcid).where(
                func.lower(User.email).in_(chunk),
                User.orcid.is_not(None),
                User.is_active.is_(True),
                User.email_verified_at.is_not(None),
            )
        )
        out.update({email: o for email, value in rows if (o := normalise(value))})
    return out


def people(s: Session, emails: Iterable[str | None]) -> dict[str, tuple[str, str]]:
    """``{e-mail (lower case): (full name, ORCID iD)}`` for the accounts :func:`by_email` finds."""
    found = by_email(s, emails)
    if not found:
        return {}
    rows = s.execute(select(func.lower(User.email), User.full_name).where(func.lower(User.email).in_(found)))
    return {email: (name or "", found[email]) for email, name in rows}
