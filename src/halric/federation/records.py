"""One record shape for every site: SciCat datasets (hubs and SciCat) and PaNOSC datasets are normalised to
``{pid, title, description, isPublic, doi, keywords, techniques, instrument, creationTime, modified,
ownerGroup, groups, size, numberOfFiles}``. Pure functions."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

DOI = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)


def doi_of(value: Any) -> str | None:
    """The DOI in a value (``10.x/y``, ``doi:10.x/y`` or a doi.org address), lower-cased; else None."""
    if not isinstance(value, str):
        return None
    m = DOI.match(value.strip())
    return m.group(1).lower() if m else None


def _str_list(values: Any) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list):
        values = [values]
    return [str(v) for v in values if v not in (None, "")]


def _techniques(values: Any) -> list[dict[str, str]]:
    out = []
    for t in values or []:
        if isinstance(t, dict):
            out.append({"pid": str(t.get("pid") or ""), "name": str(t.get("name") or t.get("pid") or "")})
        elif t:
            out.append({"pid": str(t), "name": str(t)})
    return out


def from_scicat(d: dict[str, Any]) -> dict[str, Any]:
    """A SciCat dataset (v3 or v4 shape, as hubs and SciCat answer) as a normalised record."""
    instruments = _str_list(d.get("instrumentIds")) or _str_list(d.get("instrumentId"))
    groups = _str_list(d.get("ownerGroup")) + _str_list(d.get("accessGroups"))
    doi = doi_of(d.get("doi")) or doi_of(d.get("pid"))
    return {
        "pid": str(d.get("pid") or ""),
        "title": str(d.get("datasetName") or d.get("title") or d.get("pid") or "")[:500],
        "description": str(d.get("description") or "")[:4000],
        "isPublic": bool(d.get("isPublished")),
        "doi": doi,
        "keywords": _str_list(d.get("keywords"))[:100],
        "techniques": _techniques(d.get("techniques"))[:50],
        "instrument": instruments[0] if instruments else None,
        "creationTime": d.get("creationTime"),
        "modified": d.get("updatedAt") or d.get("creationTime"),
        "ownerGroup": d.get("ownerGroup"),
        "groups": list(dict.fromkeys(groups)),
        "size": d.get("size"),
        "numberOfFiles": d.get("numberOfFiles"),
    }


def from_panosc(d: dict[str, Any]) -> dict[str, Any]:
    """A PaNOSC search API dataset as a normalised record (PaNOSC serves public data only)."""
    inst = d.get("instrument") if isinstance(d.get("instrument"), dict) else {}
    doi = doi_of(d.get("doi")) or doi_of(d.get("pid"))
    for doc in d.get("documents") or []:
        doi = doi or doi_of((doc or {}).get("doi"))
    return {
        "pid": str(d.get("pid") or ""),
        "title": str(d.get("title") or d.get("pid") or "")[:500],
        "description": str(d.get("summary") or d.get("description") or "")[:4000],
        "isPublic": d.get("isPublic", True) is not False,
        "doi": doi,
        "keywords": _str_list(d.get("keywords"))[:100],
        "techniques": _techniques(d.get("techniques"))[:50],
        "instrument": inst.get("name") or inst.get("pid") or d.get("instrumentId"),
        "creationTime": d.get("creationDate"),
        "modified": d.get("creationDate"),
        "ownerGroup": None,
        "groups": [],
        "size": d.get("size"),
        "numberOfFiles": None,
        "siteScore": d.get("score"),
    }


def landing_url(kind: str, url: str, pid: str, template: str | None = None) -> str:
    """Where the site shows the record (and reaches its files)."""
    from halric.federation.sites import adapter_for, kinds

    pattern = template or (adapter_for(kind).landing if kind in kinds() else "{url}/{pid}")
    return pattern.replace("{url}", url.rstrip("/")).replace("{pid}", quote(pid, safe=""))


def dedup_key(record: dict[str, Any]) -> str:
    """Records with the same DOI, or else the same pid, are one dataset known at several sites."""
    doi = record.get("doi")
    return f"doi:{doi}" if doi else f"pid:{record.get('pid')}"
