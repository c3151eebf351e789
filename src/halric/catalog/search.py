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
    order = page[0] if page is not None else [Dataset.pid]
    # the hits carry what the column facets and the page need, so those never go back to the datasets
    hits = (
        base.with_only_columns(
            Dataset.pid,
            *(col.label(f"f_{name}") for name, col in COLUMN_FACETS.items() if name in facets),
            func.row_number().over(order_by=order).label("pos"),
        )
        .order_by(None)
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    branches: list[Any] = [select(literal("", String), literal(None, String), func.count()).select_from(hits)]
    for name in facets:
        if name in COLUMN_FACETS:
            col, n = hits.c[f"f_{name}"], func.count()
            fq = select(literal(name, String), cast(col, String), n).group_by(col).order_by(n.desc(), col)
            branches.append(select((fq.limit(limit) if limit is not None else fq).subquery()))
    kinds = {TERM_FACETS[name]: name for name in facets if name in TERM_FACETS}
    if kinds:
        # every term facet in one pass over the hits' terms ("IN (hits)", not a join: SQLite then starts
        # from the hits), then the top values of each kind
        per_value = (
            select(DatasetTerm.kind, DatasetTerm.value, func.count().label("n"))
            .where(DatasetTerm.kind.in_(sorted(kinds)), DatasetTerm.dataset_pid.in_(select(hits.c.pid)))
            .group_by(DatasetTerm.kind, DatasetTerm.value)
            .subquery()
        )
        rank = func.row_number().over(
            partition_by=per_value.c.kind, order_by=(per_value.c.n.desc(), per_value.c.value)
        )
        ranked_values = select(per_value, rank.label("r")).subquery()
        tq = select(ranked_values.c.kind, ranked_values.c.value, ranked_values.c.n)
        branches.append(tq.where(ranked_values.c.r <= limit) if limit is not None else tq)
    if page is not None:
        _, offset, size = page
        branches.append(
            select(literal(PAGE, String), hits.c.pid, hits.c.pos).where(
                hits.c.pos > offset, hits.c.pos <= offset + size
            )
        )
    total = 0
    out: dict[str, list[tuple[Any, int]]] = {name: [] for name in facets}
    ranked: list[tuple[int, str]] = []
    for facet, value, count in s.execute(union_all(*branches)):
        facet = kinds.get(facet, facet) if facet not in COLUMN_FACETS else facet
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
