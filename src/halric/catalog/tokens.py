"""JSON Web Tokens for SciCat clients: issued by ``POST /api/v3/auth/login``, accepted as Bearer tokens.

HS256 signed with the hub's signing key; ``exp`` limits the lifetime; tokens issued before the
user's last password change are refused.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from halric.core.timeutil import as_utc, utcnow

ISSUER = "halric-hub"
AUDIENCE = "scicat"
ALGORITHM = "HS256"


def looks_like_jwt(token: str) -> bool:
    """A JWT is three dot-separated base64url parts; hub API tokens start with ``hlr_``."""
    if token.startswith("hlr_"):
        return False
    parts = token.split(".")
    return len(parts) == 3 and all(parts[:2]) and all(c.isalnum() or c in "-_=" for c in "".join(parts))


def issue(user: Any, key: str, hours: int) -> tuple[str, datetime, datetime]:
    """A token for the user; returns (token, issued at, expires at)."""
    import jwt

    now = utcnow().replace(microsecond=0)
    exp = now + timedelta(hours=hours)
    claims = {
        "sub": str(user.id),
        "username": user.username,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(exp.timestamp()),
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), now, exp


def resolve(s: Session, key: str, token: str) -> Any | None:
    """The active user a valid, unexpired token names; None otherwise."""
    import jwt

    from halric.accounts.models import User

    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
            options={"require": ["exp", "iat", "sub"]},
        )  # fmt: skip
        user_id = int(claims["sub"])
    except (jwt.PyJWTError, ValueError):
        return None
    user = s.get(User, user_id)
    if user is None or not user.is_active:
        return None
    changed = user.password_changed_at
    if changed is not None and int(as_utc(changed).timestamp()) > int(claims["iat"]):
        return None
    return user
