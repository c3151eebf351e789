"""PaNOSC documents: the hub's published data (``type`` publication) and published proposals (``type``
proposal), with their datasets and members.

Both lists are small and their PaNOSC fields are built from two collections of different shapes, so a
document ``where`` and the free-text score are applied in Python to at most ``CANDIDATES`` proposals and the
published data; the datasets of a page of documents come from one dataset query (SQL,
``halric.panosc.datasets.datasets_of_parents``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from halric.catalog import collections as coll
from halric.catalog.filters import Filter
from halric.core.errors import NotFound
from halric.federation import scoring
from halric.panosc.query import MAX_LIMIT, Include, includes, needs, page_of, py_match
from halric.panosc.relations import PUBLIC, Context, members, proposal_doc, publication_doc

CANDIDATES = 5000  # proposals read at most per query


def _all_documents(ctx: Context) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(document, source record) for published data and published proposals."""
    out = [(publication_doc(p), p) for p in ctx.publications()]
    props = coll.find_proposals(ctx.s, PUBLIC, Filter(limit=CANDIDATES))
    out += [(proposal_doc(p), {**p, "type": "proposal"}) for p in props]
    return out


def _doc_key(doc: dict[str, Any]) -> str:
    return f"{doc['type']}:{doc['pid']}"


def _doc_condition(doc: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """The catalog condition on the document's datasets."""
    if doc["type"] == "publication":
        return {"pid": {"inq": [str(p) for p in source.get("pidArray") or []]}}
    return {"proposalIds": doc["pid"]}


def _doc_datasets(
    ctx: Context, doc: dict[str, Any], source: dict[str, Any], inc: Include
) -> list[dict[str, Any]]:
    from halric.panosc.datasets import dataset_pipeline

    return dataset_pipeline(
        ctx.s, inc.where, inc.include, None, limit=MAX_LIMIT, skip=0, extra_sql=_doc_condition(doc, source),
        ctx=ctx,
    )  # fmt: skip


def _load_together(
    ctx: Context, docs: list[tuple[dict[str, Any], dict[str, Any]]], incs: list[Include]
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """The datasets of a page of documents for each include that filters nothing, loaded together."""
    from halric.panosc.datasets import datasets_of_parents

    extras = {_doc_key(doc): _doc_condition(doc, source) for doc, source in docs}
    return {
        n: datasets_of_parents(ctx.s, ctx, inc, extras)
        for n, inc in enumerate(incs)
        if inc.relation == "datasets" and not needs(inc)
    }


def doc_relations(
    ctx: Context,
    doc: dict[str, Any],
    incs: list[Include],
    *,
    filter_parents: bool,
    source: dict[str, Any] | None = None,
    loaded: dict[int, dict[str, list[dict[str, Any]]]] | None = None,
) -> dict[str, Any] | None:
    """The document with its included relations; None when ``filter_parents`` and a scoped include found
    no matching record. ``loaded``: datasets of a page of documents loaded together, by include."""
    out = dict(doc)
    for n, inc in enumerate(incs):
        if inc.relation == "datasets":
            if source is None:
                continue
            if loaded is not None and n in loaded:
                value: Any = loaded[n].get(_doc_key(doc), [])
            else:
                value = _doc_datasets(ctx, doc, source, inc)
        elif inc.relation == "members":
            value = [m for m in members(source or {}) if py_match(m, inc.where, "members")]
        else:  # parameters: none are kept for documents
            value = []
        if filter_parents and needs(inc) and not value:
            return None
        out[inc.relation] = value
    return out


def find_documents(s: Session, flt: dict[str, Any], query: str | None = None) -> list[dict[str, Any]]:
    ctx = Context(s)
    limit, skip = page_of(flt)
    incs = includes(flt.get("include"), "document")
    words = scoring.words(query or flt.get("query"))
    picked = []
    for doc, source in _all_documents(ctx):
        if not py_match(doc, flt.get("where"), "document"):
            continue
        if words:
            doc["score"] = scoring.relevance(
                words,
                {
                    "title": doc.get("title"),
                    "description": doc.get("summary"),
                    "keywords": doc.get("keywords"),
                },
            )
            if doc["score"] <= 0:
                continue
        picked.append((doc, source))
    if words:
        picked.sort(key=lambda x: -x[0]["score"])
    if not any(needs(i) for i in incs):  # every document stays: the page's datasets loaded together
        page = picked[skip : skip + limit]
        loaded = _load_together(ctx, page, incs)
        return [
            doc_relations(ctx, doc, incs, filter_parents=False, source=source, loaded=loaded) or doc
            for doc, source in page
        ]
    out = []
    for doc, source in picked:
        if len(out) >= skip + limit:
            break
        full = doc_relations(ctx, doc, incs, filter_parents=True, source=source)
        if full is not None:
            out.append(full)
    return out[skip : skip + limit]


def count_documents(s: Session, where: dict[str, Any] | None) -> dict[str, int]:
    ctx = Context(s)
    return {"count": sum(1 for doc, _ in _all_documents(ctx) if py_match(doc, where, "document"))}


def get_document(s: Session, pid: str, flt: dict[str, Any]) -> dict[str, Any]:
    ctx = Context(s)
    for doc, source in _all_documents(ctx):
        if doc["pid"] == pid:
            incs = includes(flt.get("include"), "document")
            loaded = _load_together(ctx, [(doc, source)], incs)
            return doc_relations(ctx, doc, incs, filter_parents=False, source=source, loaded=loaded) or doc
    raise NotFound(f"No public document with pid {pid!r}.")
