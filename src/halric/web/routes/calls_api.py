"""Pilot-project calls JSON API."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from halric.calls import (
    confidential,
    conflicts,
    document,
    indicators,
    kpi,
    service,
    solutions,
    team,
    workflow,
)
from halric.calls.models import Application, Call
from halric.calls.schemas import (
    AcceptedOut,
    ApplicationInput,
    ApplicationOut,
    CallInput,
    CallOut,
    CoApplicantRemovedOut,
    CommentOut,
    ConflictLiftedOut,
    DecisionOut,
    EligibilityOut,
    ExclusionsOut,
    FeasibilityOut,
    FinalReportOut,
    FollowUpOut,
    InvitationOut,
    ProjectStartedOut,
    RankedOut,
    ReviewInput,
    ReviewOut,
    SolutionInput,
    SolutionOut,
    SubmittedOut,
    TermsAcceptedOut,
    TermsOut,
    UptakeInput,
)
from halric.core.actor import Actor
from halric.core.errors import NotFound
from halric.projects import service as projects
from halric.web import indicators as web_indicators
from halric.web.access import PUBLIC, SIGNED_IN, require
from halric.web.deps import DB, DB_WRITE
from halric.web.params import RowId
from halric.web.routing import attach

api = APIRouter(prefix="/api", tags=["calls"])
COORDINATOR = require("coordinator")


def _str(x: Any) -> str | None:
    return None if x is None else str(x)


def call_dict(c: Call) -> dict[str, Any]:
    return {
        "id": c.id, "slug": c.slug, "title": c.title, "text": c.text, "opens_on": c.opens_on.isoformat(),
        "deadline": c.deadline.isoformat() if c.deadline else None, "cutoffs": c.cutoffs,
        "budget_ceiling": str(c.budget_ceiling), "currency": c.currency, "duration_months": c.duration_months,
        "criteria": c.criteria, "rules": c.rules, "open": service.call_is_open(c),
        "funder_name": c.funder_name, "award_number": c.award_number,
        "storage_rate_per_tb": _str(c.storage_rate_per_tb), "data_costs_fundable": bool(c.data_costs_fundable),
        "confidentiality_terms": confidential.terms(c), "confidentiality_terms_sha256": confidential.terms_sha256(c),
    }  # fmt: skip


def app_dict(s: Session, a: Application, hats: set[str]) -> dict[str, Any]:
    """An application as ``service`` gave it to the caller: a redacted one (``redacted``: true) carries the
    non-confidential summary as its lay summary and nothing confidential."""
    return {
        "id": a.id, "call_id": a.call_id, "state": a.state, "state_label": workflow.LABELS[a.state],
        "version": a.version, "title": a.title, "lay_summary": a.lay_summary,
        "research_question": a.research_question, "instruments": a.instruments, "work_plan": a.work_plan,
        "timeline": a.timeline, "duration_months": a.duration_months, "impact": a.impact,
        "data_management": a.data_management, "motivations": a.motivations,
        "team": [{"name": m.name, "email": m.email, "organisation_id": m.organisation_id, "country": m.country,
                  "sector": m.sector, "role": m.role} for m in a.team],
        "budget": [{"organisation_id": b.organisation_id, "cost_type": b.cost_type, "description": b.description,
                    "person_months": _str(b.person_months), "monthly_cost": _str(b.monthly_cost),
                    "storage_tb": _str(b.storage_tb), "rate_per_tb": _str(b.rate_per_tb), "amount": str(b.amount)}
                   for b in a.budget],
        "budget_total": str(service.budget_total(a)),
        "in_kind": [{"organisation_id": k.organisation_id, "description": k.description, "amount": str(k.amount)}
                    for k in a.in_kind],
        "cutoff": a.cutoff.isoformat() if a.cutoff else None,
        "submitted_at": a.submitted_at.isoformat() if a.submitted_at else None,
        "your_roles": sorted(hats), "next_states": workflow.next_states(a.state, hats),
        "co_applicants": [{"id": c.id, "email": c.email, "accepted": c.accepted_at is not None}
                          for c in team.co_applicants(s, a)] if hats & {"applicant", "coordinator"} else [],
        "confidential": a.confidential, "public_summary": a.public_summary, "redacted": a.redacted,
        "excluded_organisations": list(a.excluded_organisations) if hats & {"applicant", "coordinator"} else [],
    }  # fmt: skip


@api.get("/calls", response_model=list[CallOut], summary="All calls")
def calls(actor: Actor = Depends(PUBLIC), s: Session = DB) -> list[dict[str, Any]]:
    return [call_dict(c) for c in service.list_calls(s)]


@api.post("/calls", response_model=CallOut, status_code=201, summary="Create a call (coordinators)")
def create_call(body: CallInput, actor: Actor = Depends(COORDINATOR), s: Session = DB) -> dict[str, Any]:
    return call_dict(service.create_call(s, actor, body))


@api.put(
    "/calls/{call_id}",
    response_model=CallOut,
    summary="Change a call (coordinators; criteria and rules stay as they were)",
)
def update_call(
    call_id: RowId, body: CallInput, actor: Actor = Depends(COORDINATOR), s: Session = DB
) -> dict[str, Any]:
    call = service.update_call(s, actor, call_id, body)
    projects.sync_call(s, actor, call_id)  # the funder and award its projects' proposals credit
    return call_dict(call)


@api.get("/calls/{call_id}", response_model=CallOut, summary="One call")
def get_call(call_id: RowId, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
    return call_dict(service.get_call(s, call_id))


class NewDraft(BaseModel):
    instruments: list[str] = Field(default_factory=list, max_length=30)
    question: str = Field(default="", max_length=5000)


@api.post(
    "/calls/{call_id}/applications",
    response_model=ApplicationOut,
    status_code=201,
    summary="Start a draft application",
)
def new_draft(
    call_id: RowId, body: NewDraft, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    app = service.create_draft(s, actor, call_id, instruments=body.instruments, question=body.question)
    return app_dict(s, app, {"applicant"})


@api.get("/calls/{call_id}/ranking", response_model=list[RankedOut], summary="Committee ranking per cut-off")
def ranking(
    call_id: RowId,
    cutoff: date | None = None,
    actor: Actor = Depends(require("coordinator", "committee")),
    s: Session = DB,
) -> list[dict[str, Any]]:
    return [_ranked(r) for r in service.ranking(s, actor, call_id, cutoff)]


def _ranked(r: service.Ranked) -> dict[str, Any]:
    if r.excluded:  # the caller is in conflict with it: nothing about the application but its id
        return {"application_id": r.application.id, "title": None, "state": None, "mean": None, "spread": None,
                "reviews": None, "missing": None, "conflicts": None, "excluded": conflicts.RANKING_EXCLUDED}  # fmt: skip
    return {"application_id": r.application.id, "title": r.application.title, "state": r.application.state,
            "mean": str(r.mean) if r.mean is not None else None, "spread": str(r.spread) if r.spread is not None else None,
            "reviews": r.reviews, "missing": r.missing, "conflicts": r.conflicts, "excluded": None}  # fmt: skip


@api.get(
    "/applications",
    response_model=list[ApplicationOut],
    summary="Applications you may see (yours, or to review)",
)
def applications(
    state: str | None = None, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> list[dict[str, Any]]:
    out = []
    for a in service.visible_applications(s, actor, state):
        out.append(app_dict(s, a, service.roles_on(s, a, actor)))
    return out


@api.get("/applications/{app_id}", response_model=ApplicationOut, summary="One application")
def application(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
    app, hats = service.get_application(s, actor, app_id)
    return app_dict(s, app, hats)


@api.put(
    "/applications/{app_id}",
    response_model=ApplicationOut,
    summary="Save a draft (optimistic locking on version)",
)
def save(
    app_id: RowId, body: ApplicationInput, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    app = service.save_draft(s, actor, app_id, body)
    return app_dict(s, app, {"applicant"})


@api.get(
    "/applications/{app_id}/eligibility",
    response_model=EligibilityOut,
    summary="Each eligibility rule with its result and reason",
)
def eligibility(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
    app, _ = service.get_application(s, actor, app_id)
    ev = service.evaluate(s, app)
    if app.redacted:  # the reasons name organisations and amounts
        return {"eligible": ev.eligible, "results": [], "redacted": True}
    return {"eligible": ev.eligible, "results": [r.__dict__ for r in ev.results]}


@api.post(
    "/applications/{app_id}/submit",
    response_model=SubmittedOut,
    summary="Submit (all hard eligibility rules must pass)",
)
def submit(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
    ev = service.submit(s, actor, app_id)
    app, hats = service.get_application(s, actor, app_id)
    return {**app_dict(s, app, hats), "eligibility": [r.__dict__ for r in ev.results]}


class TransitionBody(BaseModel):
    target: str
    comment: str = Field(default="", max_length=5000)


@api.post(
    "/applications/{app_id}/transition",
    response_model=ApplicationOut,
    summary="Move the application to another state",
)
def transition(
    app_id: RowId, body: TransitionBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    app = service.transition(s, actor, app_id, body.target, body.comment)
    return app_dict(s, app, service.roles_on(s, app, actor))


@api.post(
    "/applications/{app_id}/copy",
    response_model=ApplicationOut,
    status_code=201,
    summary="Copy into a new draft",
)
def copy(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
    return app_dict(s, service.copy_application(s, actor, app_id), {"applicant"})


class InviteBody(BaseModel):
    email: str = Field(max_length=320)
    kind: str = "co-applicant"


@api.post(
    "/applications/{app_id}/invitations",
    response_model=InvitationOut,
    status_code=201,
    summary="Invite a co-applicant or an ambassador",
)
def invite(
    request: Request, app_id: RowId, body: InviteBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    c = service.invite(s, actor, app_id, body.email, body.kind, request.app.state.settings.base_url)
    return {"id": c.id, "email": c.email, "kind": c.kind}


@api.post("/invitations/{token}/accept", response_model=AcceptedOut, summary="Accept an invitation")
def accept(token: str, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
    app = projects.accept_invitation(s, actor, token)
    return {"application_id": app.id}


class CommentBody(BaseModel):
    text: str = Field(max_length=5000)


@api.post(
    "/applications/{app_id}/comments",
    response_model=CommentOut,
    status_code=201,
    summary="Comment (applicants, ambassadors, coordinators)",
)
def comment(
    app_id: RowId, body: CommentBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    c = service.add_comment(s, actor, app_id, body.text)
    return {"id": c.id, "author": c.author_name, "text": c.text}


class FeasibilityBody(BaseModel):
    infrastructure_id: str
    verdict: str
    comments: str = Field(default="", max_length=10000)


@api.post(
    "/applications/{app_id}/feasibility",
    response_model=FeasibilityOut,
    summary="Feasibility verdict by the infrastructure's staff",
)
def feasibility(
    app_id: RowId, body: FeasibilityBody, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    r = projects.feasibility(s, actor, app_id, body.infrastructure_id, body.verdict, body.comments)
    return {"infrastructure_id": r.infrastructure_id, "verdict": r.verdict}


@api.post(
    "/applications/{app_id}/review",
    response_model=ReviewOut,
    summary="Committee scores per criterion, or a declared conflict",
)
def review(
    app_id: RowId, body: ReviewInput, actor: Actor = Depends(require("committee")), s: Session = DB
) -> dict[str, Any]:
    r = service.committee_review(s, actor, app_id, body)
    return {"conflict": r.conflict, "scores": r.scores}


class LiftConflict(BaseModel):
    reason: str = Field(max_length=2000)


@api.post(
    "/applications/{app_id}/conflicts/{member_id}/lift",
    response_model=ConflictLiftedOut,
    summary="Lift a committee member's declared conflict of interest (coordinators; audited)",
)
def lift_conflict(
    app_id: RowId, member_id: RowId, body: LiftConflict, actor: Actor = Depends(COORDINATOR), s: Session = DB
) -> dict[str, Any]:
    conflicts.lift(s, actor, app_id, member_id, body.reason)
    return {"application_id": app_id, "member_id": member_id, "conflict": False}


class DecisionBody(BaseModel):
    outcome: str
    letter: str = Field(max_length=20000)


@api.post(
    "/applications/{app_id}/decision",
    response_model=DecisionOut,
    summary="Decide, with a letter to the applicants",
)
def decision(
    app_id: RowId, body: DecisionBody, actor: Actor = Depends(COORDINATOR), s: Session = DB
) -> dict[str, Any]:
    d = service.decide(s, actor, app_id, body.outcome, body.letter)
    return {"outcome": d.outcome, "application_id": app_id}


class ProjectStart(BaseModel):
    started_on: date
    ends_on: date


@api.post(
    "/applications/{app_id}/project",
    response_model=ProjectStartedOut,
    status_code=201,
    summary="Start the approved project: creates its group and catalog proposal (the project space)",
)
def start_project(
    app_id: RowId, body: ProjectStart, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    p, space = projects.start(s, actor, app_id, body.started_on, body.ends_on)
    return {
        "application_id": app_id,
        "started_on": p.started_on.isoformat() if p.started_on else None,
        "ends_on": p.ends_on.isoformat() if p.ends_on else None,
        "group": space.group_name,
        "proposal_id": space.proposal_id,
    }


@api.patch(
    "/applications/{app_id}/project",
    response_model=FollowUpOut,
    summary="Follow-up: milestones, publications, cost claims",
)
def update_project(
    app_id: RowId, body: dict[str, Any], actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    p = service.update_project(s, actor, app_id, body)
    return {"milestones": p.milestones, "publications": p.publications, "cost_claims": p.cost_claims}


class Publication(BaseModel):
    title: str = Field(default="", max_length=500)
    doi: str = Field(default="", max_length=300, description="10.NNNN/suffix (a doi.org link is accepted)")


class FinalReport(BaseModel):
    report: dict[str, str]
    satisfaction: dict[str, int]
    publications: list[Publication] = Field(default_factory=list, max_length=200)
    datasets: list[str] = Field(
        default_factory=list, max_length=1000, description="pids of the project's datasets"
    )


@api.post(
    "/applications/{app_id}/final-report",
    response_model=FinalReportOut,
    summary="Final report and satisfaction questionnaire, linking publications (DOIs) and the project's datasets",
)
def final_report(
    app_id: RowId, body: FinalReport, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    p = projects.final_report(s, actor, app_id, body.report, body.satisfaction,
                              publications=[x.model_dump() for x in body.publications], datasets=body.datasets)  # fmt: skip
    return {"application_id": app_id, "state": "final-report", "publications": p.final_report["publications"],
            "datasets": p.final_report["datasets"]}  # fmt: skip


@api.delete(
    "/applications/{app_id}/co-applicants/{collaborator_id}",
    response_model=CoApplicantRemovedOut,
    summary="Take a co-applicant off (the owning applicant, a coordinator, or the co-applicant leaving)",
)
def remove_co_applicant(
    app_id: RowId, collaborator_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    projects.remove_co_applicant(s, actor, app_id, collaborator_id)
    return {"application_id": app_id, "removed": collaborator_id}


@api.get("/applications/{app_id}/pdf", summary="The application as reviewers see it, as PDF")
def application_pdf(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB_WRITE) -> Response:
    """A confidential application's PDF carries the caller's name and the date on every page (audited)."""
    app, _ = service.get_application(s, actor, app_id)
    data = document.application_pdf(s, actor, app)
    return Response(data, media_type="application/pdf",
                    headers={"Content-Disposition": f'{pdf_disposition(app)}; filename="halric-application-{app.id}.pdf"'})  # fmt: skip


@api.get(
    "/calls/{call_id}/confidentiality",
    response_model=TermsOut,
    summary="The call's confidentiality terms, and whether you accepted them",
)
def terms(call_id: RowId, actor: Actor = Depends(PUBLIC), s: Session = DB) -> dict[str, Any]:
    call = service.get_call(s, call_id)
    row = confidential.acceptance(s, call, actor.user_id)
    return {"call_id": call.id, "terms": confidential.terms(call), "terms_sha256": confidential.terms_sha256(call),
            "accepted_at": row.accepted_at.isoformat() if row else None}  # fmt: skip


class AcceptTerms(BaseModel):
    terms_sha256: str = Field(
        min_length=64, max_length=64, description="The version you read (from GET): changed terms are refused"
    )


@api.post(
    "/calls/{call_id}/confidentiality",
    response_model=TermsAcceptedOut,
    summary="Accept the call's confidentiality terms (recorded with their version; audited)",
)
def accept_terms(
    call_id: RowId, body: AcceptTerms, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    row = confidential.accept(s, actor, call_id, body.terms_sha256)
    return {"call_id": call_id, "terms_sha256": row.terms_sha256, "accepted_at": row.accepted_at.isoformat()}


@api.get(
    "/applications/{app_id}/exclusions",
    response_model=ExclusionsOut,
    summary="Organisations the applicants exclude; for coordinators also who is excluded and why",
)
def exclusions(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> dict[str, Any]:
    ex = service.exclusions(s, actor, app_id)
    return {"organisations": ex["organisations"],
            "people": [{"username": u.username, "name": u.full_name, "reason": why} for u, why in ex["people"]]}  # fmt: skip


@api.get("/kpi", summary="Consortium KPIs and the programme's indicators with their evidence (coordinators)")
def kpis(request: Request, actor: Actor = Depends(COORDINATOR), s: Session = DB) -> dict[str, Any]:
    data = kpi.compute(s, actor)
    inds = web_indicators.compute(s, actor, request, absolute=True)
    return {**data, "tables": {k: {"title": t.title, "header": t.header, "rows": [[str(x) if x is not None else None
             for x in r] for r in t.rows]} for k, t in data["tables"].items()},
            "indicators": [indicators.as_dict(i) for i in inds.values()]}  # fmt: skip


@api.get(
    "/kpi/export.xlsx", summary="Every figure with a sheet of evidence each, and every KPI table, as XLSX"
)
def kpi_xlsx(request: Request, actor: Actor = Depends(COORDINATOR), s: Session = DB) -> Response:
    data = kpi.compute(s, actor)
    inds = web_indicators.compute(s, actor, request, absolute=True)
    return Response(kpi.to_xlsx(list(data["tables"].values()), inds.values()),
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="halric-kpi.xlsx"'})  # fmt: skip


@api.get("/kpi/indicators.csv", summary="Every indicator's figure, then a section of evidence per indicator")
def indicators_csv(request: Request, actor: Actor = Depends(COORDINATOR), s: Session = DB) -> Response:
    inds = web_indicators.compute(s, actor, request, absolute=True)
    return Response(indicators.indicators_csv(inds.values()), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="halric-indicators.csv"'})  # fmt: skip


@api.get("/kpi/evidence/{key}.csv", summary="The evidence behind one indicator as CSV")
def evidence_csv(
    request: Request, key: str, actor: Actor = Depends(COORDINATOR), s: Session = DB
) -> Response:
    inds = web_indicators.compute(s, actor, request, absolute=True)
    if key not in inds:
        raise NotFound(f"No indicator {key!r}; choose one of {', '.join(inds)}.")
    return Response(indicators.evidence_csv(inds[key]), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="halric-evidence-{key}.csv"'})  # fmt: skip


@api.get(
    "/applications/{app_id}/solutions",
    response_model=list[SolutionOut],
    summary="Solutions the project developed, with their uptake",
)
def solutions_list(app_id: RowId, actor: Actor = Depends(SIGNED_IN), s: Session = DB) -> list[dict[str, Any]]:
    return [_solution(x) for x in solutions.readable_solutions(s, actor, app_id)]


@api.post("/applications/{app_id}/solutions", response_model=SolutionOut, status_code=201,
          summary="Declare a solution the project developed (applicants, coordinators): evidence for RCO116")  # fmt: skip
def solution_declare(
    app_id: RowId, body: SolutionInput, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    return _solution(solutions.declare(s, actor, app_id, body))


@api.post("/applications/{app_id}/solutions/{solution_id}/uptakes", response_model=SolutionOut, status_code=201,
          summary="Record that an organisation took up or up-scaled a solution: evidence for RCR104")  # fmt: skip
def uptake_record(
    app_id: RowId, solution_id: RowId, body: UptakeInput, actor: Actor = Depends(SIGNED_IN), s: Session = DB
) -> dict[str, Any]:
    solutions.record_uptake(s, actor, app_id, solution_id, body)
    return _solution(next(x for x in solutions.list_solutions(s, app_id) if x.id == solution_id))


def _solution(x: Any) -> dict[str, Any]:
    return {"id": x.id, "title": x.title, "kind": x.kind, "description": x.description, "uptake_plan": x.uptake_plan,
            "declared_at": x.declared_at.isoformat(),
            "uptakes": [{"organisation_id": u.organisation_id, "kind": u.kind, "happened_on": u.happened_on.isoformat(),
                         "evidence": u.evidence, "evidence_url": u.evidence_url} for u in x.uptakes]}  # fmt: skip


@api.get("/kpi/{table}.csv", summary="One KPI table as CSV")
def kpi_csv(table: str, actor: Actor = Depends(COORDINATOR), s: Session = DB) -> Response:
    data = kpi.compute(s, actor)
    if table not in data["tables"]:
        raise NotFound(f"No KPI table {table!r}; choose one of {', '.join(data['tables'])}.")
    return Response(kpi.to_csv(data["tables"][table]), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="halric-kpi-{table}.csv"'})  # fmt: skip


def register(app: FastAPI) -> None:
    attach(app, api)


def pdf_disposition(app: Application) -> str:
    """A confidential application's PDF is a watermarked copy for the downloader: saved, not shown inline."""
    return "attachment" if app.confidential else "inline"
