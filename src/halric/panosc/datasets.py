"""PaNOSC datasets: the public catalog datasets matching a PaNOSC filter and free-text query, ranked by the
database (``halric.panosc.ranking``), a page at a time, with the page's relations loaded together.

One statement finds and orders the page: the filter's ``where`` as a catalog ``where`` (SQL by
``catalog.filters.dataset_condition``), the access rule (public data only), a parameter scope's SQL
condition, any query word in the search index, ``score > 0``, ORDER BY score, creation time, pid, and
LIMIT/OFFSET. What SQL cannot answer on both databases is checked in Python on one page of ranked rows at a
time: an ``include`` with a ``scope.where`` keeps only datasets with a matching related record (parameters
compared after pint converts their units; documents, files, samples, instrument and techniques by the
catalog's matcher). Then further pages are read only while the page is not full.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, literal, or_, select
from sqlalchemy.orm import Session

from halric.catalog import fulltext
from halric.catalog import service as catalog
from halric.catalog.models import Dataset
from halric.catalog.query import dialect_of
from halric.federation import scoring
from halric.panosc import parameters, ranking
from halric.panosc.query import MAX_LIMIT, Include, includes, needs, page_of, py_match, sql_where
from halric.panosc.relations import PUBLIC, Context, Page, dataset_core

BATCH = 25  # ranked rows read at least at a time when include scopes are checked (then doubled, ≤ 1000)


def _apply_scope(ctx: Context, page: Page, d: dict[str, Any], inc: Include) -> Any:
    from halric.panosc.documents import doc_relations

    if inc.relation in ("documents", "document"):
        docs = []
        for doc, source in page.documents(d):
            if not py_match(doc, inc.where, "document"):
                continue
            full = doc_relations(ctx, doc, inc.include, filter_parents=True, source=source)
            if full is not None:
                docs.append(full)
        return docs
    items = page.relation(d, inc.relation)
    single = inc.relation == "instrument"
    seq = ([items] if items else []) if single else items
    if inc.relation == "parameters":
        named = (parameters.scope_parts(inc.where) or {}).get("name") if inc.where else None
        if isinstance(named, str):  # only the named parameter can meet the scope: test no other
            seq = [p for p in seq if p["name"] == named]
        seq = parameters.matching_parameters(seq, inc.where)
    elif inc.where:
        seq = [x for x in seq if py_match(x, inc.where, inc.relation)]
    if single:
        return seq[0] if seq else {}
    return seq


def with_relations(
    ctx: Context, page: Page, d: dict[str, Any], incs: list[Include], *, filter_parents: bool
) -> dict[str, Any] | None:
    """The dataset PaNOSC-shaped with its included relations; None when ``filter_parents`` and a scoped
    include found no matching record."""
    out = dataset_core(d)
    for inc in incs:
        value = _apply_scope(ctx, page, d, inc)
        if filter_parents and needs(inc) and not value:
            return None
        out[inc.relation] = value
    return out


def _catalog_where(where: dict[str, Any] | None, incs: list[Include], extra: dict[str, Any] | None) -> dict:
    sql = sql_where(where)
    for inc in incs:
        if inc.relation == "parameters":
            for name in parameters.parameter_names(inc.where):
                has = {f"scientificMetadata.{name}": {"neq": None}}
                sql = {"and": [sql, has]} if sql else has
    if extra:
        sql = {"and": [sql, extra]} if sql else extra
    return sql


def ranked(s: Session, where: dict[str, Any], incs: list[Include], words: list[str]) -> Any:
    """SELECT (pid, score) of the public datasets matching the catalog ``where``, the parameter scopes' SQL
    condition and (with words) any word with a score above 0, best first, then newest, then by pid."""
    prefilters = [
        parameters.parameter_prefilter(i.where) for i in incs if i.relation == "parameters" and i.where
    ]
    kept = [p for p in prefilters if p is not None]
    base = catalog.dataset_select(PUBLIC, where, extra=and_(*kept) if kept else None)
    if not words:
        return base.with_only_columns(Dataset.pid, literal(0.0).label("score")).order_by(
            Dataset.creation_time.desc(), Dataset.pid
        )
    dialect = dialect_of(s)
    weights = ranking.idf(s, where, words)
    # scored once per row: a CTE the planner may not fold into the outer query (which filters and sorts by
    # the score; folded, PostgreSQL would compute it twice)
    inner = (
        base.where(or_(*(fulltext.contains_word(w) for w in words)))
        .with_only_columns(
            Dataset.pid, Dataset.creation_time, ranking.score(dialect, words, weights).label("score")
        )
        .cte("scored")
        .prefix_with("MATERIALIZED", dialect="postgresql")  # SQLite: 3.35 or newer only
    )
    return (
        select(inner.c.pid, inner.c.score)
        .where(inner.c.score > 0)
        .order_by(inner.c.score.desc(), inner.c.creation_time.desc(), inner.c.pid)
    )


def dataset_pipeline(
    s: Session,
    where: dict[str, Any] | None,
    incs: list[Include],
    query: str | None,
    *,
    limit: int,
    skip: int,
    extra_sql: dict[str, Any] | None = None,
    ctx: Context | None = None,
) -> list[dict[str, Any]]:
    """A page (``skip``, ``limit``) of PaNOSC datasets, ranked by the query's words when there are any."""
    ctx = ctx or Context(s)
    words = scoring.words(query)
    q = ranked(s, _catalog_where(where, incs, extra_sql), incs, words)
    checked = any(needs(i) for i in incs)
    if not checked:
        rows = s.execute(q.offset(skip).limit(limit)).all()
        return _shaped(ctx, rows, incs, filter_parents=False)
    # the ranked rows read from one statement a batch at a time (a server-side cursor on PostgreSQL), each
    # batch checked with its relations loaded together, until the page is full
    out: list[dict[str, Any]] = []
    batch = max(BATCH, skip + limit)
    result = s.execute(q, execution_options={"yield_per": MAX_LIMIT})
    try:
        while len(out) < skip + limit:
            rows = result.fetchmany(batch)
            out += _shaped(ctx, rows, incs, filter_parents=True)
            if len(rows) < batch:
                break
            batch = min(2 * batch, MAX_LIMIT)
    finally:
        result.close()
    return out[skip : skip + limit]


def _shaped(
    ctx: Context, rows: list[Any], incs: list[Include], *, filter_parents: bool
) -> list[dict[str, Any]]:
    scores = {pid: float(score or 0.0) for pid, score in rows}
    page = Page(ctx, list(scores), {i.relation for i in incs})
    out = []
    for d in page.datasets:
        rec = with_relations(ctx, page, d, incs, filter_parents=filter_parents)
        if rec is not None:
            rec["score"] = scores[d["pid"]]
            out.append(rec)
    return out


def find_datasets(s: Session, flt: dict[str, Any], query: str | None = None) -> list[dict[str, Any]]:
    limit, skip = page_of(flt)
    incs = includes(flt.get("include"), "dataset")
    return dataset_pipeline(s, flt.get("where"), incs, query or flt.get("query"), limit=limit, skip=skip)


def count_datasets(s: Session, where: dict[str, Any] | None) -> dict[str, int]:
    return {"count": catalog.count_datasets(s, PUBLIC, sql_where(where))}


def get_dataset(s: Session, pid: str, flt: dict[str, Any]) -> dict[str, Any]:
    catalog.get_dataset(s, PUBLIC, pid)  # NotFound unless public
    incs = includes(flt.get("include"), "dataset")
    ctx = Context(s)
    page = Page(ctx, [pid], {i.relation for i in incs})
    return with_relations(ctx, page, page.datasets[0], incs, filter_parents=False) or dataset_core(
        page.datasets[0]
    )


def _files(s: Session, pid: str) -> list[dict[str, Any]]:
    catalog.get_dataset(s, PUBLIC, pid)  # NotFound unless public
    page = Page(Context(s), [pid], {"files"})
    return page.relation(page.datasets[0], "files")


def dataset_files(s: Session, pid: str, flt: dict[str, Any]) -> list[dict[str, Any]]:
    """One dataset's files matching a ``where`` (its file list, matched in Python: one dataset's list)."""
    files = [f for f in _files(s, pid) if py_match(f, flt.get("where"), "files")]
    limit, skip = page_of(flt)
    return files[skip : skip + limit]


def count_files(s: Session, pid: str, where: dict[str, Any] | None) -> dict[str, int]:
    return {"count": sum(1 for f in _files(s, pid) if py_match(f, where, "files"))}


def datasets_of_parents(
    s: Session, ctx: Context, inc: Include, extras: dict[str, dict[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """For each parent (a document or an instrument: its key and catalog condition), its newest public
    datasets (up to ``MAX_LIMIT``) with ``inc``'s nested relations — one statement for all parents (100 at
    a time) and the relations of all their datasets loaded together. Only for an include that filters
    nothing (``needs(inc)`` false): a scoped one goes through ``dataset_pipeline`` per parent."""
    from sqlalchemy import func, union_all

    assert not needs(inc)
    found: dict[str, list[str]] = {key: [] for key in extras}
    keys = list(extras)
    for start in range(0, len(keys), 100):
        parts = []
        for key in keys[start : start + 100]:
            order = (Dataset.creation_time.desc(), Dataset.pid)
            sub = (
                catalog.dataset_select(PUBLIC, _catalog_where(inc.where, inc.include, extras[key]))
                .with_only_columns(Dataset.pid, func.row_number().over(order_by=order).label("n"))
                .order_by(*order)
                .limit(MAX_LIMIT)
                .subquery()
            )
            parts.append(select(literal(key).label("parent"), sub.c.pid, sub.c.n))
        both = union_all(*parts).subquery()
        for parent, pid, _n in s.execute(select(both).order_by(both.c.parent, both.c.n)):
            found[parent].append(pid)
    page = Page(ctx, sorted({p for pids in found.values() for p in pids}), {i.relation for i in inc.include})
    shaped = {
        d["pid"]: with_relations(ctx, page, d, inc.include, filter_parents=False) for d in page.datasets
    }
    return {key: [shaped[p] for p in pids if shaped.get(p)] for key, pids in found.items()}
