"""Small FastAPI dependencies shared by routers."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from halric.core.settings import Settings


def db_session(request: Request) -> Iterator[Session]:
    """A unit of work per request: committed when the route returns, rolled back on error."""
    with request.app.state.db.session() as s:
        yield s


def settings(request: Request) -> Settings:
    return request.app.state.settings


# Ends (commit or rollback) when the route function returns, before the response is sent,
# so a failed commit is answered as an error and a client never sees a write that did not happen.
DB = Depends(db_session, scope="function")
