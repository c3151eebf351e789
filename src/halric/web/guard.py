"""Refuse, before any route runs, what no route can store: NUL characters in the address (path or query)
and in JSON or form bodies, and NaN/Infinity in JSON bodies (Python's JSON reader accepts them, JSON does
not). Answers 400 with ``{"detail": ...}``.

Pure ASGI. Bodies are looked at only when their type is JSON or a URL-encoded form; the body is read as
the app would read it and passed on unchanged. Unpaired UTF-16 surrogates (``"\\ud800"``) are refused
as well: no database stores them. Only the first ``SCAN_LIMIT`` bytes are held for the check:
a longer body streams through unchecked here (the domain checks still apply) so this layer never holds
more than that in memory. The cost for a clean body is a few substring searches.
"""

from __future__ import annotations

import json
from typing import Any

from halric.core.values import json_problem

SCAN_LIMIT = 8 * 1024 * 1024
_SUSPECT_JSON = (b"NaN", b"Infinity", b"\\u0000", b"\x00", b"\\ud", b"\\uD")
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def body_problem(kind: str, body: bytes) -> str | None:
    """Why this body cannot be stored, or None (invalid JSON is left to the route's own answer)."""
    if kind == "form":
        low = body.lower()
        return (
            "body: a form field contains a NUL character (%00)" if b"%00" in low or b"\x00" in body else None
        )
    if not any(s in body for s in _SUSPECT_JSON):
        return None
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except ValueError as exc:
        if str(exc) in ("NaN", "Infinity", "-Infinity"):
            return f"body: {exc} is not a JSON number; send a finite number or null"
        return None
    except RecursionError:
        return None
    problem = json_problem(value)
    return f"body: {problem}" if problem and ("NUL" in problem or "surrogate" in problem) else None


def _kind(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == b"content-type":
            v = value.split(b";", 1)[0].strip().lower()
            if v == b"application/json" or v.endswith(b"+json"):
                return "json"
            if v == b"application/x-www-form-urlencoded":
                return "form"
            return None
    return None


class InputGuard:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def _refuse(self, send: Any, detail: str) -> None:
        body = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": 400,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"").lower():
            await self._refuse(send, "The address contains a NUL character (%00), which no field accepts.")
            return
        kind = _kind(scope.get("headers", [])) if scope.get("method") in _UNSAFE else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        held: list[Any] = []
        size, more = 0, True
        while more and size <= SCAN_LIMIT:
            message = await receive()
            held.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        if not more and held and held[-1]["type"] == "http.request":
            problem = body_problem(kind, b"".join(m.get("body", b"") for m in held))
            if problem:
                await self._refuse(send, problem)
                return

        async def replay() -> Any:
            return held.pop(0) if held else await receive()

        await self.app(scope, replay, send)
