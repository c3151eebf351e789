"""Relations of PaNOSC records: the PaNOSC shapes of the catalog's records (dataset, document, instrument,
member) and a page of datasets' relations loaded together — one query per kind of related record for the
whole page (``halric.catalog.service.find_datasets`` with ``include``), never one per dataset."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from halric.catalog import published
from halric.catalog import service as catalog
from halric.catalog.filters import Filter
from halric.core.actor import ANONYMOUS
from halric.core.errors import InvalidInput

PUBLIC = ANONYMOUS  # the only caller this API ever reads as
PANET = re.compile(r"^PaNET\d{5}$")
# the catalog relations a PaNOSC relation is built from
CATALOG_INCLUDES = {"files": "origdatablocks", "samples": "samples", "documents": "proposals",
                    "document": "proposals", "instrument": "instruments"}  # fmt: skip


class Context:
    """Per-request caches of the small collections (published data, proposals, instruments)."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self._pubs: list[dict[str, Any]] | None = None
        self._facility: dict[str, str] | None = None

    def publications(self) -> list[dict[str, Any]]:
        if self._pubs is None:
            self._pubs = published.find(self.s, PUBLIC, Filter())
        return self._pubs

    def facility_names(self) -> dict[str, str]:
        if self._facility is None:
            from halric.registry.service import list_infrastructures

            self._facility = {i.id: i.name for i in list_infrastructures(self.s)}
        return self._facility

    def instrument(self, raw: dict[str, Any]) -> dict[str, Any]:
        meta = raw.get("customMetadata") or {}
        infra = meta.get("infrastructure")
        facility = (
            meta.get("facility") or self.facility_names().get(infra or "", infra) or meta.get("organisation")
        )
        return {"pid": raw["pid"], "name": raw.get("name") or raw["pid"], "facility": facility or "HALRIC"}


def publication_doc(p: dict[str, Any]) -> dict[str, Any]:
    meta = p.get("metadata") or {}
    rights = meta.get("rightsList") or []
    license_ = next(
        (r.get("rightsIdentifier") or r.get("rights") for r in rights if isinstance(r, dict)), None
    )
    keywords = [
        str(x.get("subject")) for x in meta.get("subjects") or [] if isinstance(x, dict) and x.get("subject")
    ]
    return _compact({
        "pid": p["doi"], "isPublic": True, "type": "publication", "title": p.get("title") or p["doi"],
        "summary": p.get("abstract"), "doi": p["doi"],
        "releaseDate": p.get("registeredTime") or (f"{p['publicationYear']}-01-01T00:00:00.000Z" if p.get("publicationYear") else None),
        "license": license_, "keywords": keywords, "score": 0.0,
    })  # fmt: skip


def proposal_doc(p: dict[str, Any]) -> dict[str, Any]:
    return _compact({
        "pid": p["proposalId"], "isPublic": True, "type": "proposal", "title": p.get("title") or p["proposalId"],
        "summary": p.get("abstract"), "startDate": p.get("startTime"), "endDate": p.get("endTime"),
        "keywords": [], "score": 0.0,
    })  # fmt: skip


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def members(source: dict[str, Any]) -> list[dict[str, Any]]:
    out, seen = [], set()
    if source.get("type") == "proposal":
        names = [("principal investigator", f"{source.get('pi_firstname') or ''} {source.get('pi_lastname') or ''}"),
                 ("main proposer", f"{source.get('firstname') or ''} {source.get('lastname') or ''}")]  # fmt: skip
    else:
        names = [("creator", str(c)) for c in source.get("creator") or []]
        names += [("author", str(a)) for a in source.get("authors") or []]
    for role, name in names:
        name = " ".join(name.split())
        if name and name not in seen:
            seen.add(name)
            out.append({"role": role, "person": {"fullName": name}})
    return out


def dataset_core(d: dict[str, Any]) -> dict[str, Any]:
    return _compact({
        "pid": d["pid"], "title": d.get("datasetName") or d["pid"], "isPublic": True,
        "creationDate": d.get("creationTime"), "size": d.get("size"), "score": 0.0,
    })  # fmt: skip


class Page:
    """A page of public catalog datasets (SciCat dicts, in order) with their relations, loaded together."""

    def __init__(self, ctx: Context, pids: list[str], relations: set[str]) -> None:
        """The public datasets ``pids`` (in that order) with what the PaNOSC ``relations`` need."""
        self.ctx = ctx
        include = sorted({CATALOG_INCLUDES[r] for r in relations if r in CATALOG_INCLUDES})
        rows = (
            catalog.find_datasets(
                ctx.s,
                PUBLIC,
                Filter(where={"pid": {"inq": pids}}, include=include, limit=len(pids)),
                max_limit=len(pids),
            )
            if pids
            else []
        )
        found = {d["pid"]: d for d in rows}
        self.datasets = [found[p] for p in pids if p in found]

    def relation(self, d: dict[str, Any], rel: str) -> Any:
        """One relation of a dataset of the page, PaNOSC-shaped."""
        if rel == "techniques":
            out = []
            for t in d.get("techniques") or []:
                item = {"pid": t.get("pid") or t.get("name"), "name": t.get("name") or t.get("pid")}
                tid = str(t.get("pid") or "").rsplit("/", 1)[-1]
                if PANET.match(tid):
                    item["panetId"] = f"http://purl.org/pan-science/PaNET/{tid}"
                out.append(item)
            return out
        if rel == "parameters":
            from halric.panosc.parameters import parameters_of

            return parameters_of(d.get("scientificMetadata"))
        if rel == "files":
            files = []
            for b in d.get("origdatablocks") or []:
                for n, f in enumerate(b.get("dataFileList") or []):
                    path = str(f.get("path") or "")
                    folder, _, name = path.rpartition("/")
                    files.append(
                        _compact({"id": f"{b['id']}-{n}", "name": name or path, "path": folder or None,
                                  "size": f.get("size")})
                    )  # fmt: skip
            return files
        if rel == "samples":
            return [
                _compact({"pid": x["sampleId"], "name": x.get("sampleName") or x["sampleId"],
                          "description": x.get("description")})
                for x in d.get("samples") or []
            ]  # fmt: skip
        if rel == "instrument":
            first = (d.get("instrumentIds") or [])[:1]  # the dataset's first instrument, if it exists
            found = [i for i in d.get("instruments") or [] if [i.get("pid")] == first]
            return self.ctx.instrument(found[0]) if found else {}
        if rel in ("documents", "document"):
            return [doc for doc, _ in self.documents(d)]
        raise InvalidInput(f"filter.include: unknown relation {rel!r}", field="filter.include")

    def documents(self, d: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(document, source record): published data listing the dataset, and its published proposals."""
        docs = [
            (publication_doc(p), p) for p in self.ctx.publications() if d["pid"] in (p.get("pidArray") or [])
        ]
        for p in d.get("proposals") or []:
            docs.append((proposal_doc(p), {**p, "type": "proposal"}))
        return docs
