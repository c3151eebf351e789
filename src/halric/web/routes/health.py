"""Liveness, version and database reachability."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import Field
from sqlalchemy import text

from halric import __version__
from halric.core.actor import Actor
from halric.core.answers import Out
from halric.web.access import PUBLIC
from halric.web.routing import attach

router = APIRouter(tags=["health"])


class Alive(Out):
    status: str = Field(description="ok")
    version: str = Field(description="The hub's version")


class DatabaseReached(Out):
    status: str = Field(description="ok")
    dialect: str = Field(description="sqlite or postgresql")


@router.get("/healthz", summary="Liveness check")
async def healthz(actor: Actor = Depends(PUBLIC)) -> Alive:
    # answered on the event loop itself: no worker thread, no database, fast while the hub is busy
    return Alive(status="ok", version=__version__)


@router.get("/api/health/database", summary="Database round trip")
def health_database(request: Request, actor: Actor = Depends(PUBLIC)) -> DatabaseReached:
    db = request.app.state.db
    with db.session(write=False) as s:
        s.execute(text("SELECT 1"))
    return DatabaseReached(status="ok", dialect=db.engine.dialect.name)


def register(app: FastAPI) -> None:
    attach(app, router)
