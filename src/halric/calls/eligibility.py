"""The facts the eligibility rules read, and their evaluation."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from halric.calls import confidential, rules
from halric.calls.models import (
    Application,
)
from halric.core.errors import NotFound
from halric.registry import service as registry


def facts(s: Session, app: Application) -> rules.Facts:
    app = confidential.unwrap(app)
    orgs = {}
    wanted = {m.organisation_id for m in app.team} | {b.organisation_id for b in app.budget}
    insts = []
    for iid in app.instruments:
        try:
            inst = registry.get_instrument(s, iid)
        except NotFound:
            continue
        wanted.add(inst.organisation_id)
        insts.append({"id": inst.id, "name": inst.name, "organisation_id": inst.organisation_id,
                      "partner": inst.organisation.partner})  # fmt: skip
    for oid in wanted:
        try:
            o = registry.get_organisation(s, oid)
        except NotFound:
            continue
        orgs[oid] = rules.Org(o.id, o.name, o.country, o.partner, o.funding_eligible)
    return rules.Facts(
        title=app.title, lay_summary=app.lay_summary, research_question=app.research_question,
        work_plan=app.work_plan, impact=app.impact, data_management=app.data_management,
        duration_months=app.duration_months,
        team=[{"name": m.name, "organisation_id": m.organisation_id, "country": m.country, "sector": m.sector}
              for m in app.team],
        budget=[{"line": n, "organisation_id": b.organisation_id, "cost_type": b.cost_type, "amount": b.amount,
                 "storage_tb": b.storage_tb} for n, b in enumerate(app.budget, 1)],
        instruments=insts, motivations=app.motivations or {}, orgs=orgs,
        budget_ceiling=Decimal(app.call.budget_ceiling), call_duration=app.call.duration_months,
        data_costs_fundable=bool(app.call.data_costs_fundable), currency=app.call.currency,
    )  # fmt: skip


def evaluate(s: Session, app: Application) -> rules.Evaluation:
    return rules.evaluate(facts(s, app), app.call.rules or rules.DEFAULT_RULES)


def budget_total(app: Application) -> Decimal:
    return sum((b.amount for b in app.budget), Decimal("0.00"))
