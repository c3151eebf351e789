"""After the decision: the project, its follow-up and the final report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.calls import confidential
from halric.calls.access import open_for
from halric.calls.drafts import known_org
from halric.calls.models import (
    Application,
    Project,
)
from halric.calls.transitions import move_to
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import InvalidInput, NotFound, PermissionDenied


def start_project(s: Session, actor: Actor, app_id: int, started_on: date, ends_on: date) -> Project:
    app, hats = open_for(s, actor, app_id)
    if ends_on <= started_on:
        raise InvalidInput("ends_on: the end must come after the start", field="ends_on")
    move_to(s, actor, app, "running", hats, f"Project runs {started_on} – {ends_on}")
    p = Project(application_id=app.id, started_on=started_on, ends_on=ends_on)
    s.add(p)
    s.flush()
    return p


def get_project(s: Session, actor: Actor, app_id: int) -> tuple[Application, Project, set[str]]:
    """The application and its project as the actor may see them (both redacted, or neither)."""
    app, p, hats = _project(s, actor, app_id)
    shown = confidential.shown(s, actor, app, hats)
    return shown, confidential.shown_project(shown, p), hats  # type: ignore[return-value]


def _project(s: Session, actor: Actor, app_id: int) -> tuple[Application, Project, set[str]]:
    app, hats = open_for(s, actor, app_id)
    p = s.scalar(select(Project).where(Project.application_id == app.id))
    if p is None:
        raise NotFound("This application has no running project yet.")
    return app, p, hats


def update_project(s: Session, actor: Actor, app_id: int, changes: dict[str, Any]) -> Project:
    app, p, hats = _project(s, actor, app_id)
    if not hats & {"applicant", "coordinator"}:
        raise PermissionDenied("Only the applicants and coordinators update the project.")
    confidential.require_read(s, app, actor, hats, "update its follow-up")
    allowed = {"milestones", "publications", "cost_claims"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"{sorted(unknown)[0]}: not a project field; use {', '.join(sorted(allowed))}",
                           field=sorted(unknown)[0])  # fmt: skip
    for claim in changes.get("cost_claims", []):
        try:
            Decimal(str(claim["amount"]))
        except Exception as exc:
            raise InvalidInput("cost_claims: each claim needs organisation_id and a decimal amount",
                               field="cost_claims") from exc  # fmt: skip
        known_org(s, claim.get("organisation_id", ""), "cost_claims.organisation_id")
    if "publications" in changes:
        changes["publications"] = _publications(changes["publications"])
    for k, v in changes.items():
        setattr(p, k, v)
    s.flush()
    audit.record(s, actor, "update", "project", p.id, {"fields": sorted(changes)})
    return p


def _publications(items: Any) -> list[dict[str, str]]:
    """Publications as [{title, doi}]: a title, a DOI or both; a DOI must have a DOI's shape."""
    from halric.calls.report import normalise_doi

    if not isinstance(items, list):
        raise InvalidInput("publications: a list of {title, doi}", field="publications")
    out = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput("publications: each publication is {title, doi}", field="publications")
        title, doi = str(item.get("title") or "").strip(), str(item.get("doi") or "").strip()
        if not title and not doi:
            raise InvalidInput(f"publications.{n}: give the title or the DOI", field="publications")
        out.append({"title": title[:500], "doi": normalise_doi(doi, "publications") if doi else ""})
    return out


REPORT_FIELDS = ("summary", "results", "infrastructure_experience", "next_steps")


SATISFACTION = ("overall", "support", "access", "data_handling")


def final_report(
    s: Session,
    actor: Actor,
    app_id: int,
    report: dict[str, str],
    satisfaction: dict[str, int],
    *,
    publications: list[dict[str, str]] | None = None,
    datasets: list[str] | None = None,
) -> Project:
    """The applicants' final report; ``publications`` ([{title, doi}], DOI shape checked) join the project's
    list and the report links their DOIs; ``datasets``: pids of the project's datasets the report links (the
    caller, ``halric.projects``, checks that they are the project's)."""
    app, p, hats = _project(s, actor, app_id)
    if "applicant" not in hats:
        raise PermissionDenied("The applicants submit the final report.")
    missing = [f for f in REPORT_FIELDS if not str(report.get(f, "")).strip()]
    if missing:
        raise InvalidInput(f"{missing[0]}: fill in every section of the final report", field=missing[0])
    for k in SATISFACTION:
        v = satisfaction.get(k)
        if not isinstance(v, int) or not 1 <= v <= 5:
            raise InvalidInput(f"{k}: rate 1 (poor) to 5 (excellent)", field=k)
    linked = _publications(publications or [])
    known = {x.get("doi") for x in p.publications if x.get("doi")}
    p.publications = [*p.publications, *(x for x in linked if not x["doi"] or x["doi"] not in known)]
    p.final_report = {f: str(report[f]).strip() for f in REPORT_FIELDS}
    p.final_report["publications"] = [x["doi"] for x in linked if x["doi"]]
    p.final_report["datasets"] = list(dict.fromkeys(datasets or []))
    p.satisfaction = {k: satisfaction[k] for k in SATISFACTION}
    move_to(s, actor, app, "final-report", hats)
    s.flush()
    return p
