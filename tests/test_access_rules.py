"""Every route declares exactly one access rule; protected routes refuse the wrong callers."""

from __future__ import annotations

import pytest
from starlette.routing import Mount

from halric.web.access import Rule

# Routes FastAPI itself adds for the API documentation (public by design).
FRAMEWORK_ROUTES = {"/api/openapi.json", "/api/docs"}


def _rules(dependant) -> list[Rule]:
    found = []
    for dep in dependant.dependencies:
        if isinstance(dep.call, Rule):
            found.append(dep.call)
        found.extend(_rules(dep))
    return found


def all_routes(app):
    """(path, methods, rules) for every API route, rules from the route and from include-time dependencies."""
    from halric.web.app import iter_api_routes

    out = []
    for path, route, extra in iter_api_routes(app):
        rules = _rules(route.dependant) + [d.dependency for d in extra if isinstance(d.dependency, Rule)]
        out.append((path, route.methods, rules))
    return out


def test_every_route_has_exactly_one_access_rule(app):
    missing, doubled = [], []
    from halric.web.app import other_routes

    routes = all_routes(app)
    assert len(routes) > 20
    for path, methods, rules in routes:
        if not rules:
            missing.append(f"{sorted(methods)} {path}")
        elif len({type(r) for r in rules}) > 1:
            doubled.append(f"{sorted(methods)} {path}")
    assert not missing, f"routes without an access rule: {missing}"
    assert not doubled, f"routes with conflicting access rules: {doubled}"
    for r in other_routes(app):
        assert (isinstance(r, Mount) and r.path == "/static") or r.path in FRAMEWORK_ROUTES, r


def test_the_walk_finds_a_route_without_a_rule(app):
    """The check above can fail: a route with no rule is detected."""
    from fastapi import FastAPI

    bare = FastAPI()

    @bare.get("/x")
    def x() -> None:
        return None

    assert [p for p, _, rules in all_routes(bare) if not rules] == ["/x"]


def _example_path(path: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "1", path)


def test_anonymous_is_refused_everywhere_a_sign_in_is_required(app, client):
    from halric.web.access import Public

    checked = 0
    for path, methods, rules in all_routes(app):
        if any(isinstance(r, Public) for r in rules):
            continue
        for method in methods - {"HEAD", "OPTIONS"}:
            r = client.request(
                method, _example_path(path), follow_redirects=False, headers={"Accept": "application/json"}
            )
            # 401 for the API; 303 to the sign-in page or 403 (CSRF) for forms
            assert r.status_code in (401, 303, 403), (method, path, r.status_code)
            if r.status_code == 303:
                assert r.headers["location"].startswith("/signin")
            checked += 1
    assert checked >= 5


@pytest.mark.parametrize("path", ["/admin/users", "/admin/audit", "/api/admin/users", "/api/admin/audit"])
def test_admin_pages_refuse_other_roles(app, client, make_user, path):
    from tests.support.accounts import signin

    signin(client, make_user(["coordinator", "steward"]))
    r = client.get(path)
    assert r.status_code == 403
