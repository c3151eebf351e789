"""Who a personal-data export or an erasure is about, and the pseudonym an erased account gets.

Every domain that keeps something about people offers two functions in its ``personal`` module: what it
holds about a :class:`Person` (for the export), and how it hands that person's things to a successor and
pseudonymises the rest (for the erasure). ``halric.gdpr`` calls them all in one transaction.

The pseudonym is ``erased-`` + 16 hex digits of HMAC-SHA256 over the account id and its e-mail address,
keyed with a key derived from the hub's secret key. It is the same wherever the person appeared (audit
log, comments, catalog records), so the trail stays readable; nobody can tell whose it was without the
hub's secret key, and with it only by computing the pseudonym of an account id and address one already
knows (an HMAC is not reversible).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

PSEUDONYM_PREFIX = "erased-"
ERASED_DOMAIN = "invalid"  # RFC 2606: never a real mail domain, refused by the hub's e-mail validation
_PURPOSE = b"halric-erasure-pseudonym-v1"


@dataclass(frozen=True)
class Person:
    """An account as the domains know it: its id and what names it in their records."""

    user_id: int
    username: str
    email: str
    full_name: str = ""
    orcid: str | None = None
    # other addresses that named this person (an identity provider's, earlier ones of the account)
    other_emails: tuple[str, ...] = field(default_factory=tuple)

    @property
    def emails(self) -> set[str]:
        return {e.strip().lower() for e in (self.email, *self.other_emails) if e and e.strip()}

    @property
    def display_name(self) -> str:
        return self.full_name.strip() or self.username


@dataclass(frozen=True)
class Pseudonym:
    """What replaces an erased person's name (``name``) and e-mail address (``email``)."""

    name: str

    @property
    def email(self) -> str:
        return f"{self.name}@{ERASED_DOMAIN}"


def pseudonym_for(secret: str, user_id: int, email: str) -> Pseudonym:
    """The stable, keyed pseudonym of an account (see the module docstring)."""
    if not secret:
        raise ValueError("the hub's secret key is needed to derive a pseudonym")
    key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
    mac = hmac.new(key, f"{user_id}\n{email.strip().lower()}".encode(), hashlib.sha256).hexdigest()
    return Pseudonym(PSEUDONYM_PREFIX + mac[:16])


def is_pseudonym_email(email: str | None) -> bool:
    return (
        bool(email) and str(email).startswith(PSEUDONYM_PREFIX) and str(email).endswith("@" + ERASED_DOMAIN)
    )
