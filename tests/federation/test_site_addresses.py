"""Coordinators register federation sites only at public https addresses unless the administrator allows
http or private hosts (issue 13): loopback, private, link-local (cloud metadata), shared and IPv4-mapped
addresses are refused after the host name is resolved (SQLite and PostgreSQL for the API)."""

from __future__ import annotations

import pytest
from tests.support import aio
from tests.support.accounts import bearer
from tests.support.settings import changed

from halric.core.errors import InvalidInput
from halric.core.settings import Settings
from halric.federation.addresses import check_site_url

STRICT = Settings(federation_allow_http=False, federation_allow_private_hosts=False)


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1", "https://localhost:8443/api", "https://10.1.2.3", "https://192.168.0.10",
     "https://172.16.5.5", "https://169.254.169.254/latest/meta-data", "https://100.64.0.1",
     "https://[::1]:8000", "https://[fe80::1]", "https://[fd00:ec2::254]", "https://[::ffff:127.0.0.1]",
     "https://0.0.0.0", "https://224.0.0.1", "https://2130706433", "https://0x7f.0.0.1"],
)  # fmt: skip
def test_non_public_hosts_are_refused(url):
    with pytest.raises(InvalidInput, match=r"non-public network|cannot be resolved"):
        check_site_url(url, STRICT)


@pytest.mark.parametrize(
    ("url", "words"),
    [("http://93.184.215.14", "https only"), ("ftp://93.184.215.14", "https only"),
     ("https://user:secret@93.184.215.14", "user name or password"),
     ("https://no-such-host.invalid", "cannot be resolved")],
)  # fmt: skip
def test_scheme_credentials_and_unresolvable_names_are_refused(url, words):
    with pytest.raises(InvalidInput, match=words):
        check_site_url(url, STRICT)


def test_public_addresses_pass_and_the_settings_open_what_they_name():
    assert check_site_url("https://93.184.215.14/panosc-api", STRICT) == "https://93.184.215.14/panosc-api"
    assert check_site_url("https://[2606:4700::1111]", STRICT)
    http_ok = Settings(federation_allow_http=True, federation_allow_private_hosts=False)
    assert check_site_url("http://93.184.215.14", http_ok)
    with pytest.raises(InvalidInput, match="non-public"):
        check_site_url("http://127.0.0.1:8000", http_ok)
    both = Settings(federation_allow_http=True, federation_allow_private_hosts=True)
    assert check_site_url("http://127.0.0.1:8000", both)


def test_the_api_refuses_a_loopback_site_and_audits_nothing(client, db, make_user):
    coordinator = make_user(roles=["coordinator"], prefix="coord")
    h = bearer(db, coordinator)
    with changed(db, federation_allow_http=False, federation_allow_private_hosts=False):
        for url in ("https://127.0.0.1:9", "https://169.254.169.254", "http://93.184.215.14"):
            r = client.post("/api/federation/sites", headers=h,
                            json={"name": "probe", "url": url, "kind": "panosc"})  # fmt: skip
            assert r.status_code == 400 and r.json()["detail"].startswith("url: "), r.text
        assert client.get("/api/federation/sites", headers=h).json() == []
    with changed(db, federation_allow_http=True, federation_allow_private_hosts=True):
        r = client.post("/api/federation/sites", headers=h,
                        json={"name": "nearby", "url": "http://127.0.0.1:9", "kind": "panosc"})  # fmt: skip
        assert r.status_code == 201, r.text


@pytest.fixture()
def local_site():
    """A real HTTP server on 127.0.0.1 answering JSON, like a site whose name now resolves to loopback."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            body = json.dumps({"secret": "internal"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_an_answer_from_a_non_public_address_is_never_used(local_site):
    """DNS rebinding: a site's name checked at registration may later lead to loopback; the address the
    hub connected to is checked on every answer, by the harvest's client and the fan-out's client."""
    import httpx

    from halric.federation.addresses import NonPublicPeer, async_peer_hooks, peer_hooks
    from halric.federation.harvest import HarvestError, _get

    url, seen = local_site
    with httpx.Client(base_url=url, event_hooks=peer_hooks(STRICT)) as c:
        with pytest.raises(NonPublicPeer, match=r"127\.0\.0\.1, a non-public address"):
            c.get("/Datasets")
        with pytest.raises(HarvestError, match="NonPublicPeer"):
            _get(c, "/Datasets", {})
    allowed = Settings(federation_allow_http=True, federation_allow_private_hosts=True)
    with httpx.Client(base_url=url, event_hooks=peer_hooks(allowed)) as c:
        assert c.get("/Datasets").json() == {"secret": "internal"}

    async def fan_out(cfg):
        async with httpx.AsyncClient(event_hooks=async_peer_hooks(cfg)) as c:
            return (await c.get(url + "/Datasets")).json()

    with pytest.raises(NonPublicPeer):
        aio.run(lambda: fan_out(STRICT))
    assert aio.run(lambda: fan_out(allowed)) == {"secret": "internal"}
    assert len(seen) == 5  # each call reached the server: what is refused is the use of its answer


def test_the_hubs_own_clients_check_the_address(local_site):
    """The clients harvest and fan-out really use carry the check (with the suite's private hosts off)."""
    from halric.federation import fanout, harvest
    from halric.federation.addresses import NonPublicPeer

    url, _ = local_site
    with (
        harvest._client(url, 5.0, "token", STRICT) as c,
        pytest.raises(harvest.HarvestError, match="NonPublicPeer"),
    ):
        harvest._get(c, "/Datasets", {})

    async def ask():
        async with fanout.async_client(STRICT) as c:
            await c.get(url + "/Datasets")

    with pytest.raises(NonPublicPeer):
        aio.run(ask)
