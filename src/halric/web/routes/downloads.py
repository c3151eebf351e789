"""Downloads from the hub's own catalog: a dataset's file list, one file (streamed, with Range, HEAD and
checksum headers) and the whole dataset as a streamed ZIP. Every download (not HEAD, not the list) is
audited; the audit row is committed with the request's unit of work, before the body starts to stream.

pids contain '/', so they are taken with the path converter as in the other catalog routes; the file is a
query parameter (``?path=``) because file paths contain '/' as well.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from halric.catalog import files
from halric.core.actor import Actor
from halric.web.access import PUBLIC, client_ip
from halric.web.deps import DB, DB_WRITE
from halric.web.params import Offset
from halric.web.routing import attach

api = APIRouter(prefix="/api/catalog", tags=["catalog"])
MAX_LIST = 10000
_TOKEN = re.compile(r"[^A-Za-z0-9-]+")
_VISIBLE = re.compile(r"[\x21-\x7e]{1,512}")
_DIGEST_NAMES = {"sha256": "sha-256", "sha512": "sha-512"}  # RFC 9530 names of recorded algorithms
PATH_PARAM = Query(..., min_length=1, max_length=4096, description="the file's path as listed (relative)")


def _with_ip(actor: Actor, request: Request) -> Actor:
    """The actor with the client address, also for anonymous callers (whose actor carries none)."""
    return actor if actor.ip else dataclasses.replace(actor, ip=client_ip(request))


def serving(request: Request) -> files.Serving:
    return files.Serving.from_settings(request.app.state.settings)


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def file_url(pid: str, path: str) -> str:
    return f"/api/catalog/datasets/{quote(pid, safe='')}/download?path={quote(path, safe='')}"


def zip_url(pid: str) -> str:
    return f"/api/catalog/datasets/{quote(pid, safe='')}/download.zip"


def checksum_headers(entry: files.FileEntry) -> dict[str, str]:
    """``X-Checksum-<Algorithm>: <recorded hex>`` and, for SHA-256/512, RFC 9530 ``Repr-Digest``."""
    alg = files.algorithm_name(entry.algorithm)
    chk = (entry.chk or "").strip()
    if not alg or not _VISIBLE.fullmatch(chk):
        return {}
    name = "-".join(part.capitalize() for part in _TOKEN.sub("-", alg).split("-") if part)
    headers = {f"X-Checksum-{name}": chk}
    if alg in _DIGEST_NAMES and re.fullmatch(r"(?:[0-9a-fA-F]{2})+", chk):
        headers["Repr-Digest"] = f"{_DIGEST_NAMES[alg]}=:{base64.b64encode(bytes.fromhex(chk)).decode()}:"
    return headers


def attachment(name: str) -> str:
    """``Content-Disposition`` with an ASCII fallback and the exact UTF-8 name (RFC 6266 / 8187)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _file_response(f: files.ServedFile) -> FileResponse:
    """Starlette's FileResponse streams in chunks and answers Range (206, 416), If-Range and HEAD itself;
    the content is always sent as application/octet-stream so a browser never renders it on our origin."""
    headers = {
        "Content-Disposition": attachment(PurePosixPath(f.entry.path).name),
        "Cache-Control": "private",
        **checksum_headers(f.entry),
    }
    return FileResponse(
        f.real_path, stat_result=f.stat, media_type="application/octet-stream", headers=headers
    )


@api.get("/datasets/{pid:path}/files", summary="The files of one dataset (paged), with download links")
def list_files(
    pid: str,
    request: Request,
    limit: int = Query(1000, ge=1, le=MAX_LIST),
    offset: Offset = 0,
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> dict[str, Any]:
    entries = files.list_files(s, actor, pid)
    page = entries[offset : offset + limit]
    return {
        "pid": pid,
        "total": len(entries),
        "limit": limit,
        "offset": offset,
        "size": sum(e.size for e in entries),
        "zipUrl": base(request) + zip_url(pid),
        "items": [{**e.as_dict(), "url": base(request) + file_url(pid, e.path)} for e in page],
    }


@api.get(
    "/datasets/{pid:path}/download",
    summary="Download one file of a dataset (streamed; Range, ETag, checksum headers); audited",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, 206: {"description": "Partial content"},
               409: {"description": "The file changed on disk since it was catalogued"},
               416: {"description": "Range not satisfiable"}},
)  # fmt: skip
def download_file(
    pid: str,
    request: Request,
    path: str = PATH_PARAM,
    actor: Actor = Depends(PUBLIC),
    s: Session = DB_WRITE,  # GET that writes: the audit entry
) -> Response:
    f = files.resolve(s, actor, pid, path, serving(request))
    byte_range = request.headers.get("range")
    files.record_download(
        s,
        _with_ip(actor, request),
        pid,
        f.entry.path,
        byte_range=byte_range[:200] if byte_range else None,
        size=f.stat.st_size,
    )
    return _file_response(f)


@api.head("/datasets/{pid:path}/download", summary="Headers of one file's download (not audited)")
def head_file(
    pid: str,
    request: Request,
    path: str = PATH_PARAM,
    actor: Actor = Depends(PUBLIC),
    s: Session = DB,
) -> Response:
    return _file_response(files.resolve(s, actor, pid, path, serving(request)))


def _zip_headers(pid: str, size: int) -> dict[str, str]:
    return {
        "Content-Length": str(size),
        "Content-Disposition": attachment(files.archive_name(pid) + ".zip"),
        "Cache-Control": "private",
        "Accept-Ranges": "none",
    }


@api.get(
    "/datasets/{pid:path}/download.zip",
    summary="Download a whole dataset as a ZIP (stored, ZIP64, with manifests) built while it streams; audited",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def download_zip(
    pid: str, request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB_WRITE
) -> Response:  # writes the audit entry
    served = files.resolve_all(s, actor, pid, serving(request))
    chunks, size = files.zip_stream(pid, served)
    files.record_download(s, _with_ip(actor, request), pid, files.WHOLE_DATASET, size=size)
    return StreamingResponse(chunks, media_type="application/zip", headers=_zip_headers(pid, size))


@api.head("/datasets/{pid:path}/download.zip", summary="Headers of a dataset's ZIP (not audited)")
def head_zip(pid: str, request: Request, actor: Actor = Depends(PUBLIC), s: Session = DB) -> Response:
    served = files.resolve_all(s, actor, pid, serving(request))
    _, size = files.zip_stream(pid, served)
    return Response(media_type="application/zip", headers=_zip_headers(pid, size))


def register(app: FastAPI) -> None:
    attach(app, api)
