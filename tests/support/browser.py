"""A real hub process and real Chromium (Debian package) driven by Playwright's Python API.

Every page a browser test opens is *watched*: a console error, a Content-Security-Policy violation, an
uncaught exception in the page, a failed request or a 4xx/5xx answer to the page or to any of its
XHR/fetch/subresource requests fails the test — unless the test declared it first with
``expect_status(page, 403, "/admin")`` (or ``browse.expect_status(...)``). Pages come from the ``page``
fixture, from ``browse.new_page()``, or from ``browser.new_context()`` / ``browser.new_page()``; all three
are watched, so a test cannot open an unwatched page by accident.

Helpers for what a person does and sees: ``type_into`` (click the visible label, type on the keyboard),
``assert_accessible`` (axe-core: no serious or critical violation) and ``assert_fits(page, 390)`` (no
horizontal overflow on a phone-sized screen). ``screenshot`` writes docs/img/*.png when
HALRIC_SCREENSHOTS=1.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.support.databases import create_pg_database, drop_pg_database
from tests.support.net import free_port

CHROMIUM = os.environ.get("HALRIC_CHROMIUM", "/usr/bin/chromium")
ADMIN_PASSWORD = "browser-admin-password"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
PHONE = {"width": 390, "height": 844}

# Chromium's own console line for a 4xx/5xx answer; matched against the declared statuses.
_FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")
_CHROMIUM_CSP = re.compile(r"violates the following Content Security Policy directive")
_CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
                ' at ' + e.sourceFile + ':' + e.lineNumber + ' (' + (e.sample || '') + ')');
});
"""


def halric(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        [sys.executable, "-m", "halric.cli.main", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    return r


@contextmanager
def serve_hub(
    kind: str, data: Path, pg_ok: bool, extra_env: dict[str, str] | None = None, *, port: int | None = None
) -> Iterator[dict]:
    """`halric init` + one applicant, then `halric serve` on a free port over a fresh SQLite or PostgreSQL
    database, as `make run` does; yields {"base", "env", "data"}."""
    pg_name = None
    if kind == "sqlite":
        url = f"sqlite:///{data / 'halric.db'}"
    else:
        if not pg_ok:
            pytest.skip("PostgreSQL not reachable (set CI=true to make this a failure)")
        pg_name, url = create_pg_database("browser")
    port = port or free_port()
    env = {
        **os.environ,
        "HALRIC_DATA_DIR": str(data),
        "HALRIC_DATABASE_URL": url,
        "HALRIC_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "HALRIC_BASE_URL": f"http://127.0.0.1:{port}",
        **(extra_env or {}),
    }
    halric(["init"], env)
    halric(
        ["user", "add", "appl", "--email", "appl@example.org", "--role", "applicant", "--password-stdin"],
        env,
        stdin="applicant-password\n",
    )
    log = (data / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "halric.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("hub did not start: " + Path(data / "server.log").read_text())
        yield {"base": base, "env": env, "data": data}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
        if pg_name:
            drop_pg_database(pg_name)


def add_people(url: str, people: dict[str, tuple[str, str | None]], password: str) -> dict[str, str]:
    """Accounts ``{name: (role, organisation)}`` written straight into the hub's database (faster than one
    `halric user add` process each), e-mail ``<name>@example.org``; returns an API token per name."""
    from halric.accounts import service
    from halric.accounts.schemas import NewUser
    from halric.core.actor import system_actor
    from halric.core.db import Database

    db = Database(url)
    tokens = {}
    try:
        with db.session() as s:
            for name, (role, org) in people.items():
                user = service.create_user(s, system_actor("test"), NewUser(
                    username=name, email=f"{name}@example.org", password=password, roles=[role],
                    organisation_id=org))  # fmt: skip
                tokens[name], _ = service.create_api_token(s, system_actor("test"), user, "test")
    finally:
        db.dispose()
    return tokens


# --- what a person would notice ------------------------------------------------------------------------


@dataclass
class Expected:
    status: int
    path: str

    def matches(self, status: int, url: str) -> bool:
        if status != self.status:
            return False
        path = urlsplit(url).path
        if "*" in self.path:
            import fnmatch

            return fnmatch.fnmatchcase(path, self.path)
        return path == self.path or path.startswith(self.path.rstrip("/") + "/")


@dataclass
class Browse:
    """Watches every page of one test; see the module docstring. ``problems`` fail the test."""

    chromium: Any
    problems: list[str] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)
    ignored_console: list[re.Pattern[str]] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)
    _page: Any = None

    def expect_status(self, status: int, path: str) -> None:
        """Declare an answer the test provokes on purpose: ``status`` for ``path`` (exact path, a path
        prefix ending at a '/', or a glob with '*')."""
        self.expected.append(Expected(status, path))

    def expect_console(self, pattern: str) -> None:
        """Declare a console error the test provokes on purpose (regular expression)."""
        self.ignored_console.append(re.compile(pattern))

    # contexts and pages ----------------------------------------------------------------------------
    def new_context(self, **kwargs: Any) -> Any:
        context = self.chromium.new_context(**kwargs)
        context.add_init_script(_CSP_LISTENER)
        context.set_default_timeout(15000)
        context.on("console", self._console)
        context.on("weberror", lambda e: self.problems.append(f"uncaught exception in the page: {e.error}"))
        context.on("response", self._response)
        context.on("requestfailed", self._request_failed)
        self.contexts.append(context)
        context._impl_obj._halric_watch = self
        return context

    def new_page(self, **kwargs: Any) -> Any:
        """A page in a fresh context (a separate person: own cookies)."""
        return self.new_context(**kwargs).new_page()

    @property
    def page(self) -> Any:
        if self._page is None:
            self._page = self.new_page()
        return self._page

    def _is_expected(self, status: int, url: str) -> bool:
        return any(e.matches(status, url) for e in self.expected)

    def _console(self, msg: Any) -> None:
        if msg.type != "error":
            return
        text = msg.text
        failed = _FAILED_LOAD.search(text)
        url = (msg.location or {}).get("url", "") or (msg.page.url if msg.page else "")
        if _CHROMIUM_CSP.search(text):
            return  # Chromium's own line for a CSP violation; the listener reports it with its place
        if failed and self._is_expected(int(failed.group(1)), url):
            return
        if failed:
            return  # reported with its address by _response (one line per problem)
        if any(p.search(text) for p in self.ignored_console):
            return
        self.problems.append(f"console error on {url}: {text}")

    def _response(self, response: Any) -> None:
        if response.status < 400 or self._is_expected(response.status, response.url):
            return
        request = response.request
        self.problems.append(
            f"unexpected {response.status} for {request.method} {response.url} ({request.resource_type})"
        )

    def _request_failed(self, request: Any) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" in failure:  # a navigation replaced by a download or by the next navigation
            return
        self.problems.append(f"request failed: {request.method} {request.url}: {failure}")

    def check(self) -> None:
        if self.problems:
            seen: list[str] = []
            for p in self.problems:
                if p not in seen:
                    seen.append(p)
            self.problems.clear()
            raise AssertionError(
                "The browser showed problems a person would notice:\n  " + "\n  ".join(seen[:40])
            )

    def close(self) -> None:
        for c in self.contexts:
            with contextlib.suppress(Exception):  # already closed by the test
                c.close()
        self.contexts.clear()


def watch_of(page: Any) -> Browse:
    return page.context._impl_obj._halric_watch


def expect_status(page: Any, status: int, path: str) -> None:
    """Declare on the watch of ``page``'s test that ``status`` for ``path`` is intended."""
    watch_of(page).expect_status(status, path)


class WatchedBrowser:
    """The session's Chromium as a test sees it: every context and page it opens is watched."""

    def __init__(self, watch: Browse) -> None:
        self._watch = watch

    def new_context(self, **kwargs: Any) -> Any:
        return self._watch.new_context(**kwargs)

    def new_page(self, **kwargs: Any) -> Any:
        return self._watch.new_page(**kwargs)


# --- typing as a person does --------------------------------------------------------------------------


def type_into(page: Any, label: str, text: str, *, exact: bool = False, clear: bool = True) -> None:
    """Click the field by its visible label and type ``text`` on the keyboard (key events, not fill)."""
    field_ = page.get_by_label(label, exact=exact)
    field_.click()
    if clear:
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.press("Delete")
    page.keyboard.type(text)


def press(page: Any, *keys: str) -> None:
    for key in keys:
        page.keyboard.press(key)


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    """From the start page, by the header link, typing the credentials."""
    page.goto(base + "/")
    page.get_by_role("link", name="Sign in").click()
    type_into(page, "User name", username)
    type_into(page, "Password", password)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/dashboard")


# --- accessibility and small screens ------------------------------------------------------------------

_AXE: Any = None


def assert_accessible(page: Any, *, impacts: tuple[str, ...] = ("serious", "critical")) -> None:
    """axe-core on the page as it is: no violation of impact ``serious`` or ``critical``."""
    global _AXE
    if _AXE is None:
        from axe_playwright_python.sync_playwright import Axe

        _AXE = Axe()
    results = _AXE.run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in impacts]
    if bad:
        lines = []
        for v in bad:
            targets = ", ".join(" ".join(n["target"]) for n in v["nodes"][:4])
            lines.append(f"{v['impact']}: {v['id']} — {v['help']} ({len(v['nodes'])}×: {targets})")
        raise AssertionError(f"axe on {page.url}:\n  " + "\n  ".join(lines))


_OVERFLOW_JS = """
(limit) => {
  const doc = document.documentElement;
  const wide = [], escaped = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '');
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > limit + 1 && getComputedStyle(el).position === 'absolute')
      escaped.push(name(el) + ' (absolute) right=' + Math.round(r.right));
    if (r.width > 0 && r.right > limit + 1) {
      let p = el.parentElement, clipped = false;
      while (p && p !== document.body) {
        const o = getComputedStyle(p).overflowX;
        if (o === 'auto' || o === 'scroll' || o === 'hidden') { clipped = true; break; }
        p = p.parentElement;
      }
      if (!clipped) wide.push(name(el) + ' right=' + Math.round(r.right));
    }
  }
  return {scroll: doc.scrollWidth, wide: (wide.length ? wide : escaped).slice(0, 8)};
}
"""


def assert_fits(page: Any, width: int = PHONE["width"]) -> None:
    """At ``width`` CSS pixels the page scrolls only vertically (wide tables may scroll in their own box)."""
    page.set_viewport_size({"width": width, "height": PHONE["height"]})
    found = page.evaluate(_OVERFLOW_JS, width)
    assert found["scroll"] <= width, (
        f"{page.url} is {found['scroll']} px wide on a {width} px screen; too wide: {found['wide']}"
    )


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path | None:
    """docs/img/<name>.png, only when HALRIC_SCREENSHOTS=1 (the committed pictures come from the tests)."""
    if os.environ.get("HALRIC_SCREENSHOTS") != "1":
        return None
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    path = DOCS_IMG / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
