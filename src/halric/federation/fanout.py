"""Fan-out: one query to every site at once, each bounded by its own timeout, then one merged answer.

Each site is asked through the adapter of its kind (``federation.sites``).
Pure of the database: the caller plans the targets (URL, kind, timeout, which token) and stores health.
A site that is slow or dead costs at most its timeout and gives a notice, never an error.
"""

from __future__ import annotations

import asyncio
import time
from functools import lru_cache
from typing import Any

from halric.core.settings import Settings
from halric.federation import records, scoring, sites
from halric.federation.sites.base import FACETS, SiteAnswer, SiteError, Target

__all__ = [
    "FACETS",
    "MAX_LIMIT",
    "SiteAnswer",
    "SiteError",
    "Target",
    "ask",
    "async_client",
    "fan_out",
    "merge",
]

MAX_LIMIT = 200


@lru_cache(maxsize=1)
def _ssl_context() -> Any:
    import httpx

    return httpx.create_ssl_context()  # built once: creating it per client costs milliseconds


def async_client(cfg: Settings) -> Any:
    """The client that asks other sites, under the hub's address rules (``cfg``: its settings)."""
    import httpx

    from halric.federation.addresses import async_peer_hooks

    return httpx.AsyncClient(
        verify=_ssl_context(),
        event_hooks=async_peer_hooks(cfg),  # the address connected to is checked on every answer
        follow_redirects=False,
        headers={"Accept": "application/json", "User-Agent": "halric-hub-federation"},
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


async def ask(client: Any, t: Target, text: str, limit: int) -> SiteAnswer:
    """One site's answer within its timeout; failures become a status, never an exception."""
    start = time.perf_counter()
    try:
        answer = await asyncio.wait_for(
            sites.adapter_for(t.kind).search(client, t, text, limit), timeout=t.timeout
        )
    except TimeoutError:
        answer = SiteAnswer(t.name, "timeout", 0, message=f"no answer within {t.timeout:g} s")
    except SiteError as exc:
        answer = SiteAnswer(t.name, "error", 0, message=str(exc))
    except Exception as exc:  # a site must never break the search: report and go on
        answer = SiteAnswer(t.name, "error", 0, message=f"{type(exc).__name__} while reading the answer")
    answer.elapsed_ms = (time.perf_counter() - start) * 1000
    for item in answer.items:
        item["url"] = records.landing_url(t.kind, t.url, item["pid"], t.landing_template)
    return answer


async def fan_out(
    targets: list[Target], text: str, limit: int, cfg: Settings, client: Any | None = None
) -> list[SiteAnswer]:
    """Every target asked concurrently; answers in the targets' order."""
    if not targets:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    if client is not None:
        return list(await asyncio.gather(*(ask(client, t, text, limit) for t in targets)))
    async with async_client(cfg) as c:
        return list(await asyncio.gather(*(ask(c, t, text, limit) for t in targets)))


def merge(answers: list[SiteAnswer], text: str, limit: int) -> dict[str, Any]:
    """Results of every site ranked by the hub's own score, one entry per dataset (same DOI or pid),
    with facets and totals that say which sites they cover."""
    qw = scoring.words(text)
    best: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for a in answers:
        for item in a.items:
            if not item.get("pid"):
                continue
            rec = {**item, "site": a.name, "score": scoring.relevance(qw, item) if qw else 0.0}
            key = records.dedup_key(rec)
            seen = best.get(key)
            here = {"site": a.name, "pid": rec["pid"], "url": rec.get("url")}
            if seen is None:
                rec["alsoAt"] = []
                best[key] = rec
                order.append(key)
            elif rec["score"] > seen["score"]:
                rec["alsoAt"] = [
                    *seen["alsoAt"],
                    {"site": seen["site"], "pid": seen["pid"], "url": seen.get("url")},
                ]
                best[key] = rec
            else:
                seen["alsoAt"].append(here)
    rank = {k: n for n, k in enumerate(order)}
    results = sorted(
        best.values(),
        key=lambda r: (-r["score"], _neg_time(r.get("creationTime")), rank[records.dedup_key(r)]),
    )
    for r in results:
        for k in ("groups", "modified", "siteScore"):
            r.pop(k, None)
    facet_sites = [a.name for a in answers if a.status == "ok" and a.facets is not None]
    facets: dict[str, list[dict[str, Any]]] = {}
    for name in FACETS:
        counts: dict[str, int] = {}
        for a in answers:
            if a.status == "ok" and a.facets is not None:
                for value, n in (a.facets.get(name) or {}).items():
                    counts[value] = counts.get(value, 0) + n
        facets[name] = [
            {"value": v, "count": n} for v, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:30]
        ]
    facets["site"] = [
        {"value": a.name, "count": a.total if a.total is not None else len(a.items)}
        for a in answers
        if a.status == "ok"
    ]
    total_sites = [a.name for a in answers if a.status == "ok" and a.total is not None]
    return {
        "results": results[:limit],
        "sites": [a.public() for a in answers],
        "total": sum(a.total or 0 for a in answers if a.status == "ok" and a.total is not None),
        "coverage": {
            "total": total_sites,
            "facets": facet_sites,
            "missing": [a.name for a in answers if a.status != "ok"],
            "uncounted": [a.name for a in answers if a.status == "ok" and a.total is None],
        },
        "facets": facets,
        "notices": [_notice(a) for a in answers if a.status != "ok"],
    }


def _notice(a: SiteAnswer) -> dict[str, str]:
    if a.status == "timeout":
        text = f"{a.name} did not answer in time ({a.message}); its results are missing."
    else:
        text = f"{a.name} could not be searched ({a.message}); its results are missing."
    return {"site": a.name, "status": a.status, "text": text}


def _neg_time(value: Any) -> float:
    from datetime import datetime

    try:
        return -datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except (TypeError, ValueError):
        return 0.0
