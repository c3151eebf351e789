"""Encryption of site tokens at rest (the hub's one mechanism, :mod:`halric.core.sealing`, with the
site-token salt).

Changing the hub's secret key makes stored tokens unreadable; they are then treated as absent and the
site's page asks for them again.
"""

from __future__ import annotations

from halric.core.sealing import SealBox

SALT = b"halric-federation-site-tokens"


class TokenBox(SealBox):
    """Encrypts and decrypts site tokens with the key derived from ``secret`` (Settings.signing_key)."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret, SALT)
