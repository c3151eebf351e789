"""The local index of harvested records: search, counts and facets, with each site's access groups
mapped to hub groups. The access rule is part of the one query every result, count and facet comes from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from halric.core.actor import Actor
from halric.federation import records, scoring
from halric.federation.models import HarvestedRecord, HarvestedTerm, Site

INDEX_FACETS = {"technique": "technique", "instrument": "instrument", "keyword": "keyword"}


def mapped_groups(site: Site, actor: Actor) -> list[str]:
    """The site's access groups whose records the actor may see (through the site's group map)."""
    if actor.is_anonymous or not actor.groups:
        return []
    return sorted(g for g, hub in (site.group_map or {}).items() if actor.groups.intersection(hub or []))


def visibility(actor: Actor, sites: list[Site]) -> ColumnElement[bool]:
    """Public records, and private ones whose site groups map to one of the actor's hub groups. Hub
    curators get no more here: a site's private records follow only that site's groups."""
    conds: list[ColumnElement[bool]] = [HarvestedRecord.is_public.is_(True)]
    for site in sites:
        groups = mapped_groups(site, actor)
        if groups:
            conds.append(
                and_(
                    HarvestedRecord.site_id == site.id,
                    exists(
                        select(HarvestedTerm.id).where(
                            HarvestedTerm.record_id == HarvestedRecord.id,
                            HarvestedTerm.kind == "group",
                            HarvestedTerm.value.in_(groups),
                        )
                    ),
                )
            )
    return or_(*conds)


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def record_select(actor: Actor, site: Site, text: str | None) -> Any:
    q = select(HarvestedRecord).where(HarvestedRecord.site_id == site.id, visibility(actor, [site]))
    for w in scoring.words(text):
        q = q.where(HarvestedRecord.search_text.like(f"%{_escape_like(w)}%", escape="\\"))
    return q


def search_site(s: Session, actor: Actor, site: Site, text: str | None, limit: int) -> dict[str, Any]:
    """Items (normalised records with landing urls), total and facets of one harvested site."""
    base = record_select(actor, site, text)
    total = int(s.scalar(base.with_only_columns(func.count(HarvestedRecord.id)).order_by(None)) or 0)
    rows = s.scalars(
        base.order_by(HarvestedRecord.creation_time.desc(), HarvestedRecord.pid).limit(max(limit * 4, limit))
    ).all()
    items = []
    qw = scoring.words(text)
    for r in rows:
        item = dict(r.record or {})
        item["url"] = records.landing_url(site.kind, site.url, r.pid, site.landing_template)
        items.append(item)
    if qw:  # the best of a wider slice, ranked the same way as the live answers
        items.sort(key=lambda i: -scoring.relevance(qw, i))
    items = items[:limit]
    ids = base.with_only_columns(HarvestedRecord.id).order_by(None).scalar_subquery()
    facets: dict[str, dict[str, int]] = {}
    for name, kind in INDEX_FACETS.items():
        count = func.count(HarvestedTerm.id)
        fq = (
            select(HarvestedTerm.value, count)
            .where(HarvestedTerm.kind == kind, HarvestedTerm.record_id.in_(ids))
            .group_by(HarvestedTerm.value)
            .order_by(count.desc(), HarvestedTerm.value)
            .limit(30)
        )
        facets[name] = {v: int(n) for v, n in s.execute(fq)}
    return {"items": items, "total": total, "facets": facets}


def count_visible(s: Session, actor: Actor, sites: list[Site]) -> int:
    if not sites:
        return 0
    q = select(func.count(HarvestedRecord.id)).where(
        HarvestedRecord.site_id.in_([x.id for x in sites]), visibility(actor, sites)
    )
    return int(s.scalar(q) or 0)


def visible_pids(s: Session, actor: Actor, site: Site) -> list[str]:
    q = select(HarvestedRecord.pid).where(HarvestedRecord.site_id == site.id, visibility(actor, [site]))
    return list(s.scalars(q.order_by(HarvestedRecord.pid)))
