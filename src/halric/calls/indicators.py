"""What the programme reports, each figure with the evidence behind it (issue #15).

The Interreg common indicators that fit a consortium of pilot projects — RCO87, RCO84, RCO116, RCR104 and
RCR84 (definitions: the Commission's SWD(2021) 198 final, as the Interreg programme manuals quote them) —
and HALRIC's own KPIs. Each :class:`Indicator` carries its figure, the rule by which the hub computes it
from its own records (docs/calls.md, "Indicators"), and the evidence: one row per counted project,
organisation or solution, with links to the pages and documents that show it. A count is the number of
its evidence rows, so the two cannot disagree.

The computation is pure (:func:`compute_all` over :class:`Pilot` records); :func:`collect` reads the
records from the calls tables and the registry. Datasets come from the catalog, which calls may not
import: the caller passes them in (``datasets_for``), and the data indicators say so when it does not.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import combinations
from typing import Any

from sqlalchemy.orm import Session

from halric.calls import workflow
from halric.calls.rules import HALRIC_COUNTRIES
from halric.core.actor import Actor
from halric.core.errors import NotFound, PermissionDenied
from halric.registry import service as registry

YEAR = timedelta(days=365)
TARGET_PILOTS = 75
IMPLEMENTED = ("final-report", "closed")


@dataclass(frozen=True)
class Cell:
    """One value of an evidence row; ``href`` when the page or document behind it can be opened."""

    text: str
    href: str | None = None

    def __str__(self) -> str:
        return self.text


Value = Cell | str | int | Decimal | None | list[Cell]


def cell_text(v: Value) -> str:
    if v is None:
        return ""
    if isinstance(v, list):
        return "; ".join(c.text for c in v)
    return str(v)


@dataclass
class Org:
    id: str
    name: str
    country: str
    sector: str  # industry | hospital | academia (as the team declared it; else from the registry's kind)


@dataclass
class Uptake:
    organisation_id: str
    organisation: str
    kind: str  # taken-up | up-scaled
    on: date
    evidence: str
    url: str | None = None


@dataclass
class Solution:
    id: int
    title: str
    kind: str
    uptake_plan: str
    declared_on: date
    uptakes: list[Uptake] = field(default_factory=list)


@dataclass
class Dataset:
    pid: str
    title: str
    created: datetime | date | None
    doi: str | None = None
    href: str | None = None


@dataclass
class Pilot:
    """An application (not a draft) with its project, as the indicators see it."""

    app_id: int
    title: str
    call: str
    state: str
    submitted_on: date | None
    started_on: date | None = None
    ends_on: date | None = None
    report_on: date | None = None  # the final report was (last) submitted
    closed_on: date | None = None  # the coordinators closed the project: completion
    closed_at: datetime | None = None
    orgs: list[Org] = field(default_factory=list)
    infrastructures: list[tuple[str, str]] = field(default_factory=list)  # (id, name)
    solutions: list[Solution] = field(default_factory=list)
    datasets: list[Dataset] | None = None  # None: the catalog was not asked
    submitted_at: datetime | None = None
    confidential: bool = False  # shown as "Confidential pilot #id", its organisations and content never named

    @property
    def countries(self) -> list[str]:
        return sorted({o.country for o in self.orgs if o.country in HALRIC_COUNTRIES})

    @property
    def cross_border(self) -> bool:
        return len(self.countries) >= 2

    @property
    def funded(self) -> bool:
        return self.state in workflow.FUNDED

    @property
    def implemented(self) -> bool:
        return self.state in IMPLEMENTED

    @property
    def completed(self) -> bool:
        return self.state == "closed" and self.closed_at is not None


@dataclass
class Indicator:
    key: str
    code: str  # the Interreg code, or "" for HALRIC's own KPIs
    title: str
    value: int | Decimal | str | None
    unit: str
    rule: str  # how the hub computes it, in one paragraph
    header: list[str]
    rows: list[list[Value]] = field(default_factory=list)
    target: int | None = None
    group: str = "interreg"  # interreg | consortium
    note: str = ""  # what the figure cannot show (e.g. no catalog data)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def label(self) -> str:
        return f"{self.code} {self.title}" if self.code else self.title

    @property
    def display(self) -> str:
        if self.value is None:
            return "—"
        if self.target is not None:
            return f"{self.value} of {self.target}"
        return str(self.value)


@dataclass
class Links:
    """Where the evidence points: the hub's own pages (the web layer may choose others)."""

    project: Callable[[int], str] = lambda app_id: f"/applications/{app_id}"
    document: Callable[[int], str] = lambda app_id: f"/applications/{app_id}/pdf"
    final_report: Callable[[int], str] = lambda app_id: f"/applications/{app_id}#final-report"
    organisation: Callable[[str], str] = lambda oid: f"/registry/organisations/{oid}"
    infrastructure: Callable[[str], str] = lambda iid: f"/registry/infrastructures/{iid}"
    solutions: Callable[[int], str] = lambda app_id: f"/applications/{app_id}#solutions"
    space: Callable[[int], str] | None = None  # a started pilot's project page, where there is one


def _project(p: Pilot, links: Links) -> Cell:
    """The project as evidence lists show it: a confidential pilot by its number only (calls/confidential.py:
    lists and exports never carry a confidential application's content), linked to its page, which decides."""
    href = links.space(p.app_id) if (links.space and p.started_on) else links.project(p.app_id)
    if p.confidential:
        return Cell(f"Confidential pilot #{p.app_id}", href)
    return Cell(f"#{p.app_id} {p.title or '(untitled)'}", href)


def _org(o: Org, links: Links) -> Cell:
    return Cell(o.name, links.organisation(o.id))


HIDDEN_ORG = "An organisation of a confidential pilot"


def _projects_cell(ps: Sequence[Pilot], links: Links) -> list[Cell]:
    """Open projects by name; confidential ones only as a number, so that an organisation or an instrument is
    never tied to a confidential pilot."""
    out = [_project(p, links) for p in ps if not p.confidential]
    hidden = sum(1 for p in ps if p.confidential)
    if hidden:
        out.append(Cell(f"{hidden} confidential pilot{'s' if hidden > 1 else ''}"))
    return out


def _org_order(o: Org, ps: Sequence[Pilot]) -> tuple[bool, str]:
    """Named organisations by name, then the unnamed ones by country (never by their hidden name)."""
    hidden = all(p.confidential for p in ps)
    return hidden, o.country if hidden else o.name.lower()


def _org_cell(o: Org, ps: Sequence[Pilot], links: Links) -> Cell:
    """An organisation by name where it is in an open pilot; only in confidential ones, unnamed."""
    return _org(o, links) if any(not p.confidential for p in ps) else Cell(HIDDEN_ORG)


def _joint_implemented(pilots: Iterable[Pilot]) -> list[Pilot]:
    return [p for p in pilots if p.funded and p.cross_border and p.implemented]


# --- Interreg output indicators --------------------------------------------------------------------------


def rco87(pilots: Sequence[Pilot], links: Links) -> Indicator:
    by_org: dict[str, tuple[Org, list[Pilot]]] = {}
    for p in pilots:
        if not (p.funded and p.cross_border):
            continue
        for o in p.orgs:
            by_org.setdefault(o.id, (o, []))[1].append(p)
    rows: list[list[Value]] = []
    for o, ps in sorted(by_org.values(), key=lambda x: _org_order(*x)):
        rows.append([_org_cell(o, ps, links), o.country, o.sector, _projects_cell(ps, links),
                     [Cell(f"Application #{p.app_id} (PDF)", links.document(p.app_id)) for p in ps
                      if not p.confidential]])  # fmt: skip
    return Indicator(
        "rco87", "RCO87", "Organisations cooperating across borders", len(rows), "organisations",
        "Each organisation counted once: every organisation in the team, the requested budget or the in-kind "
        "contributions of a funded pilot (approved, running, reported or closed) whose organisations come from "
        "at least two of the HALRIC countries (SE, DK, DE, NO). A pilot with organisations in one country only "
        "counts for none of them.",
        ["Organisation", "Country", "Sector", "Projects", "Documents"], rows,
    )  # fmt: skip


def rco84(pilots: Sequence[Pilot], links: Links) -> Indicator:
    rows: list[list[Value]] = []
    for p in _joint_implemented(pilots):
        rows.append([_project(p, links), "–".join(p.countries), len(p.orgs),
                     p.started_on.isoformat() if p.started_on else "", p.report_on.isoformat() if p.report_on else "",
                     Cell("Final report", links.final_report(p.app_id))])  # fmt: skip
    return Indicator(
        "rco84", "RCO84", "Pilot actions developed jointly and implemented in projects", len(rows), "pilot actions",
        "Each pilot project is one pilot action. It counts when it was developed jointly — its organisations come "
        "from at least two HALRIC countries — and implemented: funded, carried out and finalised, shown by the "
        "final report being submitted (state “Final report submitted” or “Closed”).",
        ["Project", "Countries", "Organisations", "Started", "Final report", "Document"], rows,
    )  # fmt: skip


def _solutions(pilots: Sequence[Pilot]) -> list[tuple[Pilot, Solution]]:
    return [(p, s) for p in _joint_implemented(pilots) for s in p.solutions if s.uptake_plan.strip()]


def rco116(pilots: Sequence[Pilot], links: Links) -> Indicator:
    rows: list[list[Value]] = []
    for p, s in _solutions(pilots):
        if p.confidential:
            rows.append([Cell(f"A solution of confidential pilot #{p.app_id}"), "", _project(p, links),
                         "–".join(p.countries), s.declared_on.isoformat(), "(confidential)"])  # fmt: skip
            continue
        rows.append([Cell(s.title, links.solutions(p.app_id)), s.kind, _project(p, links), "–".join(p.countries),
                     s.declared_on.isoformat(), s.uptake_plan])  # fmt: skip
    return Indicator(
        "rco116", "RCO116", "Jointly developed solutions", len(rows), "solutions",
        "Each solution (a method, protocol, tool, service or technology) the team declares for a pilot that counts "
        "in RCO84 — developed jointly by organisations from at least two HALRIC countries and tested in the "
        "implemented pilot — and that says how others can take it up. A solution without that plan is not "
        "counted.",
        ["Solution", "Kind", "Project", "Countries", "Declared", "How others can take it up"], rows,
    )  # fmt: skip


# --- Interreg result indicators ----------------------------------------------------------------------------


def uptake_counts(p: Pilot, u: Uptake) -> bool:
    """Taken up during the project or within one year after its completion (its closure)."""
    if p.started_on is not None and u.on < p.started_on:
        return False
    return p.closed_on is None or u.on <= p.closed_on + YEAR


def rcr104(pilots: Sequence[Pilot], links: Links) -> Indicator:
    rows: list[list[Value]] = []
    for p, s in _solutions(pilots):
        counted = [u for u in s.uptakes if uptake_counts(p, u)]
        if not counted:
            continue
        if p.confidential:
            rows.append([Cell(f"A solution of confidential pilot #{p.app_id}"), _project(p, links),
                         [Cell(f"an organisation ({u.kind}, {u.on.isoformat()})") for u in counted],
                         [Cell("(confidential)") for _ in counted]])  # fmt: skip
            continue
        rows.append([
            Cell(s.title, links.solutions(p.app_id)), _project(p, links),
            [Cell(f"{u.organisation} ({u.kind}, {u.on.isoformat()})", links.organisation(u.organisation_id))
             for u in counted],
            [Cell(u.evidence[:200] or "evidence", u.url) for u in counted],
        ])  # fmt: skip
    return Indicator(
        "rcr104", "RCR104", "Solutions taken up or up-scaled by organisations", len(rows), "solutions",
        "Each solution counted in RCO116 that an organisation — in the team or not — has taken up or up-scaled, "
        "recorded with the organisation, the date and the evidence (a document, decision or plan that shows it). "
        "The uptake counts when it happened after the project started and no later than one year after the "
        "project's completion (its closure by the coordinators); a project not yet closed is still in "
        "implementation.",
        ["Solution", "Project", "Taken up by", "Evidence"], rows,
    )  # fmt: skip


def rcr84(pilots: Sequence[Pilot], links: Links) -> Indicator:
    later = [q for q in pilots if q.submitted_at is not None]
    found: dict[str, tuple[Org, list[tuple[Pilot, Pilot, list[Org]]]]] = {}
    for p in pilots:
        if not (p.funded and p.cross_border and p.completed):
            continue
        closed = p.closed_at
        assert closed is not None
        mine = {o.id: o for o in p.orgs}
        for q in later:
            if q.app_id == p.app_id or not (closed < q.submitted_at <= closed + YEAR):  # type: ignore[operator]
                continue
            shared = [mine[o.id] for o in q.orgs if o.id in mine]
            for a in shared:
                partners = [b for b in shared if b.id != a.id and b.country != a.country and b.country]
                if partners and a.country:
                    found.setdefault(a.id, (a, []))[1].append((p, q, partners))
    rows: list[list[Value]] = []

    def order(x: tuple[Org, list[tuple[Pilot, Pilot, list[Org]]]]) -> tuple[bool, str]:
        hidden = all(p.confidential or q.confidential for p, q, _ in x[1])
        return hidden, x[0].country if hidden else x[0].name.lower()

    for a, pairs in sorted(found.values(), key=order):
        # pairs that involve a confidential application are told without names or numbers: they would tie
        # the organisations to it
        open_ = [(p, q, bs) for p, q, bs in pairs if not (p.confidential or q.confidential)]
        hidden = len(pairs) - len(open_)
        more = [Cell(f"{hidden} with a confidential application")] if hidden else []
        rows.append([
            _org(a, links) if open_ else Cell(HIDDEN_ORG), a.country,
            [_project(p, links) for p, _, _ in open_] + more,
            [Cell(f"#{q.app_id} {q.title or '(untitled)'} (submitted {q.submitted_on})", links.project(q.app_id))
             for _, q, _ in open_] + more,
            [Cell(f"{b.name} ({b.country})", links.organisation(b.id)) for _, _, bs in open_ for b in bs] + more,
        ])  # fmt: skip
    return Indicator(
        "rcr84", "RCR84", "Organisations cooperating across borders after project completion", len(rows),
        "organisations",
        "Each organisation of a completed pilot (closed by the coordinators; counted in RCO87) that, after the "
        "closure and within one year of it, is in a later application to a HALRIC call (submitted, whatever its "
        "outcome) together with another organisation of the same pilot from a different country. Continued "
        "cooperation outside HALRIC's calls is not visible to the hub and not counted.",
        ["Organisation", "Country", "Completed project", "Later application", "Together with"], rows,
    )  # fmt: skip


# --- HALRIC's own KPIs ---------------------------------------------------------------------------------------


def pilots_kpi(pilots: Sequence[Pilot], links: Links) -> Indicator:
    funded = [p for p in pilots if p.funded]
    rows: list[list[Value]] = [[_project(p, links), p.call, workflow.LABELS[p.state], "–".join(p.countries),
                                p.started_on.isoformat() if p.started_on else ""] for p in funded]  # fmt: skip
    return Indicator(
        "pilots", "", "Funded pilot projects", len(rows), "projects",
        f"Applications approved by the coordinators (approved, running, reported or closed), against the "
        f"consortium's target of {TARGET_PILOTS} pilot projects.",
        ["Project", "Call", "State", "Countries", "Started"], rows, target=TARGET_PILOTS, group="consortium",
    )  # fmt: skip


def country_pairs_kpi(pilots: Sequence[Pilot], links: Links) -> Indicator:
    pairs: dict[tuple[str, str], list[Pilot]] = defaultdict(list)
    for p in pilots:
        if p.funded:
            for pair in combinations(p.countries, 2):
                pairs[pair].append(p)
    rows: list[list[Value]] = [[f"{a}–{b}", len(ps), [_project(p, links) for p in ps]]
                               for (a, b), ps in sorted(pairs.items())]  # fmt: skip
    n = len(HALRIC_COUNTRIES)
    return Indicator(
        "country_pairs", "", "Country pairs collaborating", len(rows), f"of {n * (n - 1) // 2} pairs",
        "Each pair of HALRIC countries with organisations in the same funded pilot; a pilot with three "
        "countries counts for three pairs.",
        ["Countries", "Projects", "Which"], rows, group="consortium",
    )  # fmt: skip


def sector_kpi(pilots: Sequence[Pilot], links: Links) -> Indicator:
    by_org: dict[str, tuple[Org, list[Pilot]]] = {}
    for p in pilots:
        if p.funded:
            for o in p.orgs:
                by_org.setdefault(o.id, (o, []))[1].append(p)
    counts: dict[str, int] = defaultdict(int)
    for o, _ in by_org.values():
        counts[o.sector or "unknown"] += 1
    rows: list[list[Value]] = [[_org_cell(o, ps, links), o.sector, o.country, _projects_cell(ps, links)]
                               for o, ps in sorted(by_org.values(), key=lambda x: (x[0].sector, *_org_order(*x)))]  # fmt: skip
    summary = ", ".join(
        f"{counts[k]} {k}" for k in ("industry", "hospital", "academia", "unknown") if counts[k]
    )
    return Indicator(
        "sectors", "", "Sector mix of the organisations in funded pilots", summary or "0", "organisations",
        "Each organisation in a funded pilot once, by the sector its team member declared (industry, hospital, "
        "academia); organisations only in the budget or in kind by their kind in the registry (company and SME: "
        "industry; hospital: hospital; others: academia).",
        ["Organisation", "Sector", "Country", "Projects"], rows, group="consortium",
    )  # fmt: skip


def infrastructure_kpi(pilots: Sequence[Pilot], links: Links) -> Indicator:
    use: dict[str, tuple[str, list[Pilot]]] = {}
    for p in pilots:
        if p.funded:
            for iid, name in p.infrastructures:
                use.setdefault(iid, (name, []))[1].append(p)
    rows: list[list[Value]] = [[Cell(name, links.infrastructure(iid)), len(ps), _projects_cell(ps, links)]
                               for iid, (name, ps) in sorted(use.items(), key=lambda x: (-len(x[1][1]), x[1][0]))]  # fmt: skip
    return Indicator(
        "infrastructures", "", "Infrastructures used by funded pilots", len(rows), "infrastructures",
        "Each infrastructure with at least one of its instruments requested by a funded pilot.",
        ["Infrastructure", "Projects", "Which"], rows, group="consortium",
    )  # fmt: skip


NO_CATALOG = ("The catalog's datasets of each project come through the project's proposal; none were "
              "available to this computation.")  # fmt: skip


def datasets_kpi(pilots: Sequence[Pilot], links: Links) -> Indicator:
    started = [p for p in pilots if p.funded and p.started_on is not None]
    known = [p for p in started if p.datasets is not None]
    rows: list[list[Value]] = []
    for p in known:
        ds = p.datasets or []
        dois = sorted({d.doi for d in ds if d.doi})
        rows.append([_project(p, links), len(ds), len(dois), [Cell(d, f"https://doi.org/{d}") for d in dois],
                     [Cell(d.title or d.pid, d.href) for d in ds]])  # fmt: skip
    value: str | None = None
    if known:
        n_ds = sum(len(p.datasets or []) for p in known)
        n_doi = sum(len({d.doi for d in p.datasets or [] if d.doi}) for p in known)
        value = f"{Decimal(n_ds) / len(known):.1f} datasets, {Decimal(n_doi) / len(known):.1f} DOIs"
    return Indicator(
        "datasets", "", "Datasets and DOIs per project", value, "per started project",
        "For each started pilot (running, reported or closed), the datasets in the catalog under the project's "
        "proposal, and the registered DOIs of the published data that include them; the figure is the mean over "
        "those pilots.",
        ["Project", "Datasets", "DOIs", "DOI", "Datasets"], rows, group="consortium",
        note="" if known or not started else NO_CATALOG,
    )  # fmt: skip


def _day(x: datetime | date) -> date:
    return x.date() if isinstance(x, datetime) else x


def first_data_kpi(pilots: Sequence[Pilot], links: Links) -> Indicator:
    rows: list[list[Value]] = []
    days: list[int] = []
    for p in pilots:
        if not (p.funded and p.submitted_on and p.datasets):
            continue
        dated = [d for d in p.datasets if d.created is not None]
        if not dated:
            continue
        first = min(dated, key=lambda d: _day(d.created))  # type: ignore[arg-type]
        n = (_day(first.created) - p.submitted_on).days  # type: ignore[arg-type]
        days.append(n)
        rows.append([_project(p, links), p.submitted_on.isoformat(), Cell(first.title or first.pid, first.href),
                     _day(first.created).isoformat(), n])  # type: ignore[arg-type]  # fmt: skip
    started = any(p.funded and p.started_on for p in pilots)
    known = any(p.datasets is not None for p in pilots)
    return Indicator(
        "first_data", "", "Time from application to first data", round(statistics.median(days)) if days else None,
        "days (median)",
        "For each funded pilot with data in the catalog: the days from the submission of its application to "
        "the creation of its first dataset under the project's proposal; the figure is the median.",
        ["Project", "Submitted", "First dataset", "Created", "Days"], rows, group="consortium",
        note="" if known or not started else NO_CATALOG,
    )  # fmt: skip


INDICATORS: tuple[Callable[[Sequence[Pilot], Links], Indicator], ...] = (
    rco87, rco84, rco116, rcr104, rcr84,
    pilots_kpi, country_pairs_kpi, sector_kpi, infrastructure_kpi, datasets_kpi, first_data_kpi,
)  # fmt: skip


def compute_all(pilots: Sequence[Pilot], links: Links | None = None) -> dict[str, Indicator]:
    links = links or Links()
    out = {}
    for f in INDICATORS:
        ind = f(pilots, links)
        out[ind.key] = ind
    return out


def as_dict(ind: Indicator) -> dict[str, Any]:
    """The indicator as JSON: figure, rule and evidence rows (text and links side by side)."""

    def links_of(v: Value) -> list[str] | str | None:
        if isinstance(v, list):
            return [c.href or "" for c in v]
        return v.href if isinstance(v, Cell) else None

    return {
        "key": ind.key, "code": ind.code, "title": ind.title, "group": ind.group,
        "value": None if ind.value is None else str(ind.value), "unit": ind.unit, "target": ind.target,
        "count": ind.count, "rule": ind.rule, "note": ind.note, "header": ind.header,
        "rows": [[cell_text(v) for v in r] for r in ind.rows], "links": [[links_of(v) for v in r] for r in ind.rows],
    }  # fmt: skip


# --- reading the records -----------------------------------------------------------------------------------

SECTOR_OF_KIND = {"company": "industry", "sme": "industry", "hospital": "hospital"}


def collect(s: Session) -> list[Pilot]:
    """Every application past the draft, with its project, organisations, infrastructures and solutions."""
    from sqlalchemy import select

    from halric.calls.models import Application, ProjectSolution, Transition
    from halric.calls.models import Project as ProjectRow
    from halric.registry.models import Organisation

    apps = list(s.scalars(select(Application).where(Application.state != "draft").order_by(Application.id)))
    projects = {p.application_id: p for p in s.scalars(select(ProjectRow))}
    last: dict[tuple[int, str], datetime] = {}
    for t in s.scalars(select(Transition).where(Transition.to_state.in_(IMPLEMENTED))):
        key = (t.application_id, t.to_state)
        if key not in last or t.at > last[key]:
            last[key] = t.at
    registry_orgs = {o.id: o for o in s.scalars(select(Organisation))}
    solutions: dict[int, list[ProjectSolution]] = defaultdict(list)
    for sol in s.scalars(select(ProjectSolution).order_by(ProjectSolution.id)):
        solutions[sol.application_id].append(sol)
    infra_of: dict[str, tuple[str, str] | None] = {}

    def infrastructure(iid: str) -> tuple[str, str] | None:
        if iid not in infra_of:
            try:
                inst = registry.get_instrument(s, iid)
                infra_of[iid] = (inst.infrastructure_id, inst.infrastructure.name)
            except NotFound:
                infra_of[iid] = None
        return infra_of[iid]

    def org_name(oid: str) -> str:
        o = registry_orgs.get(oid)
        return o.name if o else oid

    out = []
    for a in apps:
        orgs: dict[str, Org] = {}
        for m in a.team:
            reg = registry_orgs.get(m.organisation_id)
            if m.organisation_id not in orgs:
                orgs[m.organisation_id] = Org(m.organisation_id, org_name(m.organisation_id),
                                              reg.country if reg else m.country, m.sector)  # fmt: skip
        for oid in [b.organisation_id for b in a.budget] + [k.organisation_id for k in a.in_kind]:
            if oid not in orgs:
                reg = registry_orgs.get(oid)
                orgs[oid] = Org(oid, org_name(oid), reg.country if reg else "",
                                SECTOR_OF_KIND.get(reg.kind, "academia") if reg else "")  # fmt: skip
        infras: list[tuple[str, str]] = []
        for iid in a.instruments:
            found = infrastructure(iid)
            if found and found not in infras:
                infras.append(found)
        p = projects.get(a.id)
        report, closed = last.get((a.id, "final-report")), last.get((a.id, "closed"))
        out.append(Pilot(
            app_id=a.id, title=a.title, call=a.call.title, state=a.state,
            submitted_on=a.submitted_at.date() if a.submitted_at else None, submitted_at=a.submitted_at,
            started_on=p.started_on if p else None, ends_on=p.ends_on if p else None,
            report_on=report.date() if report else None, closed_on=closed.date() if closed else None,
            closed_at=closed,
            orgs=list(orgs.values()), infrastructures=infras, confidential=bool(a.confidential),
            solutions=[Solution(x.id, x.title, x.kind, x.uptake_plan, x.declared_at.date(),
                                [Uptake(u.organisation_id, org_name(u.organisation_id), u.kind, u.happened_on,
                                        u.evidence, u.evidence_url) for u in x.uptakes])
                       for x in solutions.get(a.id, [])],
        ))  # fmt: skip
    return out


DatasetsFor = Callable[[Session, list[int]], dict[int, list[Dataset]]]


def compute(
    s: Session, actor: Actor, *, datasets_for: DatasetsFor | None = None, links: Links | None = None
) -> dict[str, Indicator]:
    """Every indicator with its evidence, for the coordinators. ``datasets_for`` gives the catalog's
    datasets of the funded pilots (by application id); without it the data KPIs say they lack them."""
    if not actor.has_role("coordinator"):
        raise PermissionDenied("The programme's indicators are for coordinators.")
    pilots = collect(s)
    if datasets_for is not None:
        found = datasets_for(s, [p.app_id for p in pilots if p.funded and p.started_on is not None])
        for p in pilots:
            if p.funded and p.started_on is not None:
                p.datasets = found.get(p.app_id, [])
    return compute_all(pilots, links)


# --- exports -------------------------------------------------------------------------------------------------


def evidence_csv(ind: Indicator) -> str:
    """One indicator's evidence as CSV: a row per counted item (several links in one cell joined by "; ")."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(ind.header)
    for r in ind.rows:
        w.writerow([cell_text(v) for v in r])
    return buf.getvalue()


def indicators_csv(inds: Iterable[Indicator]) -> str:
    """Every figure and its evidence in one CSV: a section per indicator (its figure and rule, then the
    evidence table), separated by an empty row."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["code", "indicator", "value", "unit", "target", "evidence rows", "how it is computed"])
    items = list(inds)
    for ind in items:
        w.writerow(
            [ind.code, ind.title, cell_text(ind.value), ind.unit, ind.target or "", ind.count, ind.rule]
        )
    for ind in items:
        w.writerow([])
        w.writerow([f"Evidence: {ind.label}", f"{ind.count} row(s)"])
        w.writerow(ind.header)
        for r in ind.rows:
            w.writerow([cell_text(v) for v in r])
    return buf.getvalue()


def sheet_name(ind: Indicator) -> str:
    return f"{ind.code or ind.key.replace('_', ' ')} evidence"[:31]


def add_sheets(wb: Any, inds: Iterable[Indicator]) -> None:
    """An "indicators" sheet with every figure, and a sheet per indicator with its evidence (links kept)."""
    items = list(inds)
    if not items:
        return
    ws = wb.create_sheet("indicators", 0)
    ws.append(["code", "indicator", "value", "unit", "target", "evidence rows", "how it is computed"])
    for ind in items:
        ws.append([ind.code, ind.title, cell_text(ind.value), ind.unit, ind.target, ind.count, ind.rule])
    for ind in items:
        ws = wb.create_sheet(sheet_name(ind))
        ws.append([ind.label, cell_text(ind.value), ind.unit])
        ws.append([ind.rule])
        ws.append(ind.header)
        for r in ind.rows:
            ws.append([cell_text(v) for v in r])
            for col, v in enumerate(r, 1):
                href = v.href if isinstance(v, Cell) else None
                if href and href.startswith("http"):
                    ws.cell(row=ws.max_row, column=col).hyperlink = href
