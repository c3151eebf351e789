"""PaNOSC instruments: the catalog's and the registry's instruments, with their public datasets.

The instrument list is small; an instrument ``where`` and the free-text score are applied in Python to it, an
the datasets of a page of instruments come from one dataset query (SQL,
``halric.panosc.datasets.datasets_of_parents``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from halric.catalog import collections as coll
from halric.catalog.filters import Filter
from halric.federation import scoring
from halric.panosc.datasets import dataset_pipeline, datasets_of_parents
from halric.panosc.query import MAX_LIMIT, Include, includes, needs, page_of, py_match
from halric.panosc.relations import Context


def _all_instruments(ctx: Context) -> list[dict[str, Any]]:
    return [{**ctx.instrument(i), "score": 0.0} for i in coll.find_instruments(ctx.s, Filter())]


def _inst_relations(
    ctx: Context,
    inst: dict[str, Any],
    incs: list[Include],
    *,
    filter_parents: bool,
    loaded: dict[int, dict[str, list[dict[str, Any]]]] | None = None,
) -> dict[str, Any] | None:
    """The instrument with its datasets; ``loaded``: the datasets of a page of instruments, loaded together
    (``datasets_of_parents``) for the includes that filter nothing, by include."""
    out = dict(inst)
    for n, inc in enumerate(incs):
        if loaded is not None and n in loaded:
            out[inc.relation] = loaded[n].get(inst["pid"], [])
            continue
        value = dataset_pipeline(
            ctx.s, inc.where, inc.include, None, limit=MAX_LIMIT, skip=0,
            extra_sql={"instrumentIds": inst["pid"]}, ctx=ctx,
        )  # fmt: skip
        if filter_parents and needs(inc) and not value:
            return None
        out[inc.relation] = value
    return out


def find_instruments(s: Session, flt: dict[str, Any], query: str | None = None) -> list[dict[str, Any]]:
    ctx = Context(s)
    limit, skip = page_of(flt)
    incs = includes(flt.get("include"), "instrument")
    words = scoring.words(query or flt.get("query"))
    picked = []
    for inst in _all_instruments(ctx):
        if not py_match(inst, flt.get("where"), "instrument"):
            continue
        if words:
            inst["score"] = scoring.relevance(
                words, {"title": inst["name"], "description": inst.get("facility")}
            )
            if inst["score"] <= 0:
                continue
        picked.append(inst)
    if words:
        picked.sort(key=lambda x: -x["score"])
    if not any(needs(i) for i in incs):  # every instrument stays: the page's datasets loaded together
        page = picked[skip : skip + limit]
        loaded = _load_together(ctx, page, incs)
        return [_inst_relations(ctx, i, incs, filter_parents=False, loaded=loaded) or i for i in page]
    out = []
    for inst in picked:
        if len(out) >= skip + limit:
            break
        full = _inst_relations(ctx, inst, incs, filter_parents=True)
        if full is not None:
            out.append(full)
    return out[skip : skip + limit]


def _load_together(
    ctx: Context, insts: list[dict[str, Any]], incs: list[Include]
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    extras = {i["pid"]: {"instrumentIds": i["pid"]} for i in insts}
    return {n: datasets_of_parents(ctx.s, ctx, inc, extras) for n, inc in enumerate(incs) if not needs(inc)}


def count_instruments(s: Session, where: dict[str, Any] | None) -> dict[str, int]:
    ctx = Context(s)
    return {"count": sum(1 for i in _all_instruments(ctx) if py_match(i, where, "instrument"))}


def get_instrument(s: Session, pid: str, flt: dict[str, Any]) -> dict[str, Any]:
    ctx = Context(s)
    inst = {**ctx.instrument(coll.get_instrument(s, pid)), "score": 0.0}
    incs = includes(flt.get("include"), "instrument")
    return (
        _inst_relations(ctx, inst, incs, filter_parents=False, loaded=_load_together(ctx, [inst], incs))
        or inst
    )
