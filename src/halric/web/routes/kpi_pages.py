"""Consortium KPIs and the programme's indicators: the KPI page with charts, and a page per indicator with
the evidence behind its figure (the projects, organisations and documents that count). Coordinators."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from halric.calls import kpi
from halric.core.actor import Actor
from halric.core.errors import NotFound
from halric.web import charts
from halric.web import indicators as web_indicators
from halric.web.access import require
from halric.web.deps import DB
from halric.web.routing import attach
from halric.web.templating import render

pages = APIRouter(include_in_schema=False)
COORDINATOR = require("coordinator")


@pages.get("/kpi", response_class=HTMLResponse)
def kpi_page(request: Request, actor: Actor = Depends(COORDINATOR), s: Session = DB) -> Response:
    data = kpi.compute(s, actor)
    inds = web_indicators.compute(s, actor)
    t = data["tables"]
    interreg = [i for i in inds.values() if i.group == "interreg"]
    sectors = inds["sectors"]
    by_sector = {k: sum(1 for r in sectors.rows if r[1] == k) for k in ("industry", "hospital", "academia")}
    figs = {
        "progress": charts.progress(data["funded"], data["target"], "Funded pilot projects"),
        "interreg": charts.bars([i.code for i in interreg], {"count": [i.count for i in interreg]},
                                "Interreg indicators", horizontal=True, integer=True),
        "sectors": charts.bars(list(by_sector), {"organisations": list(by_sector.values())},
                               "Organisations by sector", integer=True) if sectors.rows else "",
        "cutoffs": charts.bars([r[0] for r in t["cutoffs"].rows],
                               {"submitted": [r[1] for r in t["cutoffs"].rows], "approved": [r[2] for r in t["cutoffs"].rows]},
                               "Applications per cut-off") if t["cutoffs"].rows else "",
        "pairs": charts.heatmap(t["country_pairs"].header[1:], t["country_pairs"].header[1:],
                                [[x if x != "" else 0 for x in r[1:]] for r in t["country_pairs"].rows], "Country pairs"),
        "infra": charts.bars([r[0] for r in t["infrastructures"].rows], {"projects": [r[1] for r in t["infrastructures"].rows]},
                             "Projects per infrastructure", horizontal=True) if t["infrastructures"].rows else "",
        "budget": charts.bars([r[0] for r in t["budget"].rows], {"committed": [float(r[1]) for r in t["budget"].rows],
                                                                  "spent": [float(r[2]) for r in t["budget"].rows]},
                              "Budget per organisation") if t["budget"].rows else "",
    }  # fmt: skip
    return render(request, "calls/kpi.html", {"data": data, "figs": figs, "indicators": inds})


@pages.get("/kpi/{key}", response_class=HTMLResponse)
def evidence_page(
    request: Request, key: str, actor: Actor = Depends(COORDINATOR), s: Session = DB
) -> Response:
    inds = web_indicators.compute(s, actor)
    if key not in inds:
        raise NotFound(f"No indicator {key!r}; the KPI page lists them.")
    return render(request, "calls/evidence.html", {"ind": inds[key], "indicators": inds})


def register(app: FastAPI) -> None:
    attach(app, pages)
