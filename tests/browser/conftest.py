"""Browser-test fixtures: a real hub process and the session's Chromium, every page watched (see
tests/support/browser.py: a console error, CSP violation, uncaught exception, failed request or unexpected
4xx/5xx answer fails the test)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.browser import CHROMIUM, Browse, WatchedBrowser, serve_hub


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_ok: bool
) -> Iterator[dict]:
    """A hub served by `halric serve` on a free port, initialised like `make run` does."""
    with serve_hub(request.param, tmp_path_factory.mktemp("hub"), pg_ok) as h:
        yield h


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """The one Chromium of the session (tests reach it through the watched ``browser`` fixture)."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make test` (installs the Debian package) or set HALRIC_CHROMIUM"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield b
        b.close()


@pytest.fixture()
def browse(request: pytest.FixtureRequest, chromium: Any) -> Iterator[Browse]:
    """The watch of this test; checked after the test body (a problem fails the test itself)."""
    watch = Browse(chromium)
    request.node._halric_browse = watch
    yield watch
    watch.close()


@pytest.fixture()
def browser(browse: Browse) -> WatchedBrowser:
    return WatchedBrowser(browse)


@pytest.fixture()
def page(browse: Browse) -> Any:
    return browse.page


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    watch = getattr(item, "_halric_browse", None)
    if watch is not None:
        watch.check()
    return result
