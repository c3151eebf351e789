"""The app's routes sit in one flat list (web/routing.attach), and each path reaches the route declared
for it: placing the routers' routes directly in the app's list must not let one route answer another's
paths."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Match, Mount, Route

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _found(app, method: str, path: str):
    scope = {
        "type": "http",
        "path": path,
        "method": method,
        "root_path": "",
        "headers": [],
        "query_string": b"",
    }
    for route in app.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return route
    return None


def test_no_nested_routers(app) -> None:
    # a router added with app.include_router would be one entry walked into on every request
    kinds = {type(r) for r in app.routes}
    assert kinds <= {APIRoute, Route, Mount}, kinds
    assert sum(isinstance(r, APIRoute) for r in app.routes) > 300


def test_every_path_reaches_its_own_route(app) -> None:
    checked = 0
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path_format)  # "1" fits str, int and path parameters
        for method in route.methods:
            found = _found(app, method, path)
            assert found is not None, (method, route.path_format)
            # the route itself, or an earlier declaration of the same path and method
            assert found.path_format == route.path_format, (method, route.path_format, found.path_format)
            checked += 1
    assert checked > 300


def test_known_paths(client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/registry").status_code == 200
    assert client.get("/api/v3/datasets/no-such-pid").status_code == 404
    assert client.post("/healthz").status_code == 405  # the path exists, the method does not
    assert client.get("/no/such/page").status_code == 404
