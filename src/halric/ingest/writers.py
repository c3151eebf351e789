"""Where ingested datasets are written: a SciCat-compatible catalog over HTTP, or the hub's own catalog.

A writer is the only part of ingest that knows the catalog. Both offer the same small interface:

- ``find_dataset(ingest_key, source_folder)`` → pid or None (resume after a crash without duplicates)
- ``create_dataset(dto)`` → the stored dataset (with ``pid``)
- ``find_datablock(pid, paths)`` → id of an existing datablock holding exactly these files, or None
- ``add_datablock(dto)`` → the stored datablock
- ``get_dataset(pid)`` and ``datablocks(pid)`` for ``halric verify``
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

from halric.core.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied, Unprocessable

INGEST_KEY_FIELD = "halric_ingest_key"  # in scientificMetadata: {"value": key}


class CatalogWriter(Protocol):
    target: str

    def check(self) -> None: ...
    def find_dataset(self, ingest_key: str, source_folder: str) -> str | None: ...
    def create_dataset(self, dto: dict[str, Any]) -> dict[str, Any]: ...
    def find_datablock(self, pid: str, paths: set[str]) -> str | None: ...
    def add_datablock(self, dto: dict[str, Any]) -> dict[str, Any]: ...
    def get_dataset(self, pid: str) -> dict[str, Any]: ...
    def datablocks(self, pid: str) -> list[dict[str, Any]]: ...


def normalise_catalog_url(url: str) -> str:
    u = url.strip().rstrip("/")
    parts = urllib.parse.urlsplit(u)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(
            "catalog: give the catalog's address, e.g. https://scicat.example.org", field="catalog"
        )
    if not u.endswith("/api/v3"):
        u += "/api/v3"
    return u


class SciCatHttpWriter:
    """A SciCat (v3/v4 API) catalog: POST /Datasets, POST /OrigDatablocks, with a Bearer token."""

    def __init__(self, url: str, token: str, *, timeout: float = 60.0) -> None:
        if not token:
            raise InvalidInput("token: a SciCat catalog needs an access token (--token)", field="token")
        self.base = normalise_catalog_url(url)
        self.token = token
        self.timeout = timeout
        self.target = f"scicat:{self.base}"
        self._groups: dict[str, tuple[str, list[str]]] = {}

    def _request(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode("utf-8", "replace").replace(self.token, "***")
            msg = f"catalog: {method} {path} answered {exc.code}: {' '.join(detail.split())}"
            if exc.code == 401:
                raise NotAuthenticated(msg + " — check --token") from None
            if exc.code == 403:
                raise PermissionDenied(
                    msg + " — the token's user may not write to this owner group"
                ) from None
            if exc.code == 404:
                raise NotFound(msg) from None
            raise Unprocessable(msg) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InvalidInput(f"catalog: cannot reach {self.base} ({reason})", field="catalog") from None
        return json.loads(raw) if raw else None

    def check(self) -> None:
        self._request("GET", "/Datasets", query={"filter": json.dumps({"limit": 1})})

    def find_dataset(self, ingest_key: str, source_folder: str) -> str | None:
        where = {"sourceFolder": source_folder}
        found = self._request("GET", "/Datasets", query={"filter": json.dumps({"where": where})}) or []
        for d in found:
            meta = d.get("scientificMetadata") or {}
            if (meta.get(INGEST_KEY_FIELD) or {}).get("value") == ingest_key:
                return str(d["pid"])
        return None

    def create_dataset(self, dto: dict[str, Any]) -> dict[str, Any]:
        if not dto.get("contactEmail"):
            raise InvalidInput(
                "contact_email: a SciCat catalog needs a contact e-mail for each dataset (--contact-email)",
                field="contact_email",
            )
        out = self._request("POST", "/Datasets", dto)
        if not isinstance(out, dict) or "pid" not in out:
            raise Unprocessable("catalog: POST /Datasets did not return a pid")
        self._groups[str(out["pid"])] = (dto["ownerGroup"], list(dto.get("accessGroups") or []))
        return out

    def find_datablock(self, pid: str, paths: set[str]) -> str | None:
        for b in self.datablocks(pid):
            if {f["path"] for f in b.get("dataFileList", [])} == paths:
                return str(b.get("id") or b.get("_id") or "")
        return None

    def add_datablock(self, dto: dict[str, Any]) -> dict[str, Any]:
        """SciCat's OrigDatablocks are ownable: they carry the dataset's owner and access groups."""
        pid = dto["datasetId"]
        if pid not in self._groups:
            ds = self.get_dataset(pid)
            self._groups[pid] = (ds["ownerGroup"], list(ds.get("accessGroups") or []))
        owner_group, access_groups = self._groups[pid]
        return (
            self._request(
                "POST", "/OrigDatablocks", {**dto, "ownerGroup": owner_group, "accessGroups": access_groups}
            )
            or {}
        )

    def get_dataset(self, pid: str) -> dict[str, Any]:
        return self._request("GET", "/Datasets/" + urllib.parse.quote(pid, safe=""))

    def get_proposal(self, proposal_id: str) -> dict[str, Any] | None:
        """The proposal, or None when the catalog has none that the token's user may see."""
        try:
            out = self._request("GET", "/Proposals/" + urllib.parse.quote(proposal_id, safe=""))
        except NotFound:
            return None
        return out if isinstance(out, dict) else None

    def datablocks(self, pid: str) -> list[dict[str, Any]]:
        flt = json.dumps({"where": {"datasetId": pid}})
        return self._request("GET", "/OrigDatablocks", query={"filter": flt}) or []


class HubWriter:
    """The hub's own catalog (``halric.catalog.service``), in the hub's database."""

    def __init__(self, db: Any, actor: Any) -> None:
        self.db = db
        self.actor = actor
        url = db.engine.url
        self.target = f"hub:{url.render_as_string(hide_password=True)}"

    def check(self) -> None:
        try:
            import halric.catalog.service  # noqa: F401
        except ImportError as exc:  # pragma: no cover - the catalog ships with the hub
            raise Unprocessable("catalog: this hub has no experiment-data catalog") from exc

    def find_dataset(self, ingest_key: str, source_folder: str) -> str | None:
        from halric.catalog import service
        from halric.catalog.filters import Filter

        with self.db.session() as s:
            for d in service.find_datasets(
                s, self.actor, Filter(where={"sourceFolder": source_folder}, limit=1000)
            ):
                meta = d.get("scientificMetadata") or {}
                if (meta.get(INGEST_KEY_FIELD) or {}).get("value") == ingest_key:
                    return str(d["pid"])
        return None

    def create_dataset(self, dto: dict[str, Any]) -> dict[str, Any]:
        from halric.catalog import service

        with self.db.session() as s:
            return service.create_dataset(s, self.actor, dto)

    def find_datablock(self, pid: str, paths: set[str]) -> str | None:
        for b in self.datablocks(pid):
            if {f["path"] for f in b.get("dataFileList", [])} == paths:
                return str(b.get("id") or "")
        return None

    def add_datablock(self, dto: dict[str, Any]) -> dict[str, Any]:
        from halric.catalog import service

        with self.db.session() as s:
            return service.add_origdatablock(s, self.actor, dto)

    def get_dataset(self, pid: str) -> dict[str, Any]:
        from halric.catalog import service

        with self.db.session() as s:
            return service.get_dataset(s, self.actor, pid)

    def datablocks(self, pid: str) -> list[dict[str, Any]]:
        from halric.catalog import service

        with self.db.session() as s:
            return service.list_origdatablocks(s, self.actor, pid)
