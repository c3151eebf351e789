"""The interactive API documentation (Swagger UI), served from the hub itself.

Swagger UI's files come from the ``fastapi-offline`` package (its ``static`` folder ships the
swagger-ui-dist bundle), so the page works without internet access; it is started by
``/static/swagger-init.js`` instead of an inline script, so the hub's strict Content-Security-Policy
applies here as on every other page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse

from halric.core.actor import Actor
from halric.core.errors import NotFound
from halric.web.access import PUBLIC
from halric.web.routing import attach

router = APIRouter(include_in_schema=False)
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


def _assets_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


@router.get("/api/docs", response_class=HTMLResponse)
def docs(request: Request, actor: Actor = Depends(PUBLIC)) -> HTMLResponse:
    title = request.app.title
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · documentation</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
<main id="swagger-ui" data-openapi="{request.app.openapi_url}"></main>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script>
</body>
</html>"""
    )


@router.get("/api/docs/assets/{name}")
def asset(name: str, actor: Actor = Depends(PUBLIC)) -> FileResponse:
    if name not in ASSETS:
        raise NotFound(f"No documentation asset {name!r}.")
    return FileResponse(
        _assets_dir() / name, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"}
    )


def register(app: FastAPI) -> None:
    attach(app, router)
