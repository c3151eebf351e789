"""Small FastAPI dependencies shared by routers, and the per-request unit of work.

A request's database work never waits on the event loop: sync routes run in a worker thread and their
session is committed (or rolled back) in that same thread, before the thread is given back — so no
transaction stays open across an ``await`` and no lock is held while the request waits for the loop.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from halric.core.db import DatabaseBusy
from halric.core.settings import Settings

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def db_session(request: Request) -> AsyncIterator[Session]:
    """A unit of work per request: committed when the route returns, rolled back on error.

    GET/HEAD requests get a reading session (on SQLite it never queues for the write lock); routes that
    write on GET use :data:`DB_WRITE`. The request first waits its turn on the event loop (:class:`DbGate`),
    holding neither a thread nor a connection while it waits."""
    async for s in _unit(request, write=request.method not in SAFE_METHODS):
        yield s


async def db_write_session(request: Request) -> AsyncIterator[Session]:
    """A writing unit of work whatever the method (a GET that records something)."""
    async for s in _unit(request, write=True):
        yield s


async def _unit(request: Request, *, write: bool) -> AsyncIterator[Session]:
    db = request.app.state.db
    async with DbGate.of(request.app).turn(request, write=write):
        s = db.new_session(write=write)
        try:
            yield s
        except BaseException:
            await _end(s, commit=False)
            raise
        await _end(s, commit=True)


async def _end(s: Session, *, commit: bool) -> None:
    """Commit (or roll back) and close; the route normally did it already in its own thread
    (:func:`commit_in_route_thread`), and then closing does no I/O."""
    if not s.in_transaction():
        s.close()
        return

    def finish() -> None:
        try:
            if commit:
                s.commit()
            else:
                s.rollback()
        finally:
            s.close()

    with anyio.CancelScope(shield=True):
        await run_in_threadpool(finish)


class DbGate:
    """Where requests wait for the database: on the event loop, in arrival order.

    At most ``slots`` requests of a process work on the database at once (fewer than its connections,
    so a request that has its turn never waits for a connection), and on SQLite one writing request
    at a time (the others queue here instead of holding connections while they wait for the write lock).
    A request that waits longer than ``wait`` seconds is answered 503 with nothing changed."""

    def __init__(self, slots: int, serial_writes: bool, wait: float) -> None:
        self.slots = slots
        self.serial_writes = serial_writes
        self.wait = wait
        self._per_loop: weakref.WeakKeyDictionary[Any, tuple[asyncio.Semaphore, asyncio.Lock]] = (
            weakref.WeakKeyDictionary()
        )

    @classmethod
    def of(cls, app: Any) -> DbGate:
        gate = getattr(app.state, "db_gate", None)
        if gate is None:
            db = app.state.db
            opts = db.options
            slots = max(1, opts.pool_size + opts.max_overflow - 1)
            gate = app.state.db_gate = cls(
                slots, db.url.startswith("sqlite"), opts.pool_timeout + opts.busy_timeout
            )
        return gate

    def _primitives(self) -> tuple[asyncio.Semaphore, asyncio.Lock]:
        loop = asyncio.get_running_loop()
        found = self._per_loop.get(loop)
        if found is None:
            found = self._per_loop[loop] = (asyncio.Semaphore(self.slots), asyncio.Lock())
        return found

    @asynccontextmanager
    async def turn(self, request: Any, *, write: bool) -> AsyncIterator[None]:
        if getattr(request.state, "db_turn", False):  # already has one (caller lookup inside a route's turn)
            yield
            return
        slots, writer = self._primitives()
        async with AsyncExitStack() as stack:
            try:
                async with asyncio.timeout(self.wait):
                    if write and self.serial_writes:
                        await stack.enter_async_context(writer)
                    await stack.enter_async_context(slots)
            except TimeoutError:
                raise DatabaseBusy("Waited too long for the database.") from None
            request.state.db_turn = True
            try:
                yield
            finally:
                request.state.db_turn = False


async def form_data(request: Request) -> FormData:
    """The posted form, read on the event loop so the route itself can be a plain (threaded) function.
    Fields up to 16 MB are read (Starlette stops at 1 MB with a bare 400), so that a form's page can say
    which field is too long and keep the rest of the input (web/forms.py)."""
    from halric.web.forms import read_form

    return await read_form(request)


def settings(request: Request) -> Settings:
    return request.app.state.settings


# Ends (commit or rollback) when the route function returns, before the response is sent,
# so a failed commit is answered as an error and a client never sees a write that did not happen.
DB = Depends(db_session, scope="function")
DB_WRITE = Depends(db_write_session, scope="function")
FORM = Depends(form_data)
__all__ = ["DB", "DB_WRITE", "FORM", "FormData", "commit_in_route_thread", "db_session", "settings"]


def _unit_of_work(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a sync route so its sessions are committed in the route's own thread."""

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        sessions = [v for v in kwargs.values() if isinstance(v, Session)]
        try:
            result = endpoint(*args, **kwargs)
            for s in sessions:
                s.commit()  # the dependency's own commit then finds nothing to do
        except BaseException:
            for s in sessions:
                s.rollback()
            raise
        return result

    run.__halric_unit_of_work__ = True  # type: ignore[attr-defined]
    return run


def commit_in_route_thread(app: FastAPI) -> int:
    """Make every sync route that takes a database session commit in its own worker thread.

    FastAPI would otherwise end the session in a second thread hop after the route returned, with the
    transaction (and its row locks) held until the event loop gets round to it. Returns the number of
    routes changed."""
    from halric.web.app import iter_api_routes

    changed = 0
    for _path, route, _extra in iter_api_routes(app):
        call = route.dependant.call
        if (
            call is None
            or inspect.iscoroutinefunction(call)
            or getattr(call, "__halric_unit_of_work__", False)
        ):
            continue
        uses_db = any(d.call in (db_session, db_write_session) for d in route.dependant.dependencies)
        if uses_db:
            # FastAPI calls dependant.call for routes of the app itself, and builds each included
            # router's routes (lazily, at their first request) from route.endpoint: wrap both
            route.endpoint = route.dependant.call = _unit_of_work(call)
            changed += 1
    return changed
