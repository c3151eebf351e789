"""Request-body limits per route, enforced before anything is buffered.

A body announced larger than its route's limit (``Content-Length``) is refused at once with 413 and a
JSON ``detail``, without reading it; a body sent without a length (chunked) is counted as it arrives and
refused as soon as it passes the limit. The limits are settings (docs/configuration.md) and the nginx
configuration in docs/deployment.md allows the largest of them.
"""

from __future__ import annotations

import json
from typing import Any

from halric.core.settings import Settings

# Sign-in, sign-up, password and token requests: a few small fields, open to anonymous callers.
AUTH_PATHS = (
    "/signin", "/signup", "/password/", "/account/password", "/account/tokens", "/api/auth/", "/api/tokens",
    "/api/v3/auth/", "/api/v4/auth/", "/api/v3/users/login", "/api/v4/users/login",
)  # fmt: skip
# The SciCat API (/api/v3, /api/v4): datasets, file lists of data blocks (100,000 files are ~20 MB of
# JSON), attachments with their thumbnails.
CATALOG_PATHS = ("/api/v3/", "/api/v4/")


def limit_for(settings: Settings, path: str) -> tuple[int, str]:
    """The body limit of a path, in bytes, and the setting that gives it."""
    low = path.lower()
    if low.startswith(AUTH_PATHS):
        return settings.max_body_auth, "HALRIC_MAX_BODY_AUTH"
    if low.startswith(CATALOG_PATHS):
        return settings.max_body_catalog, "HALRIC_MAX_BODY_CATALOG"
    return settings.max_body_default, "HALRIC_MAX_BODY_DEFAULT"


def _message(limit: int, setting: str) -> str:
    size = f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
    return f"The request body is larger than {size}, the most this address accepts ({setting})."


class BodyLimit:
    """ASGI middleware: refuses request bodies over the route's limit (413, JSON detail)."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit, setting = limit_for(self.settings, scope["path"])
        declared = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > limit:
            await _refuse(send, limit, setting)
            return
        seen = 0
        over = False  # the body passed the limit: the app is told the client left, its answer replaced
        started = False

        async def counted() -> dict[str, Any]:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: dict[str, Any]) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to a "disconnect" is replaced by the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not over:
                raise
        if over and not started:
            await _refuse(send, limit, setting)


async def _refuse(send: Any, limit: int, setting: str) -> None:
    body = json.dumps({"detail": _message(limit, setting)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
