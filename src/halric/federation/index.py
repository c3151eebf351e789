"""The local index of harvested records: search, counts and facets, with each site's access groups
mapped to hub groups. The access rule is part of the one query every result, count and facet comes from.

Query words are matched inside the records' search text through the word index (``RECORD_WORDS``: a
trigram GIN index on PostgreSQL, an FTS5 trigram table on SQLite; ``halric.core.fulltext``), the same
matching the catalog uses for its own datasets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, exists, func, literal, or_, select, text, union_all
from sqlalchemy.orm import Session

from halric.core.actor import Actor
from halric.federation import records, scoring
from halric.federation.models import RECORD_WORDS, HarvestedRecord, HarvestedTerm, Site

INDEX_FACETS = {"technique": "technique", "instrument": "instrument", "keyword": "keyword"}
FACET_LIMIT = 30
_TOTAL, _PAGE = "*total", "*page"  # rows of search_site's union that are not facet values


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


def record_select(actor: Actor, site: Site, text: str | None) -> Any:
    """The site's records the actor may see that contain every query word (anywhere in a word)."""
    q = select(HarvestedRecord).where(HarvestedRecord.site_id == site.id, visibility(actor, [site]))
    for w in scoring.words(text):
        # a word of one or two letters has no trigram: tested record by record (for LIKE, PostgreSQL may
        # read the whole trigram index instead: 0.9 s at 200,000 records)
        q = q.where(RECORD_WORDS.contains(w, scan=len(w) < 3))
    return q


def search_site(s: Session, actor: Actor, site: Site, text: str | None, limit: int) -> dict[str, Any]:
    """Items (normalised records with landing urls), total and facets of one harvested site.

    One statement finds the matching records once (a materialised CTE, so the access rule and the word
    index are evaluated once) and reads from them the total, the top values of every facet and the ids of
    the newest ``4 × limit``; those records are then read by id (the access rule applied again) and ranked.
    """
    hits = (
        record_select(actor, site, text)
        .with_only_columns(HarvestedRecord.id, HarvestedRecord.creation_time, HarvestedRecord.pid)
        .order_by(None)
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    # rows of the union: (what, value, count, rank)
    total_q = select(literal(_TOTAL, String), literal(None, String), func.count(), literal(0)).select_from(
        hits
    )
    # every facet in one pass over the hits' terms ("IN (hits)", not a join: SQLite then starts from the hits)
    per_value = (
        select(HarvestedTerm.kind, HarvestedTerm.value, func.count().label("n"))
        .where(
            HarvestedTerm.kind.in_(sorted(INDEX_FACETS.values())),
            HarvestedTerm.record_id.in_(select(hits.c.id)),
        )
        .group_by(HarvestedTerm.kind, HarvestedTerm.value)
        .subquery()
    )
    rank = func.row_number().over(
        partition_by=per_value.c.kind, order_by=(per_value.c.n.desc(), per_value.c.value)
    )
    ranked = select(per_value, rank.label("r")).subquery()
    facet_q = select(ranked.c.kind, ranked.c.value, ranked.c.n, ranked.c.r).where(ranked.c.r <= FACET_LIMIT)
    newest = (
        select(hits.c.id, hits.c.creation_time, hits.c.pid)
        .order_by(hits.c.creation_time.desc(), hits.c.pid)
        .limit(max(limit * 4, limit))
        .subquery()
    )
    pos = func.row_number().over(order_by=(newest.c.creation_time.desc(), newest.c.pid))
    page_q = select(literal(_PAGE, String), cast(newest.c.id, String), literal(0), pos)
    total, page = 0, []
    by_kind: dict[str, list[tuple[int, str, int]]] = {}
    for what, value, n, r in s.execute(union_all(total_q, facet_q, page_q)):
        if what == _TOTAL:
            total = int(n)
        elif what == _PAGE:
            page.append((int(r), int(value)))
        else:
            by_kind.setdefault(what, []).append((int(r), value, int(n)))
    ids = [i for _, i in sorted(page)]
    found: dict[int, HarvestedRecord] = {}
    if ids:
        q = select(HarvestedRecord).where(
            HarvestedRecord.id.in_(ids), HarvestedRecord.site_id == site.id, visibility(actor, [site])
        )
        found = {r.id: r for r in s.scalars(q)}
    items = []
    for i in ids:
        if (row := found.get(i)) is not None:
            item = dict(row.record or {})
            item["url"] = records.landing_url(site.kind, site.url, row.pid, site.landing_template)
            items.append(item)
    qw = scoring.words(text)
    if qw:  # the best of a wider slice, ranked the same way as the live answers
        items.sort(key=lambda i: -scoring.relevance(qw, i))
    facets = {
        name: {v: n for _, v, n in sorted(by_kind.get(kind, []))} for name, kind in INDEX_FACETS.items()
    }
    return {"items": items[:limit], "total": total, "facets": facets}


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


def refresh_statistics(s: Session) -> None:
    """Planner statistics of the harvested tables, after a harvest changed them. Without statistics
    SQLite guesses that "records of this site" is the narrower condition and reads every record of the
    site instead of starting from the word index (and facet terms by kind instead of by hit); PostgreSQL's
    autovacuum would analyse too, but later. Sampled (SQLite: ``analysis_limit``), so it stays cheap."""
    sqlite = s.get_bind().dialect.name == "sqlite"
    if sqlite:
        s.execute(text("PRAGMA analysis_limit = 1000"))
    try:
        for table in (HarvestedRecord.__tablename__, HarvestedTerm.__tablename__):
            s.execute(text(f"ANALYZE {table}"))
    finally:
        if sqlite:
            s.execute(text("PRAGMA analysis_limit = 0"))
