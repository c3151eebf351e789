"""Solutions a pilot developed, and organisations that took them up: what the team declares, with evidence,
for the Interreg indicators RCO116 (jointly developed solutions) and RCR104 (solutions taken up or
up-scaled). Declared by the applicants or the coordinators of a started project, during it and after."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.calls import confidential
from halric.calls.drafts import known_org
from halric.calls.followup import get_project
from halric.calls.models import ProjectSolution, SolutionUptake
from halric.calls.schemas import SolutionInput, UptakeInput
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import InvalidInput, NotFound, PermissionDenied


def _project_for(s: Session, actor: Actor, app_id: int, doing: str = "record its solutions"):  # type: ignore[no-untyped-def]
    app, project, hats = get_project(s, actor, app_id)
    if not hats & {"applicant", "coordinator"}:
        raise PermissionDenied("Only the project's applicants and the coordinators record its solutions.")
    confidential.require_read(s, app, actor, hats, doing)  # a confidential pilot's follow-up is confidential
    return confidential.unwrap(app), confidential.unwrap(project)


def readable_solutions(s: Session, actor: Actor, app_id: int) -> list[ProjectSolution]:
    """The project's solutions for someone who may see the application (nothing of a confidential pilot to
    those who have not accepted the call's terms: 403 saying so)."""
    app, _project, hats = get_project(s, actor, app_id)
    confidential.require_read(s, app, actor, hats, "read its solutions")
    return list_solutions(s, app_id)


def list_solutions(s: Session, app_id: int) -> list[ProjectSolution]:
    return list(
        s.scalars(
            select(ProjectSolution)
            .where(ProjectSolution.application_id == app_id)
            .order_by(ProjectSolution.id)
        )
    )


def declare(s: Session, actor: Actor, app_id: int, data: SolutionInput) -> ProjectSolution:
    app, _project = _project_for(s, actor, app_id)
    row = ProjectSolution(application_id=app.id, title=data.title, kind=data.kind, description=data.description,
                          uptake_plan=data.uptake_plan, declared_by=actor.user_id)  # fmt: skip
    s.add(row)
    s.flush()
    audit.record(
        s, actor, "declare-solution", "application", app.id, {"solution": row.id, "title": row.title}
    )
    return row


def record_uptake(
    s: Session, actor: Actor, app_id: int, solution_id: int, data: UptakeInput, today: date | None = None
) -> SolutionUptake:
    app, project = _project_for(s, actor, app_id)
    sol = s.get(ProjectSolution, solution_id)
    if sol is None or sol.application_id != app.id:
        raise NotFound(f"No solution {solution_id} in this project.")
    known_org(s, data.organisation_id, "organisation_id")
    today = today or date.today()
    if data.happened_on > today:
        raise InvalidInput("happened_on: record an uptake once it has happened (not in the future)",
                           field="happened_on")  # fmt: skip
    if project.started_on and data.happened_on < project.started_on:
        raise InvalidInput(
            f"happened_on: the project started on {project.started_on}; an uptake of its solution comes after that",
            field="happened_on",
        )
    row = SolutionUptake(solution_id=sol.id, organisation_id=data.organisation_id, kind=data.kind,
                         happened_on=data.happened_on, evidence=data.evidence, evidence_url=data.evidence_url,
                         declared_by=actor.user_id)  # fmt: skip
    sol.uptakes.append(row)
    s.flush()
    audit.record(s, actor, "record-uptake", "application", app.id,
                 {"solution": sol.id, "organisation": data.organisation_id, "kind": data.kind,
                  "happened_on": data.happened_on.isoformat()})  # fmt: skip
    return row
