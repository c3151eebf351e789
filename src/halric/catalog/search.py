"""Full-text and faceted dataset search. The access rule is part of the one query every result, count
and facet is computed from, so a facet can never count a dataset the caller may not read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from halric.catalog.filters import dataset_order, parse_order
from halric.catalog.models import Dataset, DatasetTerm
from halric.catalog.service import dataset_dict, dataset_select
from halric.core.actor import Actor

TERM_FACETS = {
    "instrument": "instrument",
    "technique": "technique",
    "proposal": "proposal",
    "sample": "sample",
    "keyword": "keyword",
}
COLUMN_FACETS = {"ownerGroup": Dataset.owner_group, "type": Dataset.type, "isPublished": Dataset.is_published}
FACETS = ("instrument", "technique", "proposal", "sample", "ownerGroup", "isPublished", "type", "keyword")
FACET_LIMIT = 30


@dataclass
class SearchQuery:
    text: str | None = None
    instrument: list[str] = field(default_factory=list)
    technique: list[str] = field(default_factory=list)
    proposal: list[str] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)
    keyword: list[str] = field(default_factory=list)
    owner_group: list[str] = field(default_factory=list)
    type: str | None = None
    published: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    sort: str = "creationTime:desc"
    limit: int = 25
    offset: int = 0

    def where(self) -> dict[str, Any]:
        clauses: list[dict[str, Any]] = []
        for name, values in (
            ("instrumentIds", self.instrument),
            ("techniques", self.technique),
            ("proposalIds", self.proposal),
            ("sampleIds", self.sample),
            ("keywords", self.keyword),
        ):
            if values:
                clauses.append({name: {"inq": list(values)}})
        if self.owner_group:
            clauses.append({"ownerGroup": {"inq": list(self.owner_group)}})
        if self.type:
            clauses.append({"type": self.type})
        if self.published is not None:
            clauses.append({"isPublished": self.published})
        if self.created_from:
            clauses.append({"creationTime": {"gte": self.created_from}})
        if self.created_to:
            clauses.append({"creationTime": {"lte": self.created_to}})
        return {"and": clauses} if clauses else {}

    def active(self) -> dict[str, list[str]]:
        """The facet values chosen, by facet name (to mark them in the page)."""
        return {
            "instrument": self.instrument, "technique": self.technique, "proposal": self.proposal,
            "sample": self.sample, "keyword": self.keyword, "ownerGroup": self.owner_group,
            "type": [self.type] if self.type else [],
            "isPublished": [] if self.published is None else [str(self.published).lower()],
        }  # fmt: skip


PAGE = "~page"  # marks the page's rows among the facet rows of the one search statement


def search(
    s: Session, actor: Actor, q: SearchQuery, *, facets: tuple[str, ...] = FACETS, legacy: bool = False
) -> dict[str, Any]:
    narrowed = any((q.instrument, q.technique, q.proposal, q.sample, q.keyword))
    base = dataset_select(actor, q.where(), q.text, narrowed=narrowed)
    order = dataset_order(parse_order(q.sort)) or [Dataset.creation_time.desc()]
    total, counts, page = facet_counts(
        s,
        base,
        [f for f in facets if f in TERM_FACETS or f in COLUMN_FACETS],
        page=([*order, Dataset.pid], q.offset, q.limit),
    )
    found = {d.pid: d for d in s.scalars(select(Dataset).where(Dataset.pid.in_(page)))} if page else {}
    out = {name: [{"value": v, "count": c} for v, c in counts[name]] for name in counts}
    _label(s, out)
    for item in out.get("isPublished", []):
        item["label"] = "published" if item["value"] else "not yet published"
    return {
        "total": total,
        "limit": q.limit,
        "offset": q.offset,
        "items": [dataset_dict(found[pid], legacy=legacy) for pid in page if pid in found],
        "facets": out,
    }


def facet_counts(
    s: Session,
    base: Select[Any],
    facets: list[str],
    *,
    limit: int | None = FACET_LIMIT,
    page: tuple[list[Any], int, int] | None = None,
) -> tuple[int, dict[str, list[tuple[Any, int]]], list[str]]:
    """The number of datasets ``base`` selects, per facet its most frequent values with counts, and the
    pids of one page of them (``page``: order, offset, limit).

    One statement: the matching pids are computed once (a materialised CTE) and the total, every facet
    and the page are read from them, so the access rule and the query are evaluated exactly once.
    """
    hits = base.with_only_columns(Dataset.pid).order_by(None).cte("hits").prefix_with("MATERIALIZED")
    in_hits = select(hits.c.pid)  # "IN (hits)", not a join: SQLite then drives every count from the hits
    branches: list[Any] = [select(literal("", String), literal(None, String), func.count()).select_from(hits)]
    for name in facets:
        n = func.count()
        if name in TERM_FACETS:
            fq = (
                select(literal(name, String), DatasetTerm.value, n)
                .where(DatasetTerm.kind == TERM_FACETS[name], DatasetTerm.dataset_pid.in_(in_hits))
                .group_by(DatasetTerm.value)
                .order_by(n.desc(), DatasetTerm.value)
            )
        else:
            col = COLUMN_FACETS[name]
            fq = (
                select(literal(name, String), cast(col, String), n)
                .where(Dataset.pid.in_(in_hits))
                .group_by(col)
                .order_by(n.desc(), col)
            )
        if limit is not None:
            fq = fq.limit(limit)
        branches.append(select(fq.subquery()))
    if page is not None:
        order, offset, size = page
        pos = func.row_number().over(order_by=order)
        pq = (
            select(literal(PAGE, String), Dataset.pid, pos)
            .where(Dataset.pid.in_(in_hits))
            .order_by(*order)
            .offset(offset)
            .limit(size)
        )
        branches.append(select(pq.subquery()))
    total = 0
    out: dict[str, list[tuple[Any, int]]] = {name: [] for name in facets}
    ranked: list[tuple[int, str]] = []
    for facet, value, count in s.execute(union_all(*branches)):
        if facet == "":
            total = int(count)
        elif facet == PAGE:
            ranked.append((int(count), value))
        elif facet in COLUMN_FACETS and COLUMN_FACETS[facet] is Dataset.is_published:
            out[facet].append((str(value).lower() in ("1", "true"), int(count)))
        else:
            out[facet].append((value, int(count)))
    return total, out, [pid for _, pid in sorted(ranked)]


def _label(s: Session, facets: dict[str, list[dict[str, Any]]]) -> None:
    """Human labels for technique and instrument ids the registry knows."""
    from halric.registry.models import Instrument, Technique

    for name, model in (("technique", Technique), ("instrument", Instrument)):
        items = facets.get(name) or []
        ids = [str(i["value"]) for i in items]
        short = {i: i.rsplit("/", 1)[-1] for i in ids}  # PaNET IRIs -> PaNET ids
        attr = model.label if model is Technique else model.name
        known = dict(
            s.execute(select(model.id, attr).where(model.id.in_(set(short.values()) | set(ids)))).all()
        )
        for item in items:
            v = str(item["value"])
            item["label"] = known.get(v) or known.get(short[v]) or v


def fullfacet(
    s: Session, actor: Actor, where: dict[str, Any], text: str | None, facets: list[str]
) -> list[dict[str, Any]]:
    """SciCat's ``Datasets/fullfacet`` answer: ``[{"all": [{"totalSets": n}], facet: [{"_id", "count"}]}]``."""
    names = {"instrumentIds": "instrument", "instrumentId": "instrument", "techniques": "technique",
             "proposalIds": "proposal", "proposalId": "proposal", "sampleIds": "sample", "sampleId": "sample",
             "keywords": "keyword", "ownerGroup": "ownerGroup", "type": "type", "isPublished": "isPublished"}  # fmt: skip
    base = dataset_select(actor, where, text)
    wanted = {facet: names[facet] for facet in facets if facet in names}
    total, counts, _ = facet_counts(s, base, sorted(set(wanted.values())), limit=None)
    out: dict[str, Any] = {"all": [{"totalSets": total}]}
    for facet, name in wanted.items():
        out[facet] = [{"_id": v, "count": c} for v, c in counts[name]]
    return [out]
