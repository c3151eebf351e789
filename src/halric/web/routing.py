"""Adding a module's routers to the app: their routes go into the app's own route list.

FastAPI's ``include_router`` keeps each included router as one entry of the app's routes and, for every
request, walks the entries one by one into their routers (and the chosen router once more to handle it),
rebuilding bookkeeping as it goes: with the hub's ~40 routers and ~340 routes, finding the route cost
0.4–1 ms of CPU per request (a dataset over the SciCat API: 0.76 ms, a quarter of the request), more
than many routes' own work. The routers here use only options that each route already carries (prefix,
tags, ``include_in_schema`` and dependencies are applied when a route is declared), so their routes can
be placed in the app's list directly, in the same order: the same route answers every path, found in a
third of the time (``tests/web/test_routing.py``)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

__all__ = ["attach"]


def attach(app: FastAPI, *routers: APIRouter) -> None:
    """Append the routes of ``routers`` to the app's routes, in order (instead of ``app.include_router``)."""
    for router in routers:
        app.router.routes.extend(router.routes)
