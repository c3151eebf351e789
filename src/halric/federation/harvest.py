"""Harvesting a site's dataset metadata into the local index.

- Incremental by modification time: SciCat-speaking sites (hubs, SciCat) are read in pages ordered by
  ``updatedAt`` then ``pid``, from a cursor: the last modification time stored (to the millisecond, as
  SciCat answers) and the pids with that time already taken. PaNOSC endpoints expose no modification
  time: they are read in full each time.
- Resumable: the cursor is committed after every page, so a run that stops (crash, kill, lost network)
  goes on from the last page at the next run.
- Safe from cron: a lease in the site's row lets one harvest run per site at a time; a second run returns
  "busy". A lease left by a killed run expires after ``LEASE``.
- Deletions: after the pages, the site's current list of pids is read and records no longer there
  (deleted, or unpublished when the harvest is anonymous) are removed. Records that stay visible to the
  harvest token but became private keep their groups and are shown only to users mapped to them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from halric.core import audit
from halric.core.actor import Actor
from halric.core.db import Database
from halric.core.errors import InvalidInput
from halric.core.settings import Settings
from halric.core.timeutil import utcnow
from halric.federation import index, service, sites
from halric.federation.crypto import TokenBox
from halric.federation.models import HarvestedRecord, HarvestedTerm, Site
from halric.federation.sites.base import Cursor, HarvestError, SiteAdapter
from halric.federation.sites.base import bucket as _bucket
from halric.federation.sites.base import get as _get  # noqa: F401  (the harvest GET, kept under its old name)

__all__ = ["LEASE", "PAGE", "HarvestError", "harvest", "harvest_all", "store"]

LEASE = timedelta(minutes=10)
PAGE = 200


# --- the site's side -------------------------------------------------------------------------------------


def _client(url: str, timeout: float, token: str | None, cfg: Settings) -> Any:
    import httpx

    from halric.federation.fanout import _ssl_context

    headers = {"Accept": "application/json", "User-Agent": "halric-hub-harvest"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    from halric.federation.addresses import peer_hooks

    return httpx.Client(
        base_url=url,
        headers=headers,
        timeout=max(timeout, 10.0),
        verify=_ssl_context(),
        event_hooks=peer_hooks(cfg),
    )


# --- the hub's side --------------------------------------------------------------------------------------


def _take_lease(db: Database, site_id: int, owner: str) -> bool:
    now = utcnow()
    with db.session() as s:
        res = s.execute(
            update(Site)
            .where(
                Site.id == site_id,
                or_(
                    Site.harvest_lease_until.is_(None),
                    Site.harvest_lease_until < now,
                    Site.harvest_lease_owner == owner,
                ),
            )
            .values(harvest_lease_until=now + LEASE, harvest_lease_owner=owner)
        )
        return res.rowcount == 1


def _release(s: Session, site: Site, owner: str) -> None:
    if site.harvest_lease_owner == owner:
        site.harvest_lease_until = None
        site.harvest_lease_owner = None


def _terms(rec: dict[str, Any]) -> list[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for g in rec.get("groups") or []:
        out.add(("group", str(g)[:255]))
    for k in rec.get("keywords") or []:
        out.add(("keyword", str(k)[:255]))
    for t in rec.get("techniques") or []:
        out.add(("technique", str(t.get("name") or t.get("pid"))[:255]))
    if rec.get("instrument"):
        out.add(("instrument", str(rec["instrument"])[:255]))
    return sorted(out)


def _search_text(rec: dict[str, Any]) -> str:
    from halric.federation.scoring import fields_of

    return " ".join(" ".join(v.split()) for v in fields_of(rec).values() if v).lower()


def store(s: Session, site: Site, recs: list[dict[str, Any]]) -> tuple[int, int]:
    """Insert or update normalised records of the site; returns (added, updated)."""
    pids = [r["pid"][:255] for r in recs]
    existing = {
        r.pid: r
        for r in s.scalars(
            select(HarvestedRecord).where(HarvestedRecord.site_id == site.id, HarvestedRecord.pid.in_(pids))
        )
    }
    added = updated = 0
    now = utcnow()
    for rec in recs:
        pid = rec["pid"][:255]
        row = existing.get(pid)
        values = dict(
            doi=(rec.get("doi") or None) and str(rec["doi"])[:255], title=str(rec.get("title") or "")[:500],
            description=str(rec.get("description") or ""), is_public=bool(rec.get("isPublic")),
            owner_group=(rec.get("ownerGroup") or None) and str(rec["ownerGroup"])[:150],
            creation_time=_bucket(rec.get("creationTime")), modified=_bucket(rec.get("modified")),
            record=rec, search_text=_search_text(rec), harvested_at=now,
        )  # fmt: skip
        if row is None:
            row = HarvestedRecord(site_id=site.id, pid=pid, **values)
            s.add(row)
            s.flush()
            added += 1
        else:
            for k, v in values.items():
                setattr(row, k, v)
            s.execute(delete(HarvestedTerm).where(HarvestedTerm.record_id == row.id))
            updated += 1
        s.add_all(HarvestedTerm(record_id=row.id, kind=k, value=v) for k, v in _terms(rec))
    return added, updated


def _refresh_statistics(s: Session, stats: dict[str, Any]) -> None:
    """At the end of a run that changed the index: the planner's statistics (see index.refresh_statistics)."""
    if stats["added"] or stats["updated"] or stats["removed"]:
        index.refresh_statistics(s)


def _remove_missing(s: Session, site: Site, keep: set[str] | None, before: Any = None) -> int:
    q = select(HarvestedRecord.id, HarvestedRecord.pid).where(HarvestedRecord.site_id == site.id)
    if before is not None:
        q = q.where(HarvestedRecord.harvested_at < before)
    gone = [rid for rid, pid in s.execute(q) if keep is None or pid not in keep]
    for i in range(0, len(gone), 500):
        chunk = gone[i : i + 500]
        s.execute(delete(HarvestedTerm).where(HarvestedTerm.record_id.in_(chunk)))
        s.execute(delete(HarvestedRecord).where(HarvestedRecord.id.in_(chunk)))
    return len(gone)


def harvest(
    db: Database,
    actor: Actor,
    box: TokenBox,
    name: str,
    *,
    full: bool = False,
    page_size: int = PAGE,
    max_pages: int | None = None,
    on_page: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Harvest one site. Returns ``{site, status, added, updated, removed, pages, elapsed_ms, ...}``;
    status is ``done``, ``partial`` (stopped after ``max_pages``; the next run resumes), ``busy`` (another
    run holds the lease) or ``error`` (the cursor is kept; the next run resumes). ``on_page`` is called
    with the figures so far after every page stored (a worker shows them as the job's progress)."""
    if not 1 <= page_size <= 5000:
        raise InvalidInput("page_size: give 1–5000", field="page_size")
    with db.session() as s:
        site = service.get_site(s, name)
        service.ensure_manager(actor)
        site_id, kind = site.id, site.kind
    owner = uuid.uuid4().hex
    stats: dict[str, Any] = {"site": name, "added": 0, "updated": 0, "removed": 0, "pages": 0}
    if not _take_lease(db, site_id, owner):
        return {**stats, "status": "busy", "message": "another harvest of this site is running"}
    start = time.perf_counter()
    try:
        with db.session() as s:
            site = s.get(Site, site_id)
            assert site is not None
            if full:
                service.reset_harvest(site)
            if site.harvest_started_at is None:
                site.harvest_started_at = utcnow()
                site.harvest_stats = {}
            token = box.open(site.service_token)
            url, timeout = site.url, site.timeout
        with _client(url, timeout, token, db.settings) as c:
            status = _run(
                db, site_id, owner, sites.adapter_for(kind), c, stats, page_size, max_pages, on_page
            )
        stats["status"] = status
    except HarvestError as exc:
        stats["status"] = "error"
        stats["message"] = str(exc)
    finally:
        stats["elapsed_ms"] = round((time.perf_counter() - start) * 1000, 1)
        with db.session() as s:
            site = s.get(Site, site_id)
            if site is not None:
                if stats.get("status") == "done":
                    site.harvest_finished_at = utcnow()
                    site.harvest_started_at = None
                    site.harvest_stats = {k: stats[k] for k in ("added", "updated", "removed", "pages")}
                ok = stats.get("status") in ("done", "partial")
                service.record_health(
                    s, site, "ok" if ok else "error", stats["elapsed_ms"], stats.get("message"), force=True
                )
                _release(s, site, owner)
                audit.record(
                    s,
                    actor,
                    "harvest",
                    "federation_site",
                    name,
                    {k: v for k, v in stats.items() if k != "site"},
                )
    return stats


def _renew(s: Session, site: Site, owner: str) -> None:
    if site.harvest_lease_owner != owner:
        raise HarvestError("the harvest lease was taken over by another run")
    site.harvest_lease_until = utcnow() + LEASE


def _cursor(site: Site) -> Cursor:
    return Cursor(
        site.harvest_cursor_time,
        frozenset(site.harvest_cursor_seen or []),
        int((site.harvest_stats or {}).get("skip") or 0),
    )


def _run(
    db: Database,
    site_id: int,
    owner: str,
    adapter: SiteAdapter,
    c: Any,
    stats: dict[str, Any],
    page_size: int,
    max_pages: int | None,
    on_page: Callable[[dict[str, Any]], None] | None = None,
) -> str:
    """Pages from the adapter, each stored with the cursor after it in one transaction; then the records
    the site no longer has removed (those not in its listing, or, for sites read in full, those this run
    did not read)."""
    while True:
        with db.session() as s:
            site = s.get(Site, site_id)
            assert site is not None
            cursor, run_start = _cursor(site), site.harvest_started_at
        if max_pages is not None and stats["pages"] >= max_pages:
            return "partial"
        page = adapter.harvest_page(c, cursor, page_size)
        with db.session() as s:
            site = s.get(Site, site_id)
            assert site is not None
            _renew(s, site, owner)
            added, updated = store(s, site, page.records)
            stats["added"] += added
            stats["updated"] += updated
            new = page.cursor
            if (new.time, new.seen) != (cursor.time, cursor.seen):
                site.harvest_cursor_time, site.harvest_cursor_seen = new.time, sorted(new.seen)
            if new.skip != cursor.skip:
                site.harvest_stats = {**(site.harvest_stats or {}), "skip": new.skip}
        stats["pages"] += 1
        if on_page is not None:
            on_page(stats)
        if page.last:
            break
    keep = adapter.harvest_listing(c)
    with db.session() as s:
        site = s.get(Site, site_id)
        assert site is not None
        stats["removed"] = _remove_missing(s, site, keep, before=run_start if keep is None else None)
        if "skip" in (site.harvest_stats or {}):
            site.harvest_stats = {k: v for k, v in (site.harvest_stats or {}).items() if k != "skip"}
        _refresh_statistics(s, stats)
    return "done"


def harvest_all(
    db: Database, actor: Actor, box: TokenBox, names: list[str] | None = None, **kw: Any
) -> list[dict[str, Any]]:
    """Harvest the named sites, or every enabled site in harvest mode."""
    with db.session() as s:
        if names:
            chosen = [service.get_site(s, n).name for n in names]
        else:
            chosen = [x.name for x in service.list_sites(s, enabled_only=True) if x.mode == "harvest"]
    return [harvest(db, actor, box, n, **kw) for n in chosen]
