"""Full-text and faceted dataset search. The access rule is part of the one query every result, count
and facet is computed from, so a facet can never count a dataset the caller may not read."""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, and_, cast, func, literal, or_, select, tablesample, text, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ClauseElement, Executable

from halric.catalog import fulltext, rules, searchcache
from halric.catalog.filters import dataset_order, parse_order
from halric.catalog.models import Dataset, DatasetTerm
from halric.catalog.service import dataset_dict, dataset_select
from halric.core.actor import Actor
from halric.core.errors import InvalidInput

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
    after: str | None = None  # keyset cursor (``next`` of the page before): the page after it, no OFFSET

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

    def key(self) -> tuple[Any, ...]:
        """Everything that decides which datasets match, normalised (the search cache's key): the words
        as the search uses them, each "any of" filter as a sorted set, type, published, the date range."""
        lists = (self.instrument, self.technique, self.proposal, self.sample, self.keyword, self.owner_group)
        return (
            tuple(fulltext.key_words(self.text)),
            *(tuple(sorted(set(values))) for values in lists),
            self.type,
            self.published,
            self.created_from,
            self.created_to,
        )

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
    s: Session,
    actor: Actor,
    q: SearchQuery,
    *,
    facets: tuple[str, ...] = FACETS,
    allow_estimate: bool = True,
) -> dict[str, Any]:
    """One page of the datasets the actor may read that match ``q``, the total and the facet counts.

    Broad searches are answered from the search cache (``halric.catalog.searchcache``) while the catalog
    has not changed since they were counted; the page's datasets come from the row cache under the same
    generation (the read rule applied to each again for this actor), the registry's labels are read
    fresh. On PostgreSQL a broad search's total and facet counts are estimated from a sample
    (``estimate``; the answer then says ``"estimated": true``) unless ``allow_estimate`` is False.
    """
    narrowed = any((q.instrument, q.technique, q.proposal, q.sample, q.keyword))
    base = dataset_select(
        actor, q.where(), q.text, narrowed=narrowed, narrowed_in_index=bool(q.instrument or q.technique)
    )
    order = [*(dataset_order(parse_order(q.sort)) or [Dataset.creation_time.desc()]), Dataset.pid]
    names = [f for f in facets if f in TERM_FACETS or f in COLUMN_FACETS]
    cache = searchcache.lookup(s)  # reads the generation before anything is counted
    estimated = estimate(s, cache, actor, q, base, names) if allow_estimate and names else None
    keyset = cursor_condition(q)
    if keyset is not None:
        total, counts = estimated or _counts(s, cache, actor, q, base, names)
        page = list(
            s.scalars(base.where(keyset).with_only_columns(Dataset.pid).order_by(*order).limit(q.limit))
        )
    elif estimated is not None:
        total, counts = estimated
        page = list(
            s.scalars(base.with_only_columns(Dataset.pid).order_by(*order).offset(q.offset).limit(q.limit))
        )
    elif cache is None:
        total, counts, page = facet_counts(s, base, names, page=(order, q.offset, q.limit))
    else:
        total, counts, page = _cached(s, cache, actor, q, base, order, names)
    # the page's rows by pid, and the read rule checked once more on each (in Python: in SQL, a prepared
    # statement's generic plan made this lookup of 25 rows cost 15 ms on PostgreSQL)
    found = {pid: row for pid, row in _rows(s, cache, page).items() if row.readable_by(actor)}
    out = {name: [{"value": v, "count": c} for v, c in counts[name]] for name in counts}
    _label(s, out)
    for item in out.get("isPublished", []):
        item["label"] = "published" if item["value"] else "not yet published"
    items = [found[pid] for pid in page if pid in found]
    return {
        "total": total,
        "estimated": estimated is not None,
        "limit": q.limit,
        "offset": q.offset,
        "items": [copy.deepcopy(r.item) for r in items],  # the cached answer stays as it was
        "facets": out,
        "next": cursor_after(q, page[-1], rows_by_pid={r.pid: r for r in items})
        if len(page) == q.limit
        else None,
    }


@dataclass(frozen=True)
class _Row:
    """A dataset of a page as answered, with what the read rule and the keyset cursor look at."""

    pid: str
    creation_time: datetime
    owner_group: str
    access_groups: tuple[str, ...]
    is_published: bool
    confidential: bool
    item: dict[str, Any]

    def readable_by(self, actor: Actor) -> bool:
        return rules.can_read(
            actor,
            self.owner_group,
            list(self.access_groups),
            self.is_published,
            confidential=self.confidential,
        )


def _rows(s: Session, cache: searchcache.Lookup | None, pids: list[str]) -> dict[str, _Row]:
    """These datasets as answered: from the row cache while the catalog's generation holds (every write
    to a dataset changes it), the others read in one query and kept."""
    kept = searchcache.rows(s) if cache is not None else None
    out: dict[str, _Row] = {}
    if kept is not None and cache is not None:
        for pid in pids:
            if (row := kept.get(cache.generation, ("row", pid))) is not None:
                out[pid] = row
    missing = [pid for pid in pids if pid not in out]
    if missing:
        for d in s.scalars(select(Dataset).where(Dataset.pid.in_(missing))):
            row = _Row(d.pid, d.creation_time, d.owner_group, tuple(d.access_groups or ()), bool(d.is_published),
                       bool(d.confidential), dataset_dict(d))  # fmt: skip
            out[d.pid] = row
            if kept is not None and cache is not None:
                kept.put(cache.generation, ("row", d.pid), row)
    return out


# --- keyset paging ------------------------------------------------------------------------------------


def _keyset_sort(q: SearchQuery) -> bool | None:
    """Descending (True) or ascending (False) when the search is sorted by creationTime alone (the only
    sort keyset paging serves: its column is never empty), else None."""
    order = parse_order(q.sort)
    if len(order) == 1 and order[0][0] == "creationTime":
        return order[0][1]
    return None


def cursor_after(q: SearchQuery, last_pid: str, *, rows_by_pid: dict[str, Any]) -> str | None:
    """The cursor of the page after the one ending with ``last_pid``: its creationTime and pid."""
    ds = rows_by_pid.get(last_pid)
    if ds is None or _keyset_sort(q) is None:
        return None
    raw = f"{ds.creation_time.isoformat()}|{ds.pid}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_condition(q: SearchQuery) -> Any:
    """The keyset condition for ``q.after`` (rows after the cursor in the page order), or None."""
    if not q.after:
        return None
    desc = _keyset_sort(q)
    if desc is None:
        raise InvalidInput("after: paging by cursor works with sort creationTime:desc or :asc", field="after")
    try:
        text_ = base64.urlsafe_b64decode(q.after + "=" * (-len(q.after) % 4)).decode()
        when, pid = text_.split("|", 1)
        at = datetime.fromisoformat(when)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("after: not a cursor from a search answer's next", field="after") from None
    col = Dataset.creation_time
    # the first condition is a range on the creation-time index (an OR alone would hide it from the planner)
    if desc:
        return and_(col <= at, or_(col < at, Dataset.pid > pid))
    return and_(col >= at, or_(col > at, Dataset.pid > pid))


def _counts(
    s: Session,
    cache: searchcache.Lookup | None,
    actor: Actor,
    q: SearchQuery,
    base: Select[Any],
    names: list[str],
) -> tuple[int, dict[str, list[tuple[Any, int]]]]:
    """The exact total and facet counts (from the search cache when it has them)."""
    key = _counted_key(actor, q, names)
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        return hit[0], _thawed(hit[1])
    total, counts, _ = facet_counts(s, base, names)
    if cache is not None:
        cache.put(key, (total, _frozen(counts)), matches=total)
    return total, counts


# --- estimates for broad searches (PostgreSQL) ------------------------------------------------------------

# the planner expects at least this many matches: count a sample instead of every match. The planner's
# estimate for a word is read off a 100-value histogram of search texts and is far off either way
# ("protein", 12,466 visible matches at 1,000,000 datasets, was estimated at 11,671–70,012 over ten
# ANALYZEs, so at 20,000 it was counted exactly after one ANALYZE in ten: 434 ms), so the threshold sits well
# below the ~10,000 matches that counting exactly makes slower than 300 ms; a sample that finds the search
# small still counts it exactly (MIN_FIRST_HITS).
BROAD = 5_000
SAMPLE_ROWS = 5_000  # rows the sample aims at (a share of the table's blocks, TABLESAMPLE SYSTEM)
MIN_SAMPLE_HITS = 300  # fewer matches in the sample than this: a larger sample, or count exactly after all
MIN_FIRST_HITS = 20  # fewer matches than this in the first sample: the planner was wrong, count exactly
MAX_SAMPLE_PERCENT = 5.0  # the larger sample reads at most this share of the table's blocks


class _Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON)`` of a statement (PostgreSQL), with its parameters bound as usual."""

    inherit_cache = False

    def __init__(self, stmt: Any) -> None:
        self.stmt = stmt


@compiles(_Explain)
def _explain(element: _Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.stmt, **kw)


def about(n: float) -> int:
    """An estimate to two significant figures (``123,456`` → ``120,000``), never below 1."""
    n = max(1, round(n))
    digits = len(str(n)) - 2
    return int(round(n, -digits)) if digits > 0 else n


def estimate(
    s: Session,
    cache: searchcache.Lookup | None,
    actor: Actor,
    q: SearchQuery,
    base: Select[Any],
    names: list[str],
) -> tuple[int, dict[str, list[tuple[Any, int]]]] | None:
    """The total and facet counts of a broad search estimated from a sample of the datasets table, or
    None when the search is not broad (it is then counted exactly). PostgreSQL only.

    Broad: the planner expects at least ``BROAD`` matches. The sample is ``TABLESAMPLE SYSTEM`` with a
    fixed seed (the same blocks every time while the table does not change) sized for ``SAMPLE_ROWS``
    rows; the matches in it are counted per facet with the same statement as an exact count, under the same
    access rule, and scaled by table rows / sampled rows. With fewer than ``MIN_SAMPLE_HITS`` matches in the
    sample, one larger sample sized for them is counted (at most ``MAX_SAMPLE_PERCENT`` of the blocks); when
    that would be larger, or the first sample found fewer than ``MIN_FIRST_HITS``, the search is counted
    exactly after all. Counts are rounded to two significant figures and the
    answer says ``estimated``, so no estimate is shown as an exact number. Cached like exact counts.
    """
    if s.get_bind().dialect.name != "postgresql":
        return None
    if cache is not None:
        if cache.holds(_counted_key(actor, q, names)):
            return None  # counted exactly already (a search that is not broad)
        hit = cache.get(("estimate", *_counted_key(actor, q, names)))  # (binds the cache to the generation)
        if hit is not None:
            return hit[0], _thawed(hit[1])
    answer = _sampled(s, base, names)
    if cache is not None and answer is not None:
        cache.put(
            ("estimate", *_counted_key(actor, q, names)), (answer[0], _frozen(answer[1])), matches=answer[0]
        )
    return answer


def _sampled(
    s: Session, base: Select[Any], names: list[str]
) -> tuple[int, dict[str, list[tuple[Any, int]]]] | None:
    from sqlalchemy.sql.util import ClauseAdapter

    plan = s.execute(_Explain(base.with_only_columns(Dataset.pid).order_by(None))).scalar()
    if float(plan[0]["Plan"]["Plan Rows"]) < BROAD:
        return None
    rows = float(
        s.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'catalog_datasets'::regclass")) or 0
    )
    if rows < BROAD:
        return None
    percent = min(100.0, 100.0 * SAMPLE_ROWS / rows)
    for larger in (False, True):
        sample = tablesample(
            Dataset.__table__, func.system(percent), name=Dataset.__tablename__, seed=literal(1)
        )
        adapter = ClauseAdapter(sample)
        sampled_rows = s.scalar(select(func.count()).select_from(sample)) or 0
        total, counts, _ = facet_counts(s, base, names, adapt=adapter.traverse)
        if sampled_rows and total >= (MIN_SAMPLE_HITS // 2 if larger else MIN_SAMPLE_HITS):
            break  # (the larger sample was sized for MIN_SAMPLE_HITS: half of them is within its chance)
        # Too few matches to scale: the planner expected more than there are (a common word's trigrams).
        # One larger sample, sized from the matches this one found, still costs a fraction of counting
        # every match (at a million datasets: a word in 12,000 of them, 1.7 s exactly); none found at all
        # or too large a sample needed: count exactly.
        wanted = percent * MIN_SAMPLE_HITS / max(total, 1)
        if larger or total < MIN_FIRST_HITS or wanted > MAX_SAMPLE_PERCENT or percent >= 100.0:
            return None
        percent = wanted
    scale = rows / sampled_rows
    return (
        about(total * scale),
        {name: [(v, about(c * scale)) for v, c in values] for name, values in counts.items()},
    )


WINDOW = 250  # the pids of the matches are cached in windows of this many positions
MAX_WINDOWS = 5  # pages of up to 1,000 datasets are served from cached windows (an export is not)


def _cached(
    s: Session,
    cache: searchcache.Lookup,
    actor: Actor,
    q: SearchQuery,
    base: Select[Any],
    order: list[Any],
    names: list[str],
) -> tuple[int, dict[str, list[tuple[Any, int]]], list[str]]:
    """``facet_counts`` for ``search`` through the search cache.

    Cached under (read scope, query): the total with the facet counts, and the pids of the matches in the
    chosen order, in windows of ``WINDOW`` positions (the first window holds the first ten pages of 25, so
    paging through a broad search counts nothing again). What is missing is computed by the one search
    statement: with the facets when they are missing, else counting nothing but the total; it returns the
    whole windows the page lies in.
    """
    scope, query = rules.read_scope(actor), q.key()
    counted_key = _counted_key(actor, q, names)
    first, last = q.offset // WINDOW, (q.offset + max(q.limit, 1) - 1) // WINDOW
    window_keys = [("pids", scope, query, tuple(parse_order(q.sort)), w) for w in range(first, last + 1)]
    if len(window_keys) > MAX_WINDOWS:
        window_keys = []  # the exact page, not kept
    counted = cache.get(counted_key)
    windows = [cache.get(key) for key in window_keys] if counted is not None else []
    if counted is not None and window_keys and all(w is not None for w in windows):
        start, pids = first * WINDOW, [pid for w in windows for pid in w]
    else:
        start, size = (first * WINDOW, len(window_keys) * WINDOW) if window_keys else (q.offset, q.limit)
        total, fresh, pids = facet_counts(
            s, base, names if counted is None else [], page=(order, start, size)
        )
        if counted is None:
            counted = (total, _frozen(fresh))
            cache.put(counted_key, counted, matches=total)
        for i, key in enumerate(window_keys):
            cache.put(key, tuple(pids[i * WINDOW : (i + 1) * WINDOW]), matches=counted[0])
    return counted[0], _thawed(counted[1]), pids[q.offset - start : q.offset - start + q.limit]


def _counted_key(actor: Actor, q: SearchQuery, names: list[str]) -> tuple[Any, ...]:
    return ("search", rules.read_scope(actor), q.key(), tuple(names), FACET_LIMIT)


def _frozen(counts: dict[str, list[tuple[Any, int]]]) -> tuple[tuple[str, tuple[tuple[Any, int], ...]], ...]:
    return tuple((name, tuple(values)) for name, values in counts.items())


def _thawed(counts: tuple[tuple[str, tuple[tuple[Any, int], ...]], ...]) -> dict[str, list[tuple[Any, int]]]:
    return {name: list(values) for name, values in counts}


def facet_counts(
    s: Session,
    base: Select[Any],
    facets: list[str],
    *,
    limit: int | None = FACET_LIMIT,
    page: tuple[list[Any], int, int] | None = None,
    adapt: Any = None,
) -> tuple[int, dict[str, list[tuple[Any, int]]], list[str]]:
    """The number of datasets ``base`` selects, per facet its most frequent values with counts, and the
    pids of one page of them (``page``: order, offset, limit). ``adapt`` rewrites the statement that
    selects the matches (``estimate`` reads them from a sample of the table).

    One statement: the matching pids are computed once (a materialised CTE) and the total, every facet
    and the page are read from them, so the access rule and the query are evaluated exactly once.
    """
    order = page[0] if page is not None else [Dataset.pid]
    # the hits carry what the column facets and the page need, so those never go back to the datasets
    hits_select = base.with_only_columns(
        Dataset.pid,
        *(col.label(f"f_{name}") for name, col in COLUMN_FACETS.items() if name in facets),
        func.row_number().over(order_by=order).label("pos"),
    ).order_by(None)
    if adapt is not None:
        hits_select = adapt(hits_select)
    hits = hits_select.cte("hits").prefix_with("MATERIALIZED")
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
        if not ids:
            continue
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
    counted = sorted(set(wanted.values()))
    cache = searchcache.lookup(s)  # the same cache as search (generation first)
    key = (
        "fullfacet",
        rules.read_scope(actor),
        _canonical(where),
        tuple(fulltext.key_words(text)),
        tuple(counted),
    )
    try:
        hash(key)
    except TypeError:  # a value no JSON query holds: answer uncached
        cache = None
    hit = cache.get(key) if cache is not None else None
    if hit is not None:
        total, counts = hit[0], _thawed(hit[1])
    else:
        total, counts, _ = facet_counts(s, base, counted, limit=None)
        if cache is not None:
            cache.put(key, (total, _frozen(counts)), matches=total)
    out: dict[str, Any] = {"all": [{"totalSets": total}]}
    for facet, name in wanted.items():
        out[facet] = [{"_id": v, "count": c} for v, c in counts[name]]
    return [out]


def _canonical(value: Any) -> Any:
    """A SciCat ``where`` as a cache key: hashable, keys sorted, every value with its type (``1``,
    ``True`` and ``"1"`` stay apart)."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted(((k, _canonical(v)) for k, v in value.items()), key=repr)))
    if isinstance(value, list | tuple):
        return ("list", tuple(_canonical(v) for v in value))
    return (type(value).__name__, value)
