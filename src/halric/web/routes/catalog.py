"""Catalog pages (dataset search with facets, dataset and published-data landing pages) and their JSON.

One view, two formats: the page and ``/api/catalog/...`` come from the same service calls, with the
access rules applied in the service to every result, count and facet.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, time
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.catalog import published, rules, service
from halric.catalog.filters import MAX_ROWS
from halric.catalog.jsonld import dataset_jsonld
from halric.catalog.search import SearchQuery, search
from halric.core.actor import Actor
from halric.core.errors import InvalidInput, NotFound
from halric.web.access import PUBLIC, SIGNED_IN
from halric.web.deps import DB
from halric.web.routes import downloads
from halric.web.routing import attach
from halric.web.templating import TEMPLATES, render

pages = APIRouter(prefix="/catalog", include_in_schema=False)


def filesize(n: int | None) -> str:
    """Bytes for people: 1536 -> '1.5 KiB'."""
    value = float(n or 0)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # pragma: no cover


TEMPLATES.env.filters["filesize"] = filesize
api = APIRouter(prefix="/api/catalog", tags=["catalog"])
PAGE_SIZE = 25
EXPORT_LIMIT = 10000
FACET_TITLES = {
    "instrument": "Instrument", "technique": "Technique", "proposal": "Pilot project / proposal",
    "sample": "Sample", "ownerGroup": "Owner group", "isPublished": "Published", "type": "Type",
    "keyword": "Keyword",
}  # fmt: skip
FACET_PARAMS = {"ownerGroup": "group", "isPublished": "published"}
SORTS = {
    "creationTime:desc": "Newest first", "creationTime:asc": "Oldest first", "datasetName:asc": "Name A–Z",
    "datasetName:desc": "Name Z–A", "size:desc": "Largest first", "size:asc": "Smallest first",
}  # fmt: skip


def _date(value: str | None, name: str, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name}: use a date such as 2025-01-31", field=name) from None
    if len(value) <= 10:
        d = datetime.combine(d.date(), time.max if end else time.min)
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d


def _query(
    q: str | None,
    instrument: list[str],
    technique: list[str],
    proposal: list[str],
    sample: list[str],
    keyword: list[str],
    group: list[str],
    published_: str | None,
    type_: str | None,
    date_from: str | None,
    date_to: str | None,
    sort: str,
    limit: int,
    offset: int,
) -> SearchQuery:
    if published_ not in (None, "", "true", "false"):
        raise InvalidInput("published: use true or false", field="published")
    if type_ not in (None, "", "raw", "derived"):
        raise InvalidInput("type: use raw or derived", field="type")
    return SearchQuery(
        text=(q or "").strip() or None,
        instrument=[x for x in instrument if x],
        technique=[x for x in technique if x],
        proposal=[x for x in proposal if x],
        sample=[x for x in sample if x],
        keyword=[x for x in keyword if x],
        owner_group=[x for x in group if x],
        published=None if not published_ else published_ == "true",
        type=type_ or None,
        created_from=_date(date_from, "from"),
        created_to=_date(date_to, "to", end=True),
        sort=sort,
        limit=limit,
        offset=offset,
    )


class SearchParams:
    """The search form's parameters (shared by the page, the JSON API and the export)."""

    def __init__(
        self,
        q: str | None = Query(None, max_length=300, description="words to find"),
        instrument: list[str] = Query([], description="instrument ids (any of)"),
        technique: list[str] = Query([], description="technique ids, e.g. PaNET01012 (any of)"),
        proposal: list[str] = Query([], description="proposal / pilot project ids (any of)"),
        sample: list[str] = Query([], description="sample ids (any of)"),
        keyword: list[str] = Query([], description="keywords (any of)"),
        group: list[str] = Query([], description="owner groups (any of)"),
        published: str | None = Query(None, description="true or false"),
        type: str | None = Query(None, description="raw or derived"),
        date_from: str | None = Query(None, alias="from", description="created on or after (YYYY-MM-DD)"),
        date_to: str | None = Query(None, alias="to", description="created on or before (YYYY-MM-DD)"),
        sort: str = Query("creationTime:desc", max_length=60),
    ) -> None:
        self.raw = {
            "q": q, "instrument": instrument, "technique": technique, "proposal": proposal, "sample": sample,
            "keyword": keyword, "group": group, "published": published, "type": type, "from": date_from,
            "to": date_to, "sort": sort,
        }  # fmt: skip
        self.args = (
            q,
            instrument,
            technique,
            proposal,
            sample,
            keyword,
            group,
            published,
            type,
            date_from,
            date_to,
            sort,
        )

    def query(self, limit: int, offset: int, after: str | None = None) -> SearchQuery:
        q = _query(*self.args, limit, offset)
        q.after = after or None
        return q

    def url(self, **change: Any) -> str:
        params = {**self.raw, **change}
        pairs = []
        for k, v in params.items():
            if v in (None, "", []) or (k == "sort" and v == "creationTime:desc"):
                continue
            for item in v if isinstance(v, list) else [v]:
                pairs.append((k, item))
        return "/catalog" + ("?" + urlencode(pairs) if pairs else "")

    def toggle(self, facet: str, value: Any) -> str:
        """The address with this facet value switched on or off (page reset)."""
        key = FACET_PARAMS.get(facet, facet)
        value = str(value).lower() if isinstance(value, bool) else str(value)
        current = self.raw.get(key)
        if isinstance(current, list):
            new = [v for v in current if v != value] if value in current else [*current, value]
        else:
            new = None if current == value else value
        return self.url(**{key: new, "page": None})


def _landing_urls(request: Request, pid: str) -> str:
    return str(request.base_url).rstrip("/") + "/catalog/datasets/" + quote(pid, safe="")


@pages.get("", response_class=HTMLResponse)
def search_page(
    request: Request,
    params: SearchParams = Depends(),
    page: int = Query(1, ge=1, le=100000),
    after: str | None = Query(None, max_length=400, description="cursor of the page before (its next)"),
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> Response:
    error = None
    try:
        result = search(s, actor, params.query(PAGE_SIZE, (page - 1) * PAGE_SIZE, after))
    except InvalidInput as exc:
        error = exc.detail
        result = {"total": 0, "estimated": False, "items": [], "facets": {}, "limit": PAGE_SIZE, "offset": 0}
    active = params.query(1, 0).active() if error is None else {}
    pages_total = max(1, (result["total"] + PAGE_SIZE - 1) // PAGE_SIZE)
    return render(
        request,
        "catalog/search.html",
        {
            "result": result,
            "params": params,
            "raw": params.raw,
            "page": page,
            "pages_total": pages_total,
            "facet_titles": FACET_TITLES,
            "sorts": SORTS,
            "active": active,
            "error": error,
            "quote": lambda v: quote(str(v), safe=""),
        },
        status_code=400 if error else 200,
    )


@pages.get("/datasets/{pid:path}", response_class=HTMLResponse)
def dataset_page(
    pid: str,
    request: Request,
    done: str | None = Query(None, max_length=20),
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> Response:
    return _dataset_view(request, actor, s, pid, {"done": DONE.get(done or "")})


DONE = {
    "publish": "Published: everyone can now find and read this dataset.",
    "withdraw": "Withdrawn: only its groups and data stewards see it now.",
    "share": "Sharing saved.",
    "embargo": "Embargo saved.",
}


def _dataset_view(
    request: Request, actor: Actor, s: Session, pid: str, extra: dict[str, Any], status_code: int = 200
) -> Response:
    ds = service.get_dataset(
        s, actor, pid, include=["origdatablocks", "attachments", "samples", "proposals", "instruments"]
    )
    dois = _dois(s, actor, pid)
    site = request.app.state.settings.site_name
    ld = dataset_jsonld(ds, url=_landing_urls(request, pid), site=site, dois=dois)
    ld_text = (
        json.dumps(ld, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    files = [
        {**f, "chkAlg": b.get("chkAlg")}
        for b in ds.get("origdatablocks", [])
        for f in b.get("dataFileList", [])
    ]
    return render(
        request,
        "catalog/dataset.html",
        {
            "ds": ds,
            "files": files[:500],
            "file_total": len(files),
            "jsonld": Markup(ld_text),
            "dois": dois,
            "can_edit": not actor.is_anonymous and rules.can_write(actor, ds["ownerGroup"]),
            "quote": lambda v: quote(str(v), safe=""),
            "downloads": bool(downloads.serving(request).roots),
            "file_url": downloads.file_url,
            "zip_url": downloads.zip_url(pid),
            "form": {},
            "errors": {},
            **extra,
        },
        status_code=status_code,
    )


@pages.post("/datasets/{pid:path}", response_class=HTMLResponse)
def curate(
    pid: str,
    request: Request,
    change: Annotated[str, Form(max_length=20)],
    groups: Annotated[str, Form(max_length=2000)] = "",
    embargo_until: Annotated[str, Form(max_length=40)] = "",
    actor: Actor = Depends(SIGNED_IN),
) -> Response:
    """The data steward's (and owner group's) buttons: publish, withdraw, share with groups, embargo.
    The same service call as ``PATCH /api/v3/datasets/{pid}``: checked, audited, all or nothing."""
    form = {"groups": groups, "embargo_until": embargo_until}
    try:
        if change == "publish":
            patch: dict[str, Any] = {"isPublished": True}
        elif change == "withdraw":
            patch = {"isPublished": False}
        elif change == "share":
            names = sorted(set(groups.replace(",", " ").split()))
            patch = {"accessGroups": names}
        elif change == "embargo":
            until = (
                _date(embargo_until.strip(), "embargo_until", end=False) if embargo_until.strip() else None
            )
            patch = {"embargoUntil": until.isoformat() if until else None}
        else:
            raise InvalidInput("Choose one of the buttons on the page.", field="change")
        with request.app.state.db.session() as s:
            service.update_dataset(s, actor, pid, patch)
    except InvalidInput as exc:
        message = exc.detail
        if exc.field == "embargo_until":
            message = "Give the embargo's end as a date, for example 2027-06-30, or leave it empty."
        with request.app.state.db.session() as s:
            return _dataset_view(
                request, actor, s, pid,
                {"form": form, "errors": {change: message}},
                status_code=400,
            )  # fmt: skip
    return RedirectResponse(f"/catalog/datasets/{quote(pid, safe='')}?done={change}", status_code=303)


@pages.get("/published/{doi:path}", response_class=HTMLResponse)
def published_page(doi: str, request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    rec = published.get(s, actor, doi)
    meta = published.metadata(s, actor, doi)
    visible = []
    for pid in rec.get("pidArray", []):
        try:
            visible.append(service.get_dataset(s, actor, pid))
        except NotFound:  # a dataset the caller may not see is simply not listed
            continue
    return render(
        request,
        "catalog/published.html",
        {"rec": rec, "datacite": json.dumps(meta, indent=1, ensure_ascii=False), "datasets": visible,
         "creators": [c for c in meta.get("creators") or [] if isinstance(c, dict)],
         "quote": lambda v: quote(str(v), safe="")},
    )  # fmt: skip


def _dois(s: Session, actor: Actor, pid: str) -> list[str]:
    from halric.catalog.models import PublishedData

    rows = s.scalars(select(PublishedData).where(PublishedData.status == "registered"))
    return [p.doi for p in rows if pid in (p.pid_array or [])]


# --- JSON ----------------------------------------------------------------------------------------------


@api.get("/search", summary="Full-text and faceted dataset search (access rules applied to items and counts)")
def search_api(
    params: SearchParams = Depends(),
    limit: int = Query(25, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_ROWS),
    after: str | None = Query(
        None,
        max_length=400,
        description="the `next` of the page before: the page after it (keyset, any depth)",
    ),
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> dict[str, Any]:
    return search(s, actor, params.query(limit, offset, after))


@api.get("/export", summary="Export the datasets matching a search as JSON or CSV")
def export(
    params: SearchParams = Depends(),
    format: str = Query("json", pattern="^(json|csv)$"),
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> Response:
    items = search(s, actor, params.query(EXPORT_LIMIT, 0), facets=())["items"]
    if format == "json":
        return JSONResponse(items)
    buf = io.StringIO()
    cols = ["pid", "datasetName", "type", "ownerGroup", "creationTime", "size", "numberOfFiles", "isPublished",
            "embargoUntil", "proposalIds", "sampleIds", "instrumentIds", "techniques"]  # fmt: skip
    w = csv.writer(buf)
    w.writerow(cols)
    for d in items:
        row = []
        for c in cols:
            v = d.get(c, "")
            if c == "techniques":
                v = ";".join(str(t.get("pid", "")) for t in v or [])
            elif isinstance(v, list):
                v = ";".join(str(x) for x in v)
            row.append(v)
        w.writerow(row)
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="datasets.csv"'},
    )


@api.get("/datasets/{pid:path}/jsonld", summary="schema.org Dataset JSON-LD of one dataset")
def jsonld(pid: str, request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    ds = service.get_dataset(s, actor, pid)
    doc = dataset_jsonld(
        ds,
        url=_landing_urls(request, pid),
        site=request.app.state.settings.site_name,
        dois=_dois(s, actor, pid),
    )
    return JSONResponse(doc, media_type="application/ld+json")


@api.get("/published/{doi:path}/datacite", summary="DataCite 4.x metadata of published data")
def datacite_json(doi: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
    return published.metadata(s, actor, doi)


def register(app: FastAPI) -> None:
    attach(app, pages)
    attach(app, api)
    app.state.nav.append(("Data", "Catalog", "/catalog"))
    app.state.dashboard_cards += [
        {"roles": ["steward"], "title": "Datasets to curate",
         "text": "Datasets not yet published: share them with groups, set their embargo, publish them.",
         "href": "/catalog?published=false", "link": "Curate datasets"},
    ]  # fmt: skip
