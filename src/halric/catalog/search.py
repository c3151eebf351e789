"""Full-text and faceted dataset search. The access rule is part of the one query every result, count
and facet is computed from, so a facet can never count a dataset the caller may not read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
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


def search(
    s: Session, actor: Actor, q: SearchQuery, *, facets: tuple[str, ...] = FACETS, legacy: bool = False
) -> dict[str, Any]:
    base = dataset_select(actor, q.where(), q.text)
    pids = base.with_only_columns(Dataset.pid).order_by(None).scalar_subquery()
    total = int(s.scalar(base.with_only_columns(func.count(Dataset.pid)).order_by(None)) or 0)
    order = dataset_order(parse_order(q.sort)) or [Dataset.creation_time.desc()]
    rows = s.scalars(base.order_by(*order, Dataset.pid).offset(q.offset).limit(q.limit)).all()
    out: dict[str, list[dict[str, Any]]] = {}
    for name in facets:
        if name in TERM_FACETS:
            count = func.count(DatasetTerm.id)
            fq = (
                select(DatasetTerm.value, count)
                .where(DatasetTerm.kind == TERM_FACETS[name], DatasetTerm.dataset_pid.in_(pids))
                .group_by(DatasetTerm.value)
                .order_by(count.desc(), DatasetTerm.value)
                .limit(FACET_LIMIT)
            )
        elif name in COLUMN_FACETS:
            col = COLUMN_FACETS[name]
            count = func.count(Dataset.pid)
            fq = (
                select(col, count)
                .where(Dataset.pid.in_(pids))
                .group_by(col)
                .order_by(count.desc(), col)
                .limit(FACET_LIMIT)
            )
        else:
            continue
        out[name] = [{"value": v, "count": int(c)} for v, c in s.execute(fq)]
    _label(s, out)
    for item in out.get("isPublished", []):
        item["label"] = "published" if item["value"] else "not yet published"
    return {
        "total": total,
        "limit": q.limit,
        "offset": q.offset,
        "items": [dataset_dict(d, legacy=legacy) for d in rows],
        "facets": out,
    }


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
    pids = base.with_only_columns(Dataset.pid).order_by(None).scalar_subquery()
    total = int(s.scalar(base.with_only_columns(func.count(Dataset.pid)).order_by(None)) or 0)
    out: dict[str, Any] = {"all": [{"totalSets": total}]}
    for facet in facets:
        name = names.get(facet)
        if name is None:
            continue
        if name in TERM_FACETS:
            count = func.count(DatasetTerm.id)
            fq = (
                select(DatasetTerm.value, count)
                .where(DatasetTerm.kind == TERM_FACETS[name], DatasetTerm.dataset_pid.in_(pids))
                .group_by(DatasetTerm.value)
            )
        else:
            col = COLUMN_FACETS[name]
            count = func.count(Dataset.pid)
            fq = select(col, count).where(Dataset.pid.in_(pids)).group_by(col)
        out[facet] = [{"_id": v, "count": int(c)} for v, c in s.execute(fq.order_by(count.desc()))]
    return [out]
