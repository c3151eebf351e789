"""The SciCat API (v3 and v4) over the catalog service: an adapter, not a second catalog.

SciCat clients (pyscicat, scitacean, facility ingestors) point at ``https://HUB/api/v3`` unchanged. Paths
are matched case-insensitively (``Datasets`` and ``datasets``); pids containing ``/`` arrive URL-encoded,
are decoded by the server and captured by ``{pid:path}`` routes. Reads are public at the route (the service
shows each caller only what they may read); writes need a signed-in caller (JWT from ``auth/login`` or a
hub API token).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from halric.catalog import collections as coll
from halric.catalog import published, service
from halric.catalog.filters import (
    Filter,
    fullquery_where,
    load_json,
    parse_filter,
    parse_include,
    parse_order,
    whole_number,
)
from halric.core.actor import Actor
from halric.core.errors import InvalidInput, NotFound, PermissionDenied
from halric.web import scicat_v3
from halric.web.access import PUBLIC, SIGNED_IN, client_ip
from halric.web.deps import DB
from halric.web.routing import attach

VERSIONS = ("v3", "v4")
COLLECTIONS = {
    "datasets": "datasets", "rawdatasets": "datasets", "deriveddatasets": "datasets",
    "origdatablocks": "origdatablocks", "attachments": "attachments", "samples": "samples",
    "proposals": "proposals", "instruments": "instruments", "publisheddata": "publisheddata",
    "published-data": "publisheddata", "auth": "auth", "users": "users",
}  # fmt: skip
ACTIONS = {"fullquery", "fullfacet", "findone", "isvalid", "public", "count", "login", "logout"}
SUBRESOURCES = {"origdatablocks", "attachments", "datablocks", "register", "publish", "metadata"}
JSONBody = Body(default=None)
IDEMPOTENCY_KEY = Header(
    default=None,
    alias="Idempotency-Key",
    min_length=1,
    max_length=255,
    pattern=r"^[\x21-\x7e]+$",
    description="Any unique string (e.g. a UUID) chosen by the client for this dataset. A retry with the "
    "same key and body answers the dataset the first attempt stored instead of creating a second one.",
)


class ScicatPaths:
    """ASGI middleware: makes /api/v3 and /api/v4 paths case-insensitive for SciCat's own words
    (collections, actions, sub-resources) while leaving pids untouched."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            low = path.lower()
            if low.startswith(("/api/v3/", "/api/v4/")):
                new = normalise(path)
                if new != path:
                    scope = {**scope, "path": new, "raw_path": quote(new).encode()}
        await self.app(scope, receive, send)


def normalise(path: str) -> str:
    head, rest = path[:8].lower(), path[8:]
    segs = rest.split("/")
    if not segs or segs[0].lower() not in COLLECTIONS:
        return path
    segs[0] = COLLECTIONS[segs[0].lower()]
    if len(segs) > 1 and segs[1].lower() in ACTIONS:
        segs[1] = segs[1].lower()
    if len(segs) > 2 and segs[-1].lower() in SUBRESOURCES:
        segs[-1] = segs[-1].lower()
    return head + "/".join(segs)


# --- query helpers -----------------------------------------------------------------------------------


def _raw_json_query(request: Request) -> Any:
    """pyscicat's ``Instruments/findOne?{"where": ...}``: the whole query string is the filter."""
    raw = request.url.query
    if not raw:
        return None
    parts = [p for p in raw.split("&") if not p.startswith("access_token=")]
    text = unquote("&".join(parts))
    if text.startswith("{"):
        return load_json(text, "filter")
    return None


def filter_of(request: Request) -> Filter:
    raw = request.query_params.get("filter")
    flt = parse_filter(raw) if raw is not None else parse_filter(_raw_json_query(request))
    where = request.query_params.get("where")
    if where is not None:
        flt.where = load_json(where, "where") or {}
    limits = load_json(request.query_params.get("limits"), "limits")
    if isinstance(limits, dict):
        if limits.get("limit") is not None:
            flt.limit = whole_number(limits["limit"], "limits.limit", default=None)
        if limits.get("skip") is not None:
            flt.skip = whole_number(limits["skip"], "limits.skip", default=0) or 0
        if limits.get("order"):
            flt.order = parse_order(limits["order"], "limits.order")
    flt.include += parse_include(request.query_params.getlist("include"))
    return flt


def _login_response(user: Any, token: str, iat: Any, exp: Any) -> dict[str, Any]:
    ttl = int((exp - iat).total_seconds())
    return {
        "access_token": token,
        "id": token,
        "expires_in": ttl,
        "ttl": ttl,
        "created": iat.isoformat().replace("+00:00", "Z"),
        "userId": str(user.id),
        "user": {
            "id": str(user.id),
            "username": user.username,
            "email": user.email,
            "realm": "halric",
            "emailVerified": True,
        },
    }


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    username: str
    password: str


# --- the routers ----------------------------------------------------------------------------------------


def _as_is(d: dict[str, Any]) -> dict[str, Any]:
    return d


def make_router(version: str) -> APIRouter:
    # v3 and v4 differ only here: v3's answers are v4's with its singular fields added (web/scicat_v3.py)
    ds_out = scicat_v3.dataset if version == "v3" else _as_is
    att_out = scicat_v3.attachment if version == "v3" else _as_is
    r = APIRouter(prefix=f"/api/{version}", tags=[f"SciCat API {version}"])

    # auth
    def login(
        body: LoginIn, request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB
    ) -> JSONResponse:
        from halric.accounts import service as accounts
        from halric.catalog import tokens
        from halric.core import audit

        st = request.app.state.settings
        if body.password.startswith(accounts.TOKEN_PREFIX):
            # accounts without a password (signed in through an identity provider): a personal API token
            user = accounts.authenticate_token(s, body.username, body.password)
        else:
            if not st.local_signin:
                raise PermissionDenied(
                    "This hub has no passwords: give a personal API token (your account page) as the password."
                )
            user = accounts.authenticate(
                s, body.username, body.password, ip=client_ip(request),
                max_failures=st.login_max_failures, lock_minutes=st.login_lock_minutes,
            )  # fmt: skip
        token, iat, exp = tokens.issue(user, st.signing_key, st.catalog_token_hours)
        who = accounts.actor_for(user, ip=client_ip(request), via="api")
        audit.record(s, who, "sign-in", "user", user.id, {"via": f"scicat-{version}-login"})
        return JSONResponse(_login_response(user, token, iat, exp), status_code=201)

    r.add_api_route(
        "/auth/login", login, methods=["POST"], summary="Log in; answers a JWT (access_token and id)"
    )
    r.add_api_route("/users/login", login, methods=["POST"], summary="Log in (LoopBack path of SciCat v3)")

    @r.get("/users/my/self", summary="The signed-in user")
    def whoami(actor: Actor = Depends(SIGNED_IN)) -> dict[str, Any]:
        return {"id": str(actor.user_id), "username": actor.username, "realm": "halric"}

    # datasets
    @r.post("/datasets/isvalid", summary="Would this dataset be accepted? {valid: bool}")
    def dataset_is_valid(body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN)) -> dict[str, Any]:
        valid, reason = service.validate_dataset(body)
        return {"valid": valid, **({"reason": reason} if reason else {})}

    @r.get("/datasets/fullquery", summary="SciCat full query (fields, limits)")
    def dataset_fullquery(
        request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB
    ) -> list[dict[str, Any]]:
        fields = load_json(request.query_params.get("fields"), "fields") or {}
        where, text = fullquery_where(fields)
        flt = filter_of(request)
        flt.where = where
        return service.find_datasets(s, actor, flt, text=text, shape=ds_out)

    @r.get("/datasets/fullfacet", summary="SciCat facet counts (fields, facets)")
    def dataset_fullfacet(
        request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB
    ) -> list[dict[str, Any]]:
        from halric.catalog.search import fullfacet

        fields = load_json(request.query_params.get("fields"), "fields") or {}
        facets = load_json(request.query_params.get("facets"), "facets") or [
            "type", "creationLocation", "ownerGroup", "keywords", "techniques", "instrumentIds",
        ]  # fmt: skip
        if not isinstance(facets, list) or not all(isinstance(f, str) for f in facets):
            raise InvalidInput('facets: must be a JSON list of field names, e.g. ["type", "keywords"]',
                               field="facets")  # fmt: skip
        where, text = fullquery_where(fields)
        return fullfacet(s, actor, where, text, list(facets))

    @r.get("/datasets/count", summary="Number of datasets matching where")
    def dataset_count(request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, int]:
        return {"count": service.count_datasets(s, actor, filter_of(request).where)}

    @r.get("/datasets/findone", summary="First dataset matching filter")
    def dataset_find_one(request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Any:
        flt = filter_of(request)
        flt.limit = 1
        rows = service.find_datasets(s, actor, flt, shape=ds_out)
        if not rows:
            raise NotFound("No dataset matches the filter (or you may not see it).")
        return rows[0]

    @r.get("/datasets", summary="Datasets (filter={where, fields, limit, skip, order, include})")
    def datasets(request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> list[dict[str, Any]]:
        return service.find_datasets(s, actor, filter_of(request), shape=ds_out)

    @r.post(
        "/datasets", status_code=201,
        summary="Create a dataset (SciCat DatasetDto); safe to retry with the same pid or Idempotency-Key",
    )  # fmt: skip
    def dataset_create(
        body: Any = JSONBody,
        idempotency_key: str | None = IDEMPOTENCY_KEY,
        actor: Actor = Depends(SIGNED_IN),
        s: Session = DB,
    ) -> dict[str, Any]:
        return ds_out(service.create_dataset(s, actor, body, idempotency_key=idempotency_key))

    @r.get("/datasets/public/{pid:path}", summary="A published dataset, without its files")
    def dataset_public(pid: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
        from halric.core.actor import ANONYMOUS

        return ds_out(service.get_dataset(s, ANONYMOUS, pid))

    @r.get("/datasets/{pid:path}/origdatablocks", summary="The dataset's original data blocks")
    def dataset_blocks(pid: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> list[dict[str, Any]]:
        return service.list_origdatablocks(s, actor, pid)

    @r.post("/datasets/{pid:path}/origdatablocks", status_code=201, summary="Add a data block to the dataset")
    def dataset_block_add(
        pid: str, body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
    ) -> dict[str, Any]:
        return service.add_origdatablock(s, actor, body, dataset_pid=pid)

    @r.get("/datasets/{pid:path}/attachments", summary="The dataset's attachments")
    def dataset_attachments(
        pid: str, actor: Actor = Depends(PUBLIC), s: Session = DB
    ) -> list[dict[str, Any]]:
        return [att_out(a) for a in service.list_attachments(s, actor, pid)]

    @r.post("/datasets/{pid:path}/attachments", status_code=201, summary="Attach a caption and thumbnail")
    def dataset_attachment_add(
        pid: str, body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
    ) -> dict[str, Any]:
        return att_out(service.add_attachment(s, actor, body, dataset_pid=pid))

    @r.get("/datasets/{pid:path}/datablocks", summary="Archive data blocks (none are kept here)")
    def dataset_datablocks(pid: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> list[Any]:
        service.load_dataset(s, actor, pid)
        return []

    @r.get("/datasets/{pid:path}", summary="One dataset; include=origdatablocks,attachments,samples,...")
    def dataset_get(
        pid: str, request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB
    ) -> dict[str, Any]:
        return ds_out(service.get_dataset(s, actor, pid, include=filter_of(request).include))

    @r.patch("/datasets/{pid:path}", summary="Change fields of a dataset")
    def dataset_patch(
        pid: str, body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
    ) -> dict[str, Any]:
        return ds_out(service.update_dataset(s, actor, pid, body))

    r.add_api_route(
        "/datasets/{pid:path}", dataset_patch, methods=["PUT"], summary="Replace fields of a dataset"
    )

    @r.delete("/datasets/{pid:path}", summary="Delete a dataset with its blocks and attachments")
    def dataset_delete(pid: str, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
        return service.delete_dataset(s, actor, pid)

    # origdatablocks and attachments
    @r.post("/origdatablocks", status_code=201, summary="Add an original data block (datasetId in the body)")
    def block_add(body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
        return service.add_origdatablock(s, actor, body)

    @r.get("/origdatablocks", summary="Original data blocks (filter)")
    def blocks(request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> list[dict[str, Any]]:
        return service.find_origdatablocks(s, actor, filter_of(request))

    @r.get("/origdatablocks/{block_id}", summary="One original data block")
    def block_get(block_id: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
        return service.get_origdatablock(s, actor, block_id)

    @r.post("/attachments", status_code=201, summary="Add an attachment (relationships name its target)")
    def attachment_add(
        body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
    ) -> dict[str, Any]:
        return att_out(service.add_attachment(s, actor, body))

    @r.get("/attachments/{aid}", summary="One attachment")
    def attachment_get(aid: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
        return att_out(service.get_attachment(s, actor, aid))

    # samples and proposals
    for kind, create, get, update, find in (
        ("samples", coll.create_sample, coll.get_sample, coll.update_sample, coll.find_samples),
        ("proposals", coll.create_proposal, coll.get_proposal, coll.update_proposal, coll.find_proposals),
    ):
        _ownable_routes(r, kind, create, get, update, find)

    # instruments
    @r.get("/instruments", summary="Instruments (the registry's and any created here)")
    def instruments(
        request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB
    ) -> list[dict[str, Any]]:
        return coll.find_instruments(s, filter_of(request))

    @r.post("/instruments", status_code=201, summary="Create an instrument (facility staff, stewards)")
    def instrument_add(
        body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
    ) -> dict[str, Any]:
        return coll.create_instrument(s, actor, body)

    @r.get("/instruments/findone", summary="First instrument matching filter")
    def instrument_find_one(
        request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB
    ) -> dict[str, Any]:
        rows = coll.find_instruments(s, filter_of(request))
        if not rows:
            raise NotFound("No instrument matches the filter.")
        return rows[0]

    @r.get("/instruments/{pid:path}", summary="One instrument")
    def instrument_get(pid: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
        return coll.get_instrument(s, pid)

    @r.patch("/instruments/{pid:path}", summary="Change an instrument created here")
    def instrument_patch(
        pid: str, body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
    ) -> dict[str, Any]:
        return coll.update_instrument(s, actor, pid, body)

    # published data
    @r.get("/publisheddata", summary="Published data (filter)")
    def published_list(
        request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB
    ) -> list[dict[str, Any]]:
        return published.find(s, actor, filter_of(request))

    @r.post("/publisheddata", status_code=201, summary="Create published data for datasets you own")
    def published_add(
        body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
    ) -> dict[str, Any]:
        return published.create(s, actor, body)

    @r.post("/publisheddata/{doi:path}/publish", summary="Make the record public")
    def published_publish(doi: str, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
        return published.publish(s, actor, doi)

    @r.post(
        "/publisheddata/{doi:path}/register",
        summary="Register the DOI at DataCite (stewards); 202 when DataCite is down and it is retried later",
        responses={202: {"description": "DataCite could not be reached: registration queued"}},
    )
    def published_register(doi: str, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> Any:
        from fastapi.responses import JSONResponse

        from halric.catalog.datacite import DataCiteUnavailable
        from halric.jobs import service as jobs

        try:
            return published.register(s, actor, doi)
        except DataCiteUnavailable as exc:
            rec = published.queue_registration(s, actor, doi, str(exc))
            jobs.enqueue(s, actor, "catalog.register_dois", {"doi": rec["doi"]}, dedupe=True)
            detail = f"{exc} The registration is queued and retried in the background."
            return JSONResponse({**rec, "detail": detail}, status_code=202)

    @r.get("/publisheddata/{doi:path}/metadata", summary="The DataCite 4.x metadata of the record")
    def published_metadata(doi: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
        return published.metadata(s, actor, doi)

    @r.get("/publisheddata/{doi:path}", summary="One published data record")
    def published_get(doi: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
        return published.get(s, actor, doi)

    @r.patch("/publisheddata/{doi:path}", summary="Change a record not yet registered")
    def published_patch(
        doi: str, body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
    ) -> dict[str, Any]:
        return published.update(s, actor, doi, body)

    return r


def _ownable_routes(r: APIRouter, kind: str, create: Any, get: Any, update: Any, find: Any) -> None:
    one = kind[:-1]

    def add(body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
        return create(s, actor, body)

    def many(request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> list[dict[str, Any]]:
        return find(s, actor, filter_of(request))

    def find_one(request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
        flt = filter_of(request)
        rows = find(s, actor, flt)
        if not rows:
            raise NotFound(f"No {one} matches the filter (or you may not see it).")
        return rows[0]

    def get_one(key: str, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
        return get(s, actor, key)

    def patch(
        key: str, body: Any = JSONBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
    ) -> dict[str, Any]:
        return update(s, actor, key, body)

    r.add_api_route(f"/{kind}", add, methods=["POST"], status_code=201, summary=f"Create a {one}")
    r.add_api_route(f"/{kind}", many, methods=["GET"], summary=f"{kind.title()} (filter)")
    r.add_api_route(f"/{kind}/findone", find_one, methods=["GET"], summary=f"First {one} matching filter")
    r.add_api_route(f"/{kind}/{{key:path}}", get_one, methods=["GET"], summary=f"One {one}")
    r.add_api_route(f"/{kind}/{{key:path}}", patch, methods=["PATCH"], summary=f"Change a {one}")


def register(app: FastAPI) -> None:
    for version in VERSIONS:
        attach(app, make_router(version))
    app.add_middleware(ScicatPaths)
