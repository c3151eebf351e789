"""Real OpenID providers for the tests: panva's certified ``oidc-provider`` on Node.js, installed from
tests/oidc/provider/package-lock.json (``npm ci`` when node_modules is missing) and started on free
ports, one Node process per test module. ``sign_in_at_provider`` walks the provider's real login and
consent pages over HTTP, as a person's browser would."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from tests.support.databases import IN_CI
from tests.support.net import free_port

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc" / "provider"
HUB_SECRET = "hub-client-secret-0123456789"


def new_key(kid: str) -> dict[str, Any]:
    from joserfc.jwk import RSAKey

    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True)
    return key.as_dict(private=True)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("Node.js is required for the OpenID provider tests when CI=true")
        pytest.skip("Node.js not installed (set CI=true to make this a failure)")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        r = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        assert r.returncode == 0, "npm ci failed: " + r.stderr[-2000:]
    return node


@dataclass
class OP:
    """One provider of the running process."""

    issuer: str
    port: int
    clients: list[dict[str, Any]]
    keys: list[dict[str, Any]]


@dataclass
class Providers:
    """The Node process with its providers; users and clock live in a state file read at every use."""

    workdir: Path
    ops: list[OP]
    state: dict[str, Any] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    def write_state(self) -> None:
        tmp = self.workdir / "state.json.tmp"
        tmp.write_text(json.dumps(self.state))
        tmp.replace(self.workdir / "state.json")

    def set_user(self, op: OP, login: str, **claims: Any) -> None:
        self.state.setdefault("users", {}).setdefault(op.issuer, {})[login] = claims
        self.write_state()

    def set(self, **values: Any) -> None:
        self.state.update(values)
        self.write_state()
        time.sleep(0.2)  # the provider polls the clock offset every 50 ms

    def start(self) -> None:
        config = {
            "state": str(self.workdir / "state.json"),
            "providers": [
                {"issuer": op.issuer, "port": op.port, "clients": op.clients, "jwks": {"keys": op.keys}}
                for op in self.ops
            ],
        }
        (self.workdir / "config.json").write_text(json.dumps(config))
        self.write_state()
        log = (self.workdir / "provider.log").open("a")
        self.proc = subprocess.Popen(
            [_node(), str(PROVIDER_DIR / "server.mjs"), str(self.workdir / "config.json")],
            cwd=PROVIDER_DIR, stdout=log, stderr=log,
        )  # fmt: skip
        for op in self.ops:
            for _ in range(300):
                try:
                    r = httpx.get(op.issuer + "/.well-known/openid-configuration", timeout=1)
                    if r.status_code == 200:
                        break
                except httpx.HTTPError:
                    if self.proc.poll() is not None:
                        log_text = (self.workdir / "provider.log").read_text()
                        raise RuntimeError("provider exited: " + log_text) from None
                    time.sleep(0.05)
            else:
                raise RuntimeError("provider did not start: " + (self.workdir / "provider.log").read_text())

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def start_providers(
    workdir: Path, redirect_bases: list[str], count: int = 2, client_ids: tuple[str, ...] = ("hub", "other")
) -> Providers:
    """``count`` providers, each with the confidential clients ``client_ids`` (secret HUB_SECRET) whose
    redirect URIs are ``BASE/signin/oidc/NAME/callback`` for every base and the names op0..op3,
    other."""
    names = [f"op{i}" for i in range(4)] + ["other"]
    ops = []
    for i in range(count):
        port = free_port()
        clients = [
            {
                "client_id": cid,
                "client_secret": HUB_SECRET,
                "redirect_uris": [f"{b}/signin/oidc/{n}/callback" for b in redirect_bases for n in names],
                "post_logout_redirect_uris": [f"{b}/" for b in redirect_bases],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
            }
            for cid in client_ids
        ]
        ops.append(OP(f"http://127.0.0.1:{port}", port, clients, [new_key(f"op{i}-k1")]))
    providers = Providers(workdir, ops, {"users": {}, "id_token_ttl": 3600, "clock_offset": 0})
    providers.start()
    return providers


def _form(html: str, base: str) -> tuple[str, dict[str, str]]:
    import lxml.html

    doc = lxml.html.fromstring(html)
    forms = doc.forms
    assert forms, "no form on the provider's page: " + html[:500]
    form = forms[0]
    data = {k: v for k, v in form.form_values()}
    return urljoin(base, form.action or base), data


def provider_login(authorize_url: str, login: str, redirect_prefix: str, *, consent: bool = True) -> str:
    """Go through the provider's real pages: open the authorisation URL, fill in the login form, give
    consent; returns the URL the provider sends the browser back to (the hub's callback)."""
    with httpx.Client(timeout=10) as op:
        r = op.get(authorize_url)
        for _ in range(12):
            if r.is_redirect:
                loc = urljoin(str(r.url), r.headers["location"])
                if loc.startswith(redirect_prefix):
                    return loc
                r = op.get(loc)
                continue
            assert r.status_code == 200, f"provider answered {r.status_code}: {r.text[:500]}"
            action, data = _form(r.text, str(r.url))
            if "login" in data or 'name="login"' in r.text:
                data.update(login=login, password="any-password")
            r = op.post(action, data=data)
        raise AssertionError("the provider never sent the browser back")


def sign_in_at_provider(client: Any, name: str, login: str, *, next: str | None = None) -> Any:
    """The whole sign-in through the hub's TestClient and the provider; returns the hub's answer to the
    callback (not followed)."""
    r = client.get(f"/signin/oidc/{name}" + (f"?next={next}" if next else ""), follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    back = callback_url(r.headers["location"], login)
    return client.get(back, follow_redirects=False)


def callback_url(authorize_url: str, login: str) -> str:
    """The path and query the provider sends back to (for the hub's TestClient)."""
    url = provider_login(authorize_url, login, "http://127.0.0.1:8000/")
    parts = urlsplit(url)
    return parts.path + "?" + parts.query
