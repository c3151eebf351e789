"""Fan-out: one query to every site at once, each bounded by its own timeout, then one merged answer.

Pure of the database: the caller plans the targets (URL, kind, timeout, which token) and stores health.
A site that is slow or dead costs at most its timeout and gives a notice, never an error.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from halric.federation import records, scoring

FACETS = ("technique", "instrument", "keyword", "type")
SCICAT_FACETS = {
    "techniques": "technique",
    "instrumentIds": "instrument",
    "keywords": "keyword",
    "type": "type",
}
MAX_LIMIT = 200


@dataclass
class Target:
    """One site as the fan-out asks it."""

    name: str
    kind: str  # hub | scicat | panosc
    url: str
    timeout: float
    token: str | None = None
    public_only: bool = True  # ask only for public records (anonymous callers, service tokens)
    landing_template: str | None = None


@dataclass
class SiteAnswer:
    name: str
    status: str  # ok | timeout | error
    elapsed_ms: float
    source: str = "live"  # live | index | local
    items: list[dict[str, Any]] = field(default_factory=list)
    total: int | None = None  # None: the site does not say
    facets: dict[str, dict[str, int]] | None = None  # None: the site gives no facets
    message: str | None = None

    def public(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "elapsed_ms": round(self.elapsed_ms, 1)}


class SiteError(Exception):
    """A site answered, but not usefully (HTTP error, not JSON, unexpected shape)."""


@lru_cache(maxsize=1)
def _ssl_context() -> Any:
    import httpx

    return httpx.create_ssl_context()  # built once: creating it per client costs milliseconds


def async_client() -> Any:
    import httpx

    from halric.federation.addresses import async_peer_hooks

    return httpx.AsyncClient(
        verify=_ssl_context(),
        event_hooks=async_peer_hooks(),  # the address connected to is checked on every answer
        follow_redirects=False,
        headers={"Accept": "application/json", "User-Agent": "halric-hub-federation"},
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


def _headers(t: Target) -> dict[str, str]:
    return {"Authorization": f"Bearer {t.token}"} if t.token else {}


async def _get_json(client: Any, t: Target, path: str, params: dict[str, Any]) -> Any:
    import httpx

    try:
        r = await client.get(t.url.rstrip("/") + path, params=params, headers=_headers(t), timeout=t.timeout)
    except httpx.HTTPError as exc:
        raise SiteError(f"{type(exc).__name__}: could not reach the site") from None
    if r.status_code in (401, 403):
        raise SiteError(f"HTTP {r.status_code}: the site refused the token (renew it on your tokens page)")
    if r.status_code >= 400:
        raise SiteError(f"HTTP {r.status_code} from the site")
    try:
        return r.json()
    except ValueError:
        raise SiteError("the site did not answer JSON") from None


async def _ask_hub(client: Any, t: Target, text: str, limit: int) -> SiteAnswer:
    params: dict[str, Any] = {"q": text, "limit": limit}
    if t.public_only:
        params["published"] = "true"
    data = await _get_json(client, t, "/api/catalog/search", params)
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


async def _ask_scicat(client: Any, t: Target, text: str, limit: int) -> SiteAnswer:
    fields: dict[str, Any] = {"text": text} if text else {}
    if t.public_only:
        fields["isPublished"] = True
    limits = {"limit": limit, "skip": 0, "order": "creationTime:desc"}
    q = _get_json(
        client, t, "/api/v3/Datasets/fullquery", {"fields": json.dumps(fields), "limits": json.dumps(limits)}
    )
    f = _get_json(
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
                str(i.get("_id")): int(i.get("count") or 0) for i in doc.get(key) or [] if isinstance(i, dict)
            }
    items = [records.from_scicat(d) for d in rows if isinstance(d, dict)]
    if t.public_only:
        items = [i for i in items if i["isPublic"]]
    return SiteAnswer(t.name, "ok", 0, items=items, total=total, facets=facets or None)


async def _ask_panosc(client: Any, t: Target, text: str, limit: int) -> SiteAnswer:
    flt = {"limit": limit, "include": [{"relation": "techniques"}, {"relation": "instrument"}]}
    params: dict[str, Any] = {"filter": json.dumps(flt)}
    if text:
        params["query"] = text
    rows = await _get_json(client, t, "/Datasets", params)
    if not isinstance(rows, list):
        raise SiteError("unexpected answer from the PaNOSC search API")
    items = [records.from_panosc(d) for d in rows if isinstance(d, dict)]
    items = [i for i in items if i["isPublic"]]
    if text:  # sites without a scoring service answer every dataset: keep the ones that match
        qw = scoring.words(text)
        items = [i for i in items if (i.get("siteScore") or 0) > 0 or scoring.relevance(qw, i) > 0]
    return SiteAnswer(t.name, "ok", 0, items=items, total=None, facets=None)


ASK = {"hub": _ask_hub, "scicat": _ask_scicat, "panosc": _ask_panosc}


async def ask(client: Any, t: Target, text: str, limit: int) -> SiteAnswer:
    """One site's answer within its timeout; failures become a status, never an exception."""
    start = time.perf_counter()
    try:
        answer = await asyncio.wait_for(ASK[t.kind](client, t, text, limit), timeout=t.timeout)
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
    targets: list[Target], text: str, limit: int, client: Any | None = None
) -> list[SiteAnswer]:
    """Every target asked concurrently; answers in the targets' order."""
    if not targets:
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    if client is not None:
        return list(await asyncio.gather(*(ask(client, t, text, limit) for t in targets)))
    async with async_client() as c:
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
