"""Encryption of site tokens at rest: Fernet with a key derived (HKDF-SHA256) from the hub's signing key.

Changing the hub's secret key makes stored tokens unreadable; they are then treated as absent and the
site's page asks for them again.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from halric.core.errors import InvalidInput

SALT = b"halric-federation-site-tokens"
INFO = b"fernet-key-v1"


@lru_cache(maxsize=8)
def _fernet(secret: str):  # type: ignore[no-untyped-def]
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(raw))


class TokenBox:
    """Encrypts and decrypts tokens with the key derived from ``secret`` (Settings.signing_key)."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a secret is needed to encrypt site tokens")
        self._secret = secret

    def seal(self, token: str) -> str:
        token = (token or "").strip()
        if not token:
            raise InvalidInput("token: the token is empty", field="token")
        if len(token) > 8000:
            raise InvalidInput("token: at most 8000 characters", field="token")
        return _fernet(self._secret).encrypt(token.encode()).decode()

    def open(self, sealed: str | None) -> str | None:
        """The token, or None when there is none or it cannot be read (the hub's key changed)."""
        if not sealed:
            return None
        from cryptography.fernet import InvalidToken

        try:
            return _fernet(self._secret).decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError):
            return None
