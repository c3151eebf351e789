"""Federated search: the hub's own catalog, harvested sites from the local index, and live sites asked
concurrently, merged into one ranked answer with per-site status.

Whose rights apply at each site: the caller's own token for that site when they stored one (the site then
returns what it allows them); otherwise the site's service token or no token, and then only public records
are asked for. Anonymous callers therefore see public data only, everywhere.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from halric.core.actor import Actor
from halric.core.db import Database
from halric.federation import fanout, index, records, service
from halric.federation.crypto import TokenBox
from halric.federation.fanout import SiteAnswer, Target
from halric.federation.models import Site

LOCAL = "local"


@dataclass
class Plan:
    targets: list[Target]  # live sites
    harvested: list[int]  # site ids searched in the local index


def plan(s: Session, actor: Actor, box: TokenBox, sites: list[Site]) -> Plan:
    mine = service.user_tokens(s, actor, box)
    targets, harvested = [], []
    for site in sites:
        if site.mode == "harvest":
            harvested.append(site.id)
            continue
        own = mine.get(site.id)
        token = own or box.open(site.service_token)
        targets.append(
            Target(
                name=site.name, kind=site.kind, url=site.url, timeout=site.timeout, token=token,
                public_only=own is None, landing_template=site.landing_template,
            )
        )  # fmt: skip
    return Plan(targets, harvested)


def local_answer(s: Session, actor: Actor, text: str, limit: int, base_url: str) -> SiteAnswer:
    """The hub's own catalog, through the catalog's search (its access rules apply)."""
    from halric.catalog.search import SearchQuery
    from halric.catalog.search import search as catalog_search

    start = time.perf_counter()
    res = catalog_search(
        s,
        actor,
        SearchQuery(text=text or None, limit=limit),
        facets=("technique", "instrument", "keyword", "type"),
        allow_estimate=False,  # merged with other sites' exact counts
    )
    items = []
    for d in res["items"]:
        item = records.from_scicat(d)
        item["url"] = records.landing_url("hub", base_url, item["pid"])
        items.append(item)
    facets = {
        name: {str(i["value"]): int(i["count"]) for i in res["facets"].get(name, [])}
        for name in fanout.FACETS
    }
    elapsed = (time.perf_counter() - start) * 1000
    return SiteAnswer(LOCAL, "ok", elapsed, source="local", items=items, total=res["total"], facets=facets)


def index_answers(s: Session, actor: Actor, site_ids: list[int], text: str, limit: int) -> list[SiteAnswer]:
    out = []
    for sid in site_ids:
        site = s.get(Site, sid)
        if site is None:
            continue
        start = time.perf_counter()
        res = index.search_site(s, actor, site, text, limit)
        out.append(
            SiteAnswer(
                site.name, "ok", (time.perf_counter() - start) * 1000, source="index",
                items=res["items"], total=res["total"], facets=res["facets"],
            )
        )  # fmt: skip
    return out


async def search_async(
    db: Database,
    actor: Actor,
    box: TokenBox,
    text: str,
    *,
    limit: int = 25,
    include_local: bool = True,
    sites: list[str] | None = None,
    base_url: str = "",
    client: Any | None = None,
) -> dict[str, Any]:
    """One federated search. Returns ``{results, sites, total, coverage, facets, notices}``."""
    text = (text or "").strip()[:300]
    limit = max(1, min(int(limit), fanout.MAX_LIMIT))

    def prepare() -> Plan:
        with db.session(write=False) as s:
            chosen = service.list_sites(s, enabled_only=True)
            if sites is not None:
                wanted = set(sites)
                chosen = [x for x in chosen if x.name in wanted]
            return plan(s, actor, box, chosen)

    p = await asyncio.to_thread(prepare)
    live = asyncio.ensure_future(fanout.fan_out(p.targets, text, limit, db.settings, client))

    def nearby() -> list[SiteAnswer]:
        with db.session(write=False) as s:
            out = [local_answer(s, actor, text, limit, base_url)] if include_local else []
            return out + index_answers(s, actor, p.harvested, text, limit)

    try:
        near = await asyncio.to_thread(nearby)
    except BaseException:
        live.cancel()
        raise
    remote = await live
    await asyncio.to_thread(_store_health, db, remote)
    return fanout.merge(near + remote, text, limit)


def _store_health(db: Database, answers: list[SiteAnswer]) -> None:
    if not answers:
        return
    with db.session() as s:
        by_name = {x.name: x for x in service.list_sites(s)}
        for a in answers:
            site = by_name.get(a.name)
            if site is not None:
                service.record_health(s, site, a.status, a.elapsed_ms, a.message)


def search(db: Database, actor: Actor, box: TokenBox, text: str, **kw: Any) -> dict[str, Any]:
    """The same as :func:`search_async`, for callers without an event loop (the CLI, the benchmark)."""
    return asyncio.run(search_async(db, actor, box, text, **kw))
