"""The OpenAPI document says what the hub really answers: every error is one ``Error`` body
(``{"detail": str, ...}``, made in ``web/errors.py``), declared for the status codes each operation can give.

FastAPI's default 422 body (``detail`` as a list of objects) is replaced: the hub sends ``detail`` as one
string a person can act on, with the per-field list under ``errors``. Every operation may answer 400 (input
refused before the route, ``web/guard.py``), 401 (a bearer token that is invalid, expired or revoked — on
any route), 403 (CSRF, roles, refused files), 404, 409, 413 (body over the size limit), 422 (input that
does not validate) and 429 (throttled). Routes that need a sign-in say so in their description.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in words a person can act on"},
        "field": {"type": "string", "description": "The input field the error is about, when there is one"},
        "errors": {
            "type": "array",
            "description": "Every invalid field (422)",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "request_id": {"type": "string", "description": "Quote it when reporting an internal error"},
    },
}

ERRORS = {
    "400": "The request cannot be processed (e.g. a NUL character, a non-finite number)",
    "401": "Not signed in, or the API token is invalid, expired or revoked",
    "403": "Not allowed (role, CSRF check, or a file that is not served)",
    "404": "No such record, or you may not see it",
    "409": "Conflicts with the current state (already exists, changed meanwhile)",
    "413": "The request body is larger than this route accepts",
    "422": "The input does not validate",
    "429": "Too many attempts (sign-in throttling); try again later",
}
# answers some operations give besides those above
EXTRA = {"416": "The requested byte range cannot be satisfied"}
_REF = {"$ref": "#/components/schemas/Error"}

# Operations whose success answer is not JSON (they return a Response of their own, which FastAPI cannot
# see): (method, path) -> {status: [media types]}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BINARY = {"type": "string", "format": "binary"}
_FILE = {"200": ["application/octet-stream"], "206": ["application/octet-stream"]}
MEDIA: dict[tuple[str, str], dict[str, list[str]]] = {
    ("get", "/api/applications/{app_id}/pdf"): {"200": ["application/pdf"]},
    ("get", "/api/kpi/export.xlsx"): {"200": [XLSX]},
    ("get", "/api/kpi/{table}.csv"): {"200": ["text/csv"]},
    ("get", "/api/kpi/indicators.csv"): {"200": ["text/csv"]},
    ("get", "/api/kpi/evidence/{key}.csv"): {"200": ["text/csv"]},
    ("get", "/api/catalog/export"): {"200": ["application/json", "text/csv"]},
    ("get", "/api/catalog/datasets/{pid}/jsonld"): {"200": ["application/ld+json"]},
    ("get", "/api/catalog/datasets/{pid}/download"): _FILE,
    ("head", "/api/catalog/datasets/{pid}/download"): _FILE,
    ("get", "/api/catalog/datasets/{pid}/download.zip"): {"200": ["application/zip"]},
    ("head", "/api/catalog/datasets/{pid}/download.zip"): {"200": ["application/zip"]},
}


# The SciCat routes read their bodies as any JSON (so both SciCat generations' shapes reach the catalog's
# own validation) and their filters from the query string; the document names the shapes they accept.
def _scicat_bodies() -> dict[tuple[str, str], Any]:
    from halric.catalog import dto

    out: dict[tuple[str, str], Any] = {}
    table = {
        ("post", "/datasets"): dto.DatasetIn, ("post", "/datasets/isvalid"): dto.DatasetIn,
        ("patch", "/datasets/{pid}"): dto.DatasetIn, ("put", "/datasets/{pid}"): dto.DatasetIn,
        ("post", "/datasets/{pid}/origdatablocks"): dto.OrigDatablockIn,
        ("post", "/origdatablocks"): dto.OrigDatablockIn,
        ("post", "/datasets/{pid}/attachments"): dto.AttachmentIn, ("post", "/attachments"): dto.AttachmentIn,
        ("post", "/samples"): dto.SampleIn, ("patch", "/samples/{key}"): dto.SampleIn,
        ("post", "/proposals"): dto.ProposalIn, ("patch", "/proposals/{key}"): dto.ProposalIn,
        ("post", "/instruments"): dto.InstrumentIn, ("patch", "/instruments/{pid}"): dto.InstrumentIn,
        ("post", "/publisheddata"): dto.PublishedDataIn, ("patch", "/publisheddata/{doi}"): dto.PublishedDataIn,
    }  # fmt: skip
    for (method, path), model in table.items():
        for version in ("/api/v3", "/api/v4"):
            out[(method, version + path)] = model
    return out


LOOPBACK_FILTER = {
    "type": "object",
    "properties": {
        "where": {"type": "object"},
        "fields": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]},
        "include": {"type": "array"},
        "limit": {"type": "integer"},
        "skip": {"type": "integer"},
        "order": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    },
}
_FILTERED = ("/datasets", "/datasets/findone", "/datasets/count", "/origdatablocks", "/samples",
             "/samples/findone", "/proposals", "/proposals/findone", "/instruments", "/instruments/findone",
             "/publisheddata", "/datasets/fullquery", "/datasets/fullfacet")  # fmt: skip


def _json_query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "content": {"application/json": {"schema": schema}}}  # fmt: skip


def _scicat_query(path: str) -> list[dict[str, Any]]:
    for version in ("/api/v3", "/api/v4"):
        if path.startswith(version) and path[len(version) :] in _FILTERED:
            rest = path[len(version) :]
            params = [_json_query("filter", LOOPBACK_FILTER, "LoopBack filter: where, fields, include, "
                                  "limit, skip, order")]  # fmt: skip
            if rest in ("/datasets/fullquery", "/datasets/fullfacet"):
                params.append(
                    _json_query("fields", {"type": "object"}, "Search fields (text, ownerGroup, ...)")
                )
            if rest == "/datasets/fullfacet":
                params.append(_json_query("facets", {"type": "array", "items": {"type": "string"}}, "Facets"))
            return params
    return []


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _REF}}}


def document(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    bodies = _scicat_bodies()
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            if (model := bodies.get((method, path))) is not None and "requestBody" in op:
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in found.pop("$defs", {}).items():
                    schemas.setdefault(name, sub)
                schemas.setdefault(model.__name__, found)
                op["requestBody"]["content"] = {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
                }
            if extra := _scicat_query(path):
                op.setdefault("parameters", []).extend(extra)
            for code, types in MEDIA.get((method, path), {}).items():
                answer = responses.setdefault(code, {"description": "The file"})
                answer["content"] = {t: {"schema": {} if "json" in t else BINARY} for t in types}
            for code, text in ERRORS.items():
                responses[code] = _error(responses.get(code, {}).get("description") or text)
            for code, text in EXTRA.items():
                if code in responses:
                    responses[code] = _error(responses[code].get("description") or text)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
