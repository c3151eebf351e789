"""Request-body limits per route (413 with a JSON detail, before the body is buffered) and forwarded
client addresses believed only from configured proxies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.support import aio
from tests.support.accounts import PASSWORD

from halric.core.settings import Settings
from halric.web.limits import limit_for


def _app(settings: Settings, db: Any, **changes: Any) -> Any:
    from halric.web.app import create_app

    return create_app(settings.model_copy(update=changes), database=db)


def _asgi(
    app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: Iterator[bytes]
) -> tuple[int, dict, int]:
    """Call the app directly; returns (status, JSON body, how many body chunks it asked for)."""
    asked = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        asked += 1
        chunk = next(chunks, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", b"hub.test"), *headers], "client": ("192.0.2.10", 50000), "server": ("hub.test", 80),
    }  # fmt: skip

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await app(scope, receive, send)

    aio.run(run)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body or b"null"), asked


def test_an_anonymous_200_mb_token_request_is_refused_before_its_body_is_read(app) -> None:
    def endless() -> Iterator[bytes]:
        raise AssertionError("the body was read")
        yield b""  # pragma: no cover

    status, body, asked = _asgi(
        app, "POST", "/api/auth/token",
        [(b"content-type", b"application/json"), (b"content-length", str(200 * 1024 * 1024).encode())], endless(),
    )  # fmt: skip
    assert status == 413 and asked == 0
    assert "larger than 16 KiB" in body["detail"] and "HALRIC_MAX_BODY_AUTH" in body["detail"]


def test_a_body_without_a_length_is_cut_off_as_soon_as_it_passes_the_limit(app) -> None:
    chunk = b"[" + b"0," * 32 * 1024  # 64 KiB pieces of a JSON array that never ends
    pieces = (chunk for _ in range(3200))  # 200 MiB if it were all read
    status, body, asked = _asgi(
        app, "POST", "/api/auth/token", [(b"content-type", b"application/json")], pieces
    )
    assert status == 413 and asked == 1, (status, asked)
    assert body["detail"].startswith("The request body is larger than 16 KiB")


def test_limits_per_route_fit_real_scicat_file_lists(settings: Settings, client: TestClient) -> None:
    assert limit_for(settings, "/api/auth/token")[0] == 16 * 1024
    assert limit_for(settings, "/signin")[0] == 16 * 1024
    assert limit_for(settings, "/API/V3/Users/login")[0] == 16 * 1024
    assert limit_for(settings, "/applications/3/edit")[0] == 1024 * 1024
    # an original data block listing 100,000 files, as SciCat ingestors send it, passes the catalog limit
    files = [
        {"path": f"raw/scan_{i:06d}/detector_frame_{i:06d}.h5", "size": 16_777_216 + i, "time": "2026-11-02T10:00:00.000Z",
         "chk": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "uid": "1001", "gid": "1001", "perm": "-rw-r--r--"}
        for i in range(100_000)
    ]  # fmt: skip
    size = len(json.dumps({"datasetId": "PID.x/1", "size": 1, "dataFileList": files}).encode())
    assert size < limit_for(settings, "/api/v3/origdatablocks")[0] == 64 * 1024 * 1024
    # a small JSON request under its limit goes through to the route (here: wrong password, 401)
    r = client.post("/api/auth/token", json={"username": "nobody", "password": "x" * 20})
    assert r.status_code == 401
    # a form over the default limit is refused with JSON, not a half-read form
    big = client.post("/calls/new", content=b"x" * (1024 * 1024 + 1), headers={"content-type": "text/plain"})
    assert big.status_code == 413 and "HALRIC_MAX_BODY_DEFAULT" in big.json()["detail"]


def _token_audit_ip(app: Any, db: Any, make_user: Any, forwarded: str) -> str | None:
    from halric.core.audit import AuditEvent

    name = make_user()
    with TestClient(app) as c:  # the peer address of TestClient requests is "testclient"
        r = c.post(
            "/api/auth/token",
            json={"username": name, "password": PASSWORD},
            headers={"X-Forwarded-For": forwarded},
        )
        assert r.status_code == 201, r.text
    with db.session(write=False) as s:
        return s.scalar(
            select(AuditEvent.ip).where(AuditEvent.actor_name == name).order_by(AuditEvent.id.desc()).limit(1)
        )


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(settings, db, make_user) -> None:
    # default: no proxy is trusted, the peer is the client
    assert _token_audit_ip(_app(settings, db), db, make_user, "203.0.113.66") == "testclient"
    # a proxy is configured, but this peer is not it
    assert (
        _token_audit_ip(_app(settings, db, trusted_proxies="10.0.0.1"), db, make_user, "203.0.113.66")
        == "testclient"
    )


def test_a_trusted_proxy_gives_the_client_it_saw_not_what_the_client_wrote(settings, db, make_user) -> None:
    app = _app(settings, db, trusted_proxies="testclient,10.0.0.0/8")
    # nginx appends the address it saw: "what the client claimed, the real client"
    assert _token_audit_ip(app, db, make_user, "203.0.113.66, 198.51.100.7") == "198.51.100.7"
    # a chain of trusted proxies is skipped from the right
    assert _token_audit_ip(app, db, make_user, "198.51.100.8, 10.1.2.3") == "198.51.100.8"
