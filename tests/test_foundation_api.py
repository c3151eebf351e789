"""Health, OpenAPI, the error contract and security headers."""

from __future__ import annotations

from tests.support.accounts import bearer


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    from halric import __version__

    assert body["version"] == __version__


def test_database_health_reports_dialect(client, db):
    r = client.get("/api/health/database")
    assert r.status_code == 200
    assert r.json()["dialect"] == db.engine.dialect.name


def test_openapi_and_docs(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    assert "/healthz" in paths and "/api/me" in paths and "/api/admin/audit" in paths
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_error_shape_404_405_401_403_422(client, make_user, db):
    r = client.get("/api/does-not-exist")
    assert r.status_code == 404 and isinstance(r.json()["detail"], str)
    r = client.delete("/healthz")
    assert r.status_code == 405 and "not allowed" in r.json()["detail"]
    r = client.get("/api/me")
    assert r.status_code == 401 and "Sign in" in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"
    applicant = make_user(["applicant"])
    r = client.get("/api/admin/users", headers=bearer(db, applicant))
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    admin = make_user(["admin"])
    r = client.post("/api/admin/users", json={"username": "x"}, headers=bearer(db, admin))
    assert r.status_code == 422
    body = r.json()
    assert isinstance(body["detail"], str) and "email" in body["detail"]
    assert {"field", "message"} <= set(body["errors"][0])


def test_conflict_409_names_the_field(client, make_user, db):
    admin = make_user(["admin"])
    h = bearer(db, admin)
    new = {"username": "dupe-" + admin, "email": f"d-{admin}@example.org", "password": "long-enough-pw"}
    assert client.post("/api/admin/users", json=new, headers=h).status_code == 201
    again = dict(new, email="other-" + new["email"])
    r = client.post("/api/admin/users", json=again, headers=h)
    assert r.status_code == 409 and "user name" in r.json()["detail"]


def test_bad_token_is_401_not_500(client):
    r = client.get("/api/me", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401
    assert "invalid" in r.json()["detail"]


def test_unexpected_error_has_no_traceback(app):
    from fastapi import Depends
    from fastapi.testclient import TestClient

    from halric.web.access import PUBLIC

    @app.get("/api/_boom_for_test", dependencies=[Depends(PUBLIC)])
    def boom() -> None:
        raise RuntimeError("secret internals")

    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            r = c.get("/api/_boom_for_test")
        assert r.status_code == 500
        assert "secret internals" not in r.text and "Traceback" not in r.text
        assert "request id" in r.json()["detail"]
    finally:
        app.router.routes[:] = [
            rt for rt in app.router.routes if getattr(rt, "path", "") != "/api/_boom_for_test"
        ]


def test_security_headers_on_pages(client):
    r = client.get("/")
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_security_headers_on_every_kind_of_answer(client):
    """Errors, refusals by the input guard and static files carry the headers as pages do, once each."""
    answers = {
        "404": client.get("/api/calls/999999"),
        "guard 400": client.get("/api/catalog/search?q=a%00b"),
        "static": client.get("/static/favicon.svg"),
        "json": client.get("/healthz"),
    }
    assert answers["guard 400"].status_code == 400
    assert answers["static"].status_code == 200
    for what, r in answers.items():
        assert r.headers["x-frame-options"] == "DENY", what
        assert r.headers["referrer-policy"] == "same-origin", what
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], what
        assert r.headers.get_list("content-security-policy") == [r.headers["content-security-policy"]], what


def test_html_pages_have_no_external_assets(client):
    import re

    html = client.get("/").text
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not url.startswith(("http://", "https://", "//")), url


def test_system_actor_is_not_anonymous():
    from halric.core.actor import ANONYMOUS, system_actor

    assert ANONYMOUS.is_anonymous
    for via in ("cli", "system"):
        actor = system_actor("cron", via=via)
        assert not actor.is_anonymous and actor.is_admin
