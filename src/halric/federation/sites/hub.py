"""Other HALRIC hubs: federated search by the hub's catalog search; harvested as SciCat (API v3)."""

from __future__ import annotations

from typing import Any

from halric.federation import records
from halric.federation.sites.base import FACETS, SiteAnswer, SiteError, Target, get_json
from halric.federation.sites.scicat import SciCatSite


class HubSite(SciCatSite):
    kind = "hub"
    health_path = "/healthz"
    landing = "{url}/catalog/datasets/{pid}"

    async def search(self, client: Any, t: Target, text: str, limit: int) -> SiteAnswer:
        params: dict[str, Any] = {"q": text, "limit": limit}
        if t.public_only:
            params["published"] = "true"
        data = await get_json(client, t, "/api/catalog/search", params)
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            raise SiteError("unexpected answer from the hub's catalog search")
        facets: dict[str, dict[str, int]] = {}
        for name in FACETS:
            facets[name] = {
                str(i.get("value")): int(i.get("count") or 0)
                for i in (data.get("facets") or {}).get(name) or []
                if isinstance(i, dict)
            }
        items = [records.from_scicat(d) for d in data["items"] if isinstance(d, dict)]
        return SiteAnswer(t.name, "ok", 0, items=items, total=int(data.get("total") or 0), facets=facets)
