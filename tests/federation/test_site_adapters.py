"""A kind of site is one adapter registered in ``federation.sites``: a tiny kind registered here (through
the registry's public functions only) is accepted when a site is registered, asked by the federated search
and harvested, end to end against a real local HTTP server."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

ROWS = [{"id": f"tiny/{n}", "name": f"Tiny lysozyme record {n}", "public": n != 3} for n in range(5)]


@pytest.fixture(scope="module")
def tiny_server() -> Iterator[tuple[str, list[str]]]:
    """A catalog speaking its own little language: ``/find?q=`` and ``/rows?skip=&limit=``."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            u = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(u.query).items()}
            if u.path == "/find":
                body: Any = [r for r in ROWS if q.get("q", "").lower() in r["name"].lower()]
            elif u.path == "/rows":
                skip, limit = int(q["skip"]), int(q["limit"])
                body = ROWS[skip : skip + limit]
            else:
                self.send_response(404)
                self.end_headers()
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _record(row: dict[str, Any]) -> dict[str, Any]:
    return {"pid": row["id"], "title": row["name"], "description": "", "isPublic": row["public"], "doi": None,
            "keywords": [], "techniques": [], "instrument": None, "creationTime": None, "modified": None,
            "ownerGroup": None, "groups": [], "size": None, "numberOfFiles": None}  # fmt: skip


class TinySite:
    kind = "tinycat"
    health_path = "/find"
    landing = "{url}/show/{pid}"

    async def search(self, client: Any, t: Any, text: str, limit: int) -> Any:
        from halric.federation.sites import SiteAnswer, SiteError

        r = await client.get(t.url + "/find", params={"q": text}, timeout=t.timeout)
        if r.status_code != 200:
            raise SiteError(f"HTTP {r.status_code} from the tiny site")
        items = [_record(row) for row in r.json()[:limit] if row["public"]]
        return SiteAnswer(t.name, "ok", 0, items=items, total=len(items))

    def harvest_page(self, c: Any, cursor: Any, page_size: int) -> Any:
        from halric.federation.sites import Cursor, HarvestPage

        rows = c.get("/rows", params={"skip": cursor.skip, "limit": page_size}).json()
        return HarvestPage(
            [_record(row) for row in rows if row["public"]],
            Cursor(skip=cursor.skip + len(rows)),
            last=len(rows) < page_size,
        )

    def harvest_listing(self, c: Any) -> set[str] | None:
        return None


@pytest.fixture
def tiny_kind() -> Iterator[str]:
    from halric.federation import sites

    sites.register(TinySite())
    try:
        yield "tinycat"
    finally:
        sites.unregister("tinycat")


def test_an_unregistered_kind_is_refused():
    from halric.core.errors import InvalidInput
    from halric.federation import service

    with pytest.raises(InvalidInput, match="hub, scicat, panosc"):
        service.validate({"name": "t", "url": "https://tiny.example", "kind": "tinycat"})


def test_a_registered_kind_is_searched_and_harvested(client, db, settings, tiny_server, tiny_kind):
    from sqlalchemy import select

    from halric.core.actor import system_actor
    from halric.federation import service, sites
    from halric.federation.crypto import TokenBox
    from halric.federation.harvest import harvest
    from halric.federation.models import HarvestedRecord

    assert sites.kinds() == ("hub", "scicat", "panosc", "tinycat")
    url, seen = tiny_server
    seen.clear()  # the server is shared by the SQLite and the PostgreSQL run
    name = "tiny-" + uuid.uuid4().hex[:6]
    box = TokenBox(settings.signing_key)
    with db.session() as s:
        body = {"name": name, "url": url, "kind": tiny_kind, "mode": "live", "timeout": 5}
        service.add_site(s, system_actor("test"), box, service.validate(body))

    r = client.get("/api/federation/search", params={"q": "lysozyme", "local": "false"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert {"name": name, "status": "ok"}.items() <= next(
        x for x in out["sites"] if x["name"] == name
    ).items()
    mine = sorted((x["pid"], x["url"]) for x in out["results"] if x["site"] == name)
    assert mine == [(f"tiny/{n}", f"{url}/show/tiny%2F{n}") for n in (0, 1, 2, 4)]
    assert any(p.startswith("/find?q=lysozyme") for p in seen)

    stats = harvest(db, system_actor("harvest"), box, name, page_size=2)
    assert (stats["status"], stats["added"], stats["pages"]) == ("done", 4, 3)
    assert [p for p in seen if p.startswith("/rows")] == [
        "/rows?skip=0&limit=2", "/rows?skip=2&limit=2", "/rows?skip=4&limit=2"
    ]  # fmt: skip
    with db.session() as s:
        site = service.get_site(s, name)
        pids = sorted(s.scalars(select(HarvestedRecord.pid).where(HarvestedRecord.site_id == site.id)))
        assert pids == ["tiny/0", "tiny/1", "tiny/2", "tiny/4"]
        assert "skip" not in (site.harvest_stats or {})
