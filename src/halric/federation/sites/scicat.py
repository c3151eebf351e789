"""SciCat sites (API v3): federated search by ``fullquery``/``fullfacet``, harvest by modification time."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from halric.federation import records
from halric.federation.sites.base import (
    Cursor,
    HarvestError,
    HarvestPage,
    SiteAnswer,
    SiteError,
    Target,
    bucket,
    get,
    get_json,
)

SCICAT_FACETS = {
    "techniques": "technique",
    "instrumentIds": "instrument",
    "keywords": "keyword",
    "type": "type",
}
PID_PAGE = 1000


def scicat_page(c: Any, since: str | None, limit: int) -> list[dict[str, Any]]:
    flt: dict[str, Any] = {"order": ["updatedAt ASC", "pid ASC"], "limit": limit}
    if since:
        flt["where"] = {"updatedAt": {"gte": since}}
    rows = get(c, "/api/v3/Datasets", {"filter": json.dumps(flt)})
    if not isinstance(rows, list):
        raise HarvestError("unexpected answer from /api/v3/Datasets")
    return [r for r in rows if isinstance(r, dict) and r.get("pid")]


def scicat_pids(c: Any) -> set[str]:
    out: set[str] = set()
    skip = 0
    while True:
        flt = {"fields": {"pid": True}, "order": ["pid ASC"], "limit": PID_PAGE, "skip": skip}
        rows = get(c, "/api/v3/Datasets", {"filter": json.dumps(flt)})
        if not isinstance(rows, list):
            raise HarvestError("unexpected answer listing pids")
        out.update(str(r["pid"]) for r in rows if isinstance(r, dict) and r.get("pid"))
        if len(rows) < PID_PAGE:
            return out
        skip += PID_PAGE


class SciCatSite:
    kind = "scicat"
    health_path = "/api/v3/Datasets/count"
    landing = "{url}/api/v3/Datasets/{pid}"

    async def search(self, client: Any, t: Target, text: str, limit: int) -> SiteAnswer:
        fields: dict[str, Any] = {"text": text} if text else {}
        if t.public_only:
            fields["isPublished"] = True
        limits = {"limit": limit, "skip": 0, "order": "creationTime:desc"}
        q = get_json(
            client,
            t,
            "/api/v3/Datasets/fullquery",
            {"fields": json.dumps(fields), "limits": json.dumps(limits)},
        )
        f = get_json(
            client, t, "/api/v3/Datasets/fullfacet",
            {"fields": json.dumps(fields), "facets": json.dumps(list(SCICAT_FACETS))},
        )  # fmt: skip
        rows, facet_doc = await asyncio.gather(q, f)
        if not isinstance(rows, list):
            raise SiteError("unexpected answer from the SciCat fullquery")
        total = None
        facets: dict[str, dict[str, int]] = {}
        if isinstance(facet_doc, list) and facet_doc and isinstance(facet_doc[0], dict):
            doc = facet_doc[0]
            all_ = doc.get("all") or []
            if all_ and isinstance(all_[0], dict):
                total = int(all_[0].get("totalSets") or 0)
            for key, name in SCICAT_FACETS.items():
                facets[name] = {
                    str(i.get("_id")): int(i.get("count") or 0)
                    for i in doc.get(key) or []
                    if isinstance(i, dict)
                }
        items = [records.from_scicat(d) for d in rows if isinstance(d, dict)]
        if t.public_only:
            items = [i for i in items if i["isPublic"]]
        return SiteAnswer(t.name, "ok", 0, items=items, total=total, facets=facets or None)

    def harvest_page(self, c: Any, cursor: Cursor, page_size: int) -> HarvestPage:
        """Records modified at or after the cursor time, less those already taken at that time (asking for
        that many more, so every page brings ``page_size`` new records while there are any)."""
        since, seen = cursor.time, set(cursor.seen)
        ask = page_size + len(seen)
        page = scicat_page(c, since, ask)
        recs = [records.from_scicat(d) for d in page]
        fresh = [r for r in recs if not (bucket(r.get("modified")) == since and r["pid"] in seen)]
        for rec in recs:  # move the cursor to the last time read, remembering its pids
            t = bucket(rec.get("modified"))
            if t != since:
                since, seen = t, set()
            seen.add(rec["pid"])
        return HarvestPage(fresh, Cursor(since, frozenset(seen), cursor.skip), last=len(page) < ask)

    def harvest_listing(self, c: Any) -> set[str] | None:
        return scicat_pids(c)
