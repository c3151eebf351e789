"""PaNOSC search API endpoints: public data only, no modification time (harvested in full each time)."""

from __future__ import annotations

import json
from typing import Any

from halric.federation import records, scoring
from halric.federation.sites.base import (
    Cursor,
    HarvestError,
    HarvestPage,
    SiteAnswer,
    SiteError,
    Target,
    get,
    get_json,
)


def panosc_page(c: Any, skip: int, limit: int) -> list[dict[str, Any]]:
    flt = {"limit": limit, "skip": skip, "include": [{"relation": "techniques"}, {"relation": "instrument"}]}
    rows = get(c, "/Datasets", {"filter": json.dumps(flt)})
    if not isinstance(rows, list):
        raise HarvestError("unexpected answer from /Datasets")
    return [r for r in rows if isinstance(r, dict) and r.get("pid")]


class PaNOSCSite:
    kind = "panosc"
    health_path = "/Datasets/count"
    landing = "{url}/Datasets/{pid}"

    async def search(self, client: Any, t: Target, text: str, limit: int) -> SiteAnswer:
        flt = {"limit": limit, "include": [{"relation": "techniques"}, {"relation": "instrument"}]}
        params: dict[str, Any] = {"filter": json.dumps(flt)}
        if text:
            params["query"] = text
        rows = await get_json(client, t, "/Datasets", params)
        if not isinstance(rows, list):
            raise SiteError("unexpected answer from the PaNOSC search API")
        items = [records.from_panosc(d) for d in rows if isinstance(d, dict)]
        items = [i for i in items if i["isPublic"]]
        if text:  # sites without a scoring service answer every dataset: keep the ones that match
            qw = scoring.words(text)
            items = [i for i in items if (i.get("siteScore") or 0) > 0 or scoring.relevance(qw, i) > 0]
        return SiteAnswer(t.name, "ok", 0, items=items, total=None, facets=None)

    def harvest_page(self, c: Any, cursor: Cursor, page_size: int) -> HarvestPage:
        page = panosc_page(c, cursor.skip, page_size)
        recs = [records.from_panosc(d) for d in page]
        return HarvestPage(
            [r for r in recs if r["isPublic"]],
            Cursor(cursor.time, cursor.seen, cursor.skip + len(page)),
            last=len(page) < page_size,
        )

    def harvest_listing(self, c: Any) -> set[str] | None:
        return None  # read in full: records not read in this run are gone
