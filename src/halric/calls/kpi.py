"""Consortium KPIs as plain tables (title, header, rows) — the same data feeds charts, CSV and XLSX."""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.calls import workflow
from halric.calls.indicators import Indicator, add_sheets
from halric.calls.models import Application, Project
from halric.core.actor import Actor
from halric.core.errors import NotFound, PermissionDenied
from halric.registry import service as registry

TARGET_PROJECTS = 75


@dataclass
class Table:
    key: str
    title: str
    header: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _funded(apps: list[Application]) -> list[Application]:
    return [a for a in apps if a.state in workflow.FUNDED]


def compute(s: Session, actor: Actor) -> dict[str, Any]:
    if not actor.has_role("coordinator"):
        raise PermissionDenied("The KPI dashboard is for coordinators.")
    apps = list(s.scalars(select(Application).where(Application.state != "draft")))
    funded = _funded(apps)
    tables: dict[str, Table] = {}

    per_cutoff: dict[str, Counter[str]] = defaultdict(Counter)
    for a in apps:
        key = a.cutoff.isoformat() if a.cutoff else "—"
        per_cutoff[key]["submitted"] += 1
        if a.state in workflow.FUNDED:
            per_cutoff[key]["approved"] += 1
        if a.state == "rejected":
            per_cutoff[key]["rejected"] += 1
    tables["cutoffs"] = Table("cutoffs", "Applications and approvals per cut-off",
                              ["cut-off", "submitted", "approved", "rejected"],
                              [[k, v["submitted"], v["approved"], v["rejected"]] for k, v in sorted(per_cutoff.items())])  # fmt: skip

    days = [
        (a.decided_at - a.submitted_at).total_seconds() / 86400
        for a in apps
        if a.decided_at and a.submitted_at
    ]
    tables["decision_time"] = Table("decision_time", "Time from submission to decision (days)",
                                    ["decisions", "median", "mean", "longest"],
                                    [[len(days), round(statistics.median(days), 1) if days else None,
                                      round(statistics.fmean(days), 1) if days else None,
                                      round(max(days), 1) if days else None]])  # fmt: skip

    countries = ["SE", "DK", "DE", "NO"]
    pairs: Counter[tuple[str, str]] = Counter()
    for a in funded:
        cs = sorted({m.country for m in a.team if m.country in countries})
        for x, y in combinations(cs, 2):
            pairs[(x, y)] += 1
    tables["country_pairs"] = Table("country_pairs", "Collaborations between countries (funded projects)",
                                    ["", *countries],
                                    [[r, *[pairs[tuple(sorted((r, c)))] if r != c else "" for c in countries]]
                                     for r in countries])  # fmt: skip

    n = len(funded) or 1
    ind = sum(1 for a in funded if any(m.sector == "industry" for m in a.team))
    hos = sum(1 for a in funded if any(m.sector == "hospital" for m in a.team))
    tables["partners"] = Table("partners", "Share of funded projects with industry and hospital partners",
                               ["partner", "projects", "share %"],
                               [["industry", ind, round(100 * ind / n, 1)], ["hospital", hos, round(100 * hos / n, 1)]])  # fmt: skip

    use: Counter[str] = Counter()
    names: dict[str, str] = {}
    for a in funded:
        seen = set()
        for iid in a.instruments:
            try:
                inst = registry.get_instrument(s, iid)
            except NotFound:
                continue
            if inst.infrastructure_id not in seen:
                seen.add(inst.infrastructure_id)
                use[inst.infrastructure_id] += 1
                names[inst.infrastructure_id] = inst.infrastructure.name
    tables["infrastructures"] = Table("infrastructures", "Use of each infrastructure (funded projects)",
                                      ["infrastructure", "projects"],
                                      [[names[k], v] for k, v in use.most_common()])  # fmt: skip

    committed: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    spent: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for a in funded:
        for b in a.budget:
            committed[b.organisation_id] += b.amount
        p = s.scalar(select(Project).where(Project.application_id == a.id))
        for c in p.cost_claims if p else []:
            spent[c["organisation_id"]] += Decimal(str(c["amount"]))
    orgs = sorted(set(committed) | set(spent))
    tables["budget"] = Table("budget", "Budget committed and spent per organisation",
                             ["organisation", "committed", "spent", "remaining"],
                             [[o, committed[o], spent[o], committed[o] - spent[o]] for o in orgs])  # fmt: skip

    states = Counter(a.state for a in apps)
    tables["states"] = Table("states", "Applications by state", ["state", "applications"],
                             [[workflow.LABELS[k], states[k]] for k in workflow.STATES if states[k]])  # fmt: skip
    return {"target": TARGET_PROJECTS, "funded": len(funded), "submitted": len(apps), "tables": tables}


def to_csv(table: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(table.header)
    for r in table.rows:
        w.writerow(["" if x is None else str(x) for x in r])
    return buf.getvalue()


def to_xlsx(tables: list[Table], indicators: Iterable[Indicator] = ()) -> bytes:
    """The KPI tables, and (first) the programme's indicators with a sheet of evidence each."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    add_sheets(wb, indicators)
    for t in tables:
        ws = wb.create_sheet(t.key[:31])
        ws.append([t.title])
        ws.append(t.header)
        for r in t.rows:
            ws.append([float(x) if isinstance(x, Decimal) else x for x in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
