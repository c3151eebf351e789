"""Secrets at rest: Fernet with a key derived (HKDF-SHA256) from the hub's signing key and a purpose.

One mechanism for every secret the hub must read back later: federated sites' tokens
(``halric.federation.crypto``), identity providers' client secrets and the short-lived state of an
OpenID Connect sign-in (``halric.accounts``). Each purpose has its own salt, so a value sealed for one
purpose cannot be opened as another. Changing the hub's secret key makes sealed values unreadable; they
are then treated as absent.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from halric.core.errors import InvalidInput

INFO = b"fernet-key-v1"


@lru_cache(maxsize=16)
def _fernet(secret: str, salt: bytes):  # type: ignore[no-untyped-def]
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


class SealBox:
    """Encrypts and decrypts short texts with the key derived from ``secret`` (Settings.signing_key)
    for one ``salt`` (the purpose)."""

    field = "token"

    def __init__(self, secret: str, salt: bytes) -> None:
        if not secret:
            raise ValueError("a secret is needed to encrypt values at rest")
        self._secret = secret
        self._salt = salt

    def seal(self, value: str) -> str:
        value = (value or "").strip()
        if not value:
            raise InvalidInput(f"{self.field}: the {self.field} is empty", field=self.field)
        if len(value) > 8000:
            raise InvalidInput(f"{self.field}: at most 8000 characters", field=self.field)
        return _fernet(self._secret, self._salt).encrypt(value.encode()).decode()

    def open(self, sealed: str | None, *, max_age: int | None = None) -> str | None:
        """The value, or None when there is none, it is older than ``max_age`` seconds, or it cannot be
        read (the hub's key changed)."""
        if not sealed:
            return None
        from cryptography.fernet import InvalidToken

        try:
            return _fernet(self._secret, self._salt).decrypt(sealed.encode(), ttl=max_age).decode()
        except (InvalidToken, ValueError):
            return None
