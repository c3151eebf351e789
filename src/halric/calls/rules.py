"""The eligibility engine. Rules are data (a list of dicts per call); each kind is one pure function.

A rule: ``{"id": str, "kind": str, "severity": "fail"|"warn", "label": str, "params": {...},
"motivation_allowed": bool}``. When a rule fails and motivation is allowed, an applicant's written
motivation for that rule id turns the failure into a pass-with-motivation (shown as such).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

HALRIC_COUNTRIES = {"SE", "DK", "DE", "NO"}


@dataclass
class Org:
    id: str
    name: str
    country: str
    partner: bool
    funding_eligible: bool


@dataclass
class Facts:
    """Everything the rules may look at, prepared by the service from an application."""

    title: str
    lay_summary: str
    research_question: str
    work_plan: str
    impact: str
    data_management: str
    duration_months: int | None
    team: list[dict[str, Any]]  # name, organisation_id, country, sector
    budget: list[dict[str, Any]]  # line (1-based), organisation_id, cost_type, amount (Decimal), storage_tb
    instruments: list[dict[str, Any]]  # id, name, organisation_id, partner (bool), life_science (bool)
    motivations: dict[str, str]
    orgs: dict[str, Org]
    budget_ceiling: Decimal
    call_duration: int
    data_costs_fundable: bool = False  # the call funds data-storage lines besides employment
    currency: str = "EUR"

    @property
    def total(self) -> Decimal:
        return sum((b["amount"] for b in self.budget), Decimal("0.00"))


@dataclass
class RuleResult:
    id: str
    label: str
    status: str  # pass | fail | warn | motivated
    reason: str
    severity: str = "fail"
    motivation_allowed: bool = False


DEFAULT_RULES: list[dict[str, Any]] = [
    {"id": "infrastructure", "kind": "partner_infrastructure", "severity": "fail", "motivation_allowed": False,
     "label": "At least one life-science infrastructure at a HALRIC partner", "params": {"min": 1}},
    {"id": "eligible-orgs", "kind": "funding_only_eligible_orgs", "severity": "fail", "motivation_allowed": False,
     "label": "Funding only for the eligible partner organisations", "params": {}},
    {"id": "employment-only", "kind": "employment_costs_only", "severity": "fail", "motivation_allowed": False,
     "label": "Funding only for employment costs", "params": {}},
    {"id": "cross-border", "kind": "cross_border", "severity": "fail", "motivation_allowed": True,
     "label": "Cross-border team (at least two of SE, DK, DE, NO)", "params": {"min_countries": 2}},
    {"id": "duration", "kind": "duration", "severity": "fail", "motivation_allowed": True,
     "label": "Duration about six months", "params": {"tolerance_months": 1}},
    {"id": "ceiling", "kind": "budget_ceiling", "severity": "fail", "motivation_allowed": False,
     "label": "Budget within the call's ceiling", "params": {}},
    {"id": "complete", "kind": "forms_complete", "severity": "fail", "motivation_allowed": False,
     "label": "Application and budget forms complete", "params": {}},
    {"id": "industry-clinic", "kind": "industry_or_clinical_partner", "severity": "warn", "motivation_allowed": False,
     "label": "Industry or clinical partner (strongly encouraged)", "params": {}},
]  # fmt: skip


def _partner_infrastructure(f: Facts, p: dict[str, Any]) -> tuple[bool, str]:
    ok = [i for i in f.instruments if i.get("partner")]
    need = int(p.get("min", 1))
    if len(ok) >= need:
        return True, f"{len(ok)} requested instrument(s) at HALRIC partners: " + ", ".join(
            i["name"] for i in ok[:4]
        )
    if not f.instruments:
        return False, "No infrastructure is requested yet: add at least one instrument from the registry."
    return False, "None of the requested instruments is at a HALRIC partner organisation."


def _eligible_orgs(f: Facts, p: dict[str, Any]) -> tuple[bool, str]:
    bad = sorted({b["organisation_id"] for b in f.budget if not (f.orgs.get(b["organisation_id"]) and
                                                                  f.orgs[b["organisation_id"]].funding_eligible)})  # fmt: skip
    if bad:
        names = [f.orgs[o].name if o in f.orgs else o for o in bad]
        return False, ("Funding is requested for " + ", ".join(names) + ", which may not receive HALRIC funding; "
                       "list their contribution as in-kind instead.")  # fmt: skip
    return True, "All requested funding goes to eligible partner organisations."


DATA_STORAGE = "data-storage"


def _employment_only(f: Facts, p: dict[str, Any]) -> tuple[bool, str]:
    """Only employment costs are funded — and data storage, where the call says it funds data costs. A
    requested data-storage line the call does not fund is named with what to do about it."""
    storage = [b for b in f.budget if b.get("cost_type") == DATA_STORAGE]
    other = [b for b in f.budget if b.get("cost_type") not in ("employment", DATA_STORAGE)]
    reasons = []
    if other:
        kinds = sorted({b.get("cost_type") or "?" for b in other})
        reasons.append(f"Budget lines of type {', '.join(kinds)}: only employment costs can be funded.")
    if storage and not f.data_costs_fundable:
        for b in storage:
            tb = f" for {b['storage_tb']} TB" if b.get("storage_tb") is not None else ""
            reasons.append(
                f"Budget line {b.get('line', '?')} requests {b['amount']:,.2f} {f.currency} for data storage{tb}, "
                "but this call funds employment costs only: move it to the in-kind contributions (the organisation "
                f"that stores the data contributes it; button “Move line {b.get('line', '?')} to in-kind”) or "
                "remove it."
            )
    if reasons:
        return False, " ".join(reasons)
    if storage:
        return True, "All budget lines are employment costs, or data storage, which this call funds."
    return True, "All budget lines are employment costs (person-months × monthly cost)."


def _cross_border(f: Facts, p: dict[str, Any]) -> tuple[bool, str]:
    countries = sorted({m["country"] for m in f.team if m.get("country") in HALRIC_COUNTRIES})
    need = int(p.get("min_countries", 2))
    if len(countries) >= need:
        return True, f"The team spans {', '.join(countries)}."
    return False, f"The team spans {', '.join(countries) or 'no HALRIC country'}; at least {need} are needed."


def _duration(f: Facts, p: dict[str, Any]) -> tuple[bool, str]:
    if f.duration_months is None:
        return False, "Give the project's duration in months."
    tol = int(p.get("tolerance_months", 1))
    if abs(f.duration_months - f.call_duration) <= tol:
        return True, f"{f.duration_months} months (the call expects about {f.call_duration})."
    return False, f"{f.duration_months} months, the call expects about {f.call_duration} (±{tol})."


def _ceiling(f: Facts, p: dict[str, Any]) -> tuple[bool, str]:
    if f.total <= f.budget_ceiling:
        return True, f"Requested {f.total:,.2f} of at most {f.budget_ceiling:,.2f}."
    return False, f"Requested {f.total:,.2f}, above the ceiling of {f.budget_ceiling:,.2f}."


REQUIRED = ("title", "lay_summary", "research_question", "work_plan", "impact", "data_management")


def _complete(f: Facts, p: dict[str, Any]) -> tuple[bool, str]:
    missing = [name.replace("_", " ") for name in REQUIRED if not str(getattr(f, name) or "").strip()]
    if not f.team:
        missing.append("team")
    if not f.budget:
        missing.append("budget")
    if missing:
        return False, "Still empty: " + ", ".join(missing) + "."
    return True, "All sections and the budget are filled in."


def _industry_clinic(f: Facts, p: dict[str, Any]) -> tuple[bool, str]:
    sectors = {m.get("sector") for m in f.team}
    if sectors & {"industry", "hospital"}:
        return True, "The team includes " + " and ".join(
            sorted(sectors & {"industry", "hospital"})
        ) + " partners."
    return False, "No industry or hospital partner: HALRIC strongly encourages one."


KINDS: dict[str, Callable[[Facts, dict[str, Any]], tuple[bool, str]]] = {
    "partner_infrastructure": _partner_infrastructure,
    "funding_only_eligible_orgs": _eligible_orgs,
    "employment_costs_only": _employment_only,
    "cross_border": _cross_border,
    "duration": _duration,
    "budget_ceiling": _ceiling,
    "forms_complete": _complete,
    "industry_or_clinical_partner": _industry_clinic,
}


def validate_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check a call's rule list (data from coordinators); raise ValueError naming the problem."""
    seen = set()
    for n, r in enumerate(rules):
        if r.get("kind") not in KINDS:
            raise ValueError(
                f"rules[{n}].kind: unknown kind {r.get('kind')!r}; use one of {', '.join(KINDS)}"
            )
        if r.get("severity", "fail") not in ("fail", "warn"):
            raise ValueError(f"rules[{n}].severity: use fail or warn")
        if not r.get("id") or r["id"] in seen:
            raise ValueError(f"rules[{n}].id: give each rule a unique id")
        seen.add(r["id"])
    return rules


@dataclass
class Evaluation:
    results: list[RuleResult] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return not any(r.status == "fail" for r in self.results)

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.results if r.status == "warn"]


def evaluate(facts: Facts, rules: list[dict[str, Any]]) -> Evaluation:
    ev = Evaluation()
    for rule in rules:
        ok, reason = KINDS[rule["kind"]](facts, rule.get("params") or {})
        severity = rule.get("severity", "fail")
        allowed = bool(rule.get("motivation_allowed"))
        if ok:
            status = "pass"
        elif allowed and (facts.motivations.get(rule["id"]) or "").strip():
            status = "motivated"
            reason += " Motivation given: " + facts.motivations[rule["id"]].strip()
        else:
            status = "warn" if severity == "warn" else "fail"
            if allowed:
                reason += " You may explain why in a motivation."
        ev.results.append(
            RuleResult(rule["id"], rule.get("label", rule["id"]), status, reason, severity, allowed)
        )
    return ev
