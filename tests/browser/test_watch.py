"""The watch every browser test runs under notices what a person would: each kind of problem, provoked on
a real hub page in real Chromium, fails the check; a declared status does not."""

from __future__ import annotations

import pytest
from tests.support.browser import Browse, assert_accessible, assert_fits

pytestmark = pytest.mark.browser


def _problems(chromium, base: str, provoke) -> list[str]:
    watch = Browse(chromium)
    try:
        page = watch.new_page()
        page.goto(base + "/")
        provoke(page, watch)
        page.wait_for_timeout(150)  # let events of timers and late requests arrive
        with pytest.raises(AssertionError) as failed:
            watch.check()
        return str(failed.value).splitlines()[1:]
    finally:
        watch.close()


def test_each_kind_of_problem_fails_the_check(hub, chromium):
    base = hub["base"]
    found = _problems(chromium, base, lambda p, w: p.evaluate("console.error('broken widget')"))
    assert any("broken widget" in line for line in found)

    inline = "document.body.insertAdjacentHTML('beforeend', '<p style=\"color: red\">x</p>')"
    found = _problems(chromium, base, lambda p, w: p.evaluate(inline))
    assert any("CSP violation: style-src" in line for line in found), found

    found = _problems(
        chromium, base, lambda p, w: p.evaluate("setTimeout(() => { throw new Error('kaboom') }, 0)")
    )
    assert any("uncaught exception" in line and "kaboom" in line for line in found), found

    fetch = "fetch('/api/no-such-endpoint').then(r => r.status)"
    found = _problems(chromium, base, lambda p, w: p.evaluate(fetch))
    assert any("unexpected 404" in line and "/api/no-such-endpoint" in line for line in found), found

    found = _problems(chromium, base, lambda p, w: p.goto(base + "/no-such-page"))
    assert any("unexpected 404" in line and "/no-such-page" in line for line in found), found


def test_a_declared_status_passes(hub, chromium):
    watch = Browse(chromium)
    try:
        page = watch.new_page()
        watch.expect_status(404, "/no-such-page")
        response = page.goto(hub["base"] + "/no-such-page")
        assert response is not None and response.status == 404
        watch.check()  # nothing else went wrong
    finally:
        watch.close()


def test_axe_and_the_phone_check_fail_on_real_defects(hub, page):
    page.goto(hub["base"] + "/")
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\">')"
    )
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)
    page.goto(hub["base"] + "/")
    page.evaluate(
        "const d = document.createElement('div'); d.textContent = 'wide'; d.setAttribute('class', 'x');"
        "d.style.width = '900px'; document.querySelector('main').append(d)"
    )
    with pytest.raises(AssertionError, match=r"900|wide"):
        assert_fits(page, 390)
