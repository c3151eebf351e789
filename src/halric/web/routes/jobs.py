"""Background jobs: the admin's page and API (dead-letter list, retry), and the queue beside the app.

With ``HALRIC_BROKER_URL`` set, the app hands every job committed by a request to the broker after the
commit. Without it, the process that serves ``halric.web.asgi:app`` (``halric serve``) runs the jobs and
the schedules itself on an in-process broker, unless ``HALRIC_WORKER_INPROCESS=false``.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from halric.core.actor import Actor
from halric.core.values import MAX_INT
from halric.jobs import service as jobs
from halric.jobs.models import STATES
from halric.web.access import ADMIN
from halric.web.deps import DB
from halric.web.routing import attach
from halric.web.templating import render

log = logging.getLogger("halric.jobs")
JOB_ID = Path(ge=1, le=MAX_INT, description="the job's number")

pages = APIRouter(prefix="/admin", include_in_schema=False)
api = APIRouter(prefix="/api/admin", tags=["admin"])


@pages.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    state: str | None = Query(None, max_length=16),
    page: int = Query(1, ge=1, le=100000),
    actor: Actor = Depends(ADMIN),
    s: Session = DB,
) -> Response:
    per_page = 50
    counts = jobs.counts(s)
    # first visit (no state): the dead-letter list when it holds anything; "All" is state=
    first_view = "dead" if counts["dead"] else None
    chosen = first_view if state is None else (state or None)
    rows, total = jobs.list_jobs(s, state=chosen, limit=per_page, offset=(page - 1) * per_page)
    st = request.app.state.settings
    return render(
        request,
        "admin_jobs.html",
        {
            "jobs": [jobs.job_dict(j) for j in rows],
            "total": total,
            "counts": counts,
            "states": STATES,
            "state": chosen or "",
            "page": page,
            "pages": max(1, -(-total // per_page)),
            "broker": _broker_label(st),
            "waiting_since": jobs.waiting_since(s),
            "flash": request.query_params.get("done"),
        },
    )


@pages.post("/jobs/{job_id}/retry")
def jobs_retry(
    request: Request, job_id: int = JOB_ID, actor: Actor = Depends(ADMIN), s: Session = DB
) -> Response:
    st = request.app.state.settings
    job = jobs.retry(s, actor, job_id, max_attempts=st.job_max_retries + 1)
    return RedirectResponse(f"/admin/jobs?done=Job+{job.id}+sent+again", status_code=303)


def _broker_label(st: Any) -> str:
    url = st.broker_url
    if not url:
        return "in-process (no HALRIC_BROKER_URL)"
    return url.split("://", 1)[0] + "://" + url.rsplit("@", 1)[-1].split("://", 1)[-1]  # never the password


# --- JSON API --------------------------------------------------------------------------------------------


class JobOut(BaseModel):
    id: int
    kind: str
    args: dict[str, Any]
    state: str
    attempts: int
    max_attempts: int
    requested_by: str
    schedule: str | None
    progress: str | None
    last_error: str | None
    result: dict[str, Any] | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    next_attempt_at: str | None


class JobPage(BaseModel):
    total: int
    counts: dict[str, int]
    items: list[JobOut]


@api.get(
    "/jobs",
    response_model=JobPage,
    summary="Background jobs, newest first (state=dead: the dead-letter list)",
)
def api_jobs(
    state: str | None = Query(None, max_length=16),
    kind: str | None = Query(None, max_length=100),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=10_000_000),
    actor: Actor = Depends(ADMIN),
    s: Session = DB,
) -> JobPage:
    rows, total = jobs.list_jobs(s, state=state or None, kind=kind or None, limit=limit, offset=offset)
    return JobPage(total=total, counts=jobs.counts(s), items=[JobOut(**jobs.job_dict(j)) for j in rows])


@api.get("/jobs/{job_id}", response_model=JobOut, summary="One background job")
def api_job(job_id: int = JOB_ID, actor: Actor = Depends(ADMIN), s: Session = DB) -> JobOut:
    return JobOut(**jobs.job_dict(jobs.get(s, job_id)))


@api.post(
    "/jobs/{job_id}/retry",
    response_model=JobOut,
    status_code=202,
    summary="Send a job of the dead-letter list again; audited",
    responses={409: {"description": "the job is not in the dead-letter list"}},
)
def api_job_retry(
    request: Request, job_id: int = JOB_ID, actor: Actor = Depends(ADMIN), s: Session = DB
) -> JobOut:
    st = request.app.state.settings
    return JobOut(**jobs.job_dict(jobs.retry(s, actor, job_id, max_attempts=st.job_max_retries + 1)))


# --- the queue beside the app ----------------------------------------------------------------------------


def _wrap_lifespan(app: FastAPI) -> None:
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> Any:
        handle = start_queue(a)
        try:
            async with inner(a) as state:
                yield state
        finally:
            if handle is not None:
                handle.stop() if hasattr(handle, "stop") else handle.close()

    app.router.lifespan_context = lifespan


def start_queue(app: FastAPI) -> Any:
    """The broker's sending side (broker configured), an in-process worker (asked for by the ASGI entry
    point, no broker), or nothing (rows wait for a worker's relay)."""
    st = app.state.settings
    db = app.state.db
    if st.broker_url:
        from halric.jobs.queue import Queue

        q = Queue(st, db)
        q.attach()
        return q
    if getattr(app.state, "jobs_inprocess", False) and st.worker_inprocess:
        from halric.jobs.runtime import Runtime

        if not log.handlers and not logging.getLogger().handlers:  # uvicorn sets up only its own loggers
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
            log.propagate = False
        rt = Runtime(st, db)
        rt.start()
        return rt
    return None


def register(app: FastAPI) -> None:
    attach(app, pages)
    attach(app, api)
    _wrap_lifespan(app)
    app.state.dashboard_cards.append(
        {
            "roles": ["admin"],
            "title": "Background jobs",
            "text": "Mail delivery, harvests, embargo release, DOI registration: what ran, what failed, retry.",
            "href": "/admin/jobs",
            "link": "Open jobs",
        }
    )
