"""The app factory."""

from __future__ import annotations

import os
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from halric import __version__
from halric.core.db import Database
from halric.core.settings import Settings
from halric.migrations import check_schema
from halric.web import errors, openapi
from halric.web.deps import commit_in_route_thread
from halric.web.guard import InputGuard
from halric.web.headers import SecurityHeaders
from halric.web.limits import BodyLimit


def _preload_matchmaking(db: Database, settings: Settings) -> None:
    """Load the matchmaking index, models and language detector while the server starts (#14 item 13)."""
    import logging

    from halric.match import service

    try:
        with db.session() as s:
            if not service.has_techniques(s):
                return  # an empty registry: questions are answered "load the registry first" meanwhile
            service.prepare(s, cache_dir=settings.cache_path)
    except Exception:  # the first question then prepares it instead; never stop the server for this
        logging.getLogger("halric.match").exception("could not prepare matchmaking at start-up")


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the hub. Refuses (SchemaOutOfDate) when the database schema is not current."""
    settings = settings or Settings()
    db = database or Database(settings.db_url, settings.pool_options(), settings)
    if database is not None and not database.has_settings:
        database.settings = settings  # one settings object for the app and the units of work it opens
    check_schema(db.engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        if os.environ.get("HALRIC_MATCH_PRELOAD") == "1":  # set by `halric serve`
            threading.Thread(target=_preload_matchmaking, args=(db, settings), daemon=True).start()
        yield
        if database is None:
            db.dispose()

    app = FastAPI(
        title="HALRIC Hub API",
        version=__version__,
        description="Find research infrastructure in the HALRIC region, apply for pilot projects, "
        "and handle experiment data. Authenticate scripts with a personal API token "
        "(`Authorization: Bearer hlr_...`), created on your account page.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # served by web/routes/apidocs.py from packaged files, under the CSP
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.nav = []  # (section, label, href), filled by the routers below
    errors.install(app)
    openapi.install(app)
    app.add_middleware(InputGuard)  # inside the security headers below

    app.add_middleware(SecurityHeaders)  # outside the guard: its refusals carry the headers too

    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    from halric.web.routes import (
        admin,
        admin_mail,
        apidocs,
        auth,
        calls_api,
        calls_pages,
        catalog,
        data_plan,
        downloads,
        federation,
        health,
        home,
        idp_admin,
        ingest,
        jobs,
        kpi_pages,
        match,
        oidc,
        personal_data,
        projects,
        registry_api,
        registry_pages,
        scicat,
        signup,
        visits_api,
        visits_pages,
    )

    for module in (
        health,
        apidocs,
        home,
        auth,
        oidc,
        signup,
        admin,
        personal_data,
        idp_admin,
        admin_mail,
        registry_pages,
        registry_api,
        match,
        calls_pages,
        calls_api,
        projects,
        visits_pages,
        visits_api,
        data_plan,
        kpi_pages,
        catalog,
        downloads,
        scicat,
        ingest,
        federation,
        jobs,
    ):
        module.register(app)
    commit_in_route_thread(app)
    app.add_middleware(BodyLimit, settings=settings)
    trusted = settings.trusted_proxies.strip()
    if trusted:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # X-Forwarded-For/-Proto believed only from these peers; the client is the right-most address
        # in X-Forwarded-For that is not one of them (what a client writes in the header itself is ignored)
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)
    return app


def iter_api_routes(app: FastAPI) -> list[tuple[str, Any, list[Any]]]:
    """Every API route of the app as (full path, route, dependencies added at include time).

    FastAPI >= 0.16x keeps included routers as branches instead of copying their routes; this walks
    both layouts so the access-rule check sees every route.
    """
    from fastapi.routing import APIRoute

    out: list[tuple[str, Any, list[Any]]] = []

    def walk(routes: list[Any], prefix: str, extra: list[Any]) -> None:
        for r in routes:
            if isinstance(r, APIRoute):
                out.append((prefix + r.path, r, extra))
            elif hasattr(r, "original_router"):
                ctx = r.include_context
                walk(
                    r.original_router.routes,
                    prefix + (ctx.prefix or ""),
                    extra + list(ctx.dependencies or []),
                )

    walk(list(app.routes), "", [])
    return out


def other_routes(app: FastAPI) -> list[Any]:
    """Routes that are neither API routes nor included routers (mounts, framework routes)."""
    from fastapi.routing import APIRoute

    return [r for r in app.routes if not isinstance(r, APIRoute) and not hasattr(r, "original_router")]
