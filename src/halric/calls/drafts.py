"""Drafts of applications: create, save, copy and delete; budget lines; organisations named."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from halric.accounts.models import User
from halric.calls import workflow
from halric.calls.access import open_for
from halric.calls.call_admin import call_is_open, get_call
from halric.calls.models import (
    Application,
    BudgetLine,
    Call,
    InKind,
    TeamMember,
)
from halric.calls.schemas import ApplicationInput, BudgetLineIn
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from halric.core.timeutil import utcnow
from halric.registry import service as registry


def create_draft(
    s: Session, actor: Actor, call_id: int, *, instruments: list[str] | None = None, question: str = ""
) -> Application:
    if actor.user_id is None:
        raise PermissionDenied("Sign in to apply.")
    call = get_call(s, call_id)
    if not call_is_open(call):
        raise Conflict(f"The call “{call.title}” is not open for applications.")
    for iid in instruments or []:
        registry.get_instrument(s, iid)
    app = Application(call_id=call.id, owner_id=actor.user_id, instruments=list(instruments or []),
                      research_question=question, duration_months=call.duration_months, updated_by=actor.user_id)  # fmt: skip
    s.add(app)
    s.flush()
    audit.record(
        s, actor, "create", "application", app.id, {"call": call.slug, "instruments": app.instruments}
    )
    return app


def save_draft(s: Session, actor: Actor, app_id: int, data: ApplicationInput) -> Application:
    app = editable_draft(s, actor, app_id)
    if data.version != app.version:
        who = s.get(User, app.updated_by) if app.updated_by else None
        raise Conflict(
            f"version: this draft was saved by {who.username if who else 'someone else'} at "
            f"{app.updated_at:%Y-%m-%d %H:%M} UTC after you opened it (version {app.version}, yours {data.version}). "
            "Reload it to see their changes; nothing of yours was overwritten.",
            field="version",
        )
    for iid in data.instruments:
        registry.get_instrument(s, iid)
    for n, m in enumerate(data.team):
        known_org(s, m.organisation_id, f"team.{n}.organisation_id")
    for n, b in enumerate(data.budget):
        known_org(s, b.organisation_id, f"budget.{n}.organisation_id")
    # every line is checked before anything changes
    lines = [_budget_line(app.call, n, b) for n, b in enumerate(data.budget)]
    for n, k in enumerate(data.in_kind):
        known_org(s, k.organisation_id, f"in_kind.{n}.organisation_id")
    excluded = _excluded_organisations(s, data)
    for field in ("title", "lay_summary", "research_question", "work_plan", "timeline", "duration_months", "impact",
                  "data_management", "motivations", "instruments", "confidential", "public_summary"):  # fmt: skip
        setattr(app, field, getattr(data, field))
    app.excluded_organisations = excluded
    app.team.clear()
    app.budget.clear()
    app.in_kind.clear()
    s.flush()
    app.team.extend(TeamMember(position=n, **m.model_dump()) for n, m in enumerate(data.team))
    app.budget.extend(lines)
    app.in_kind.extend(InKind(**k.model_dump()) for k in data.in_kind)
    touch_draft(app, actor)
    s.flush()
    audit.record(s, actor, "update", "application", app.id, {"version": app.version})
    return app


def _budget_line(call: Call, n: int, b: BudgetLineIn) -> BudgetLine:
    """A stored budget line; a data-storage line takes the call's rate per TB (never one the applicant types)."""
    line = BudgetLine(position=n, **b.model_dump())
    if line.is_storage:
        if call.storage_rate_per_tb is None:
            raise InvalidInput(
                f"budget.{n}.cost_type: this call sets no rate for data storage, so it cannot be a requested "
                "line; describe the storage under data management or as an in-kind contribution",
                field=f"budget.{n}.cost_type",
            )
        line.rate_per_tb = call.storage_rate_per_tb
    return line


def editable_draft(s: Session, actor: Actor, app_id: int) -> Application:
    app, hats = open_for(s, actor, app_id)
    if "applicant" not in hats:
        raise PermissionDenied("Only the applicants edit this application.")
    if app.state != "draft":
        raise Conflict(f"The application is {workflow.LABELS[app.state].lower()}; only drafts can be edited.")
    return app


def touch_draft(app: Application, actor: Actor) -> None:
    app.version += 1
    app.updated_at = utcnow()
    app.updated_by = actor.user_id


def _excluded_organisations(s: Session, data: ApplicationInput) -> list[dict[str, Any]]:
    """The applicants' excluded organisations as stored: a registry organisation by id (or found by its ROR
    id) with its name, or a free name with the e-mail domain of its staff; duplicates dropped."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, e in enumerate(data.excluded_organisations):
        field = f"excluded_organisations.{n}.organisation_id"
        oid = e.organisation_id
        if oid is None and e.ror:
            oid = next((o.id for o in registry.list_organisations(s) if o.ror == e.ror), None)
        if oid is not None:
            known_org(s, oid, field)
            org = registry.get_organisation(s, oid)
            entry = {"organisation_id": org.id, "name": org.name, "ror": org.ror, "domain": e.domain}
        else:
            entry = {"organisation_id": None, "name": e.name or e.ror or "", "ror": e.ror, "domain": e.domain}
        key = entry["organisation_id"] or f"{entry['name'].lower()}|{entry['domain'] or ''}"
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def delete_draft(s: Session, actor: Actor, app_id: int) -> str:
    """The owner deletes a draft (never a submitted application); returns its title for the message."""
    app, _hats = open_for(s, actor, app_id)
    if app.owner_id != actor.user_id:
        raise PermissionDenied("Only the person who started this draft can delete it.")
    if app.state != "draft":
        raise Conflict("Only drafts can be deleted; this application has been submitted.")
    title = app.title or "untitled draft"
    audit.record(s, actor, "delete", "application", app.id, {"title": app.title, "call": app.call.slug})
    s.delete(app)
    s.flush()
    return title


def known_org(s: Session, oid: str, field: str) -> None:
    try:
        registry.get_organisation(s, oid)
    except NotFound as exc:
        raise InvalidInput(
            f"{field}: unknown organisation {oid!r}; add it under Registry › Organisations first", field=field
        ) from exc


def copy_application(s: Session, actor: Actor, app_id: int, call_id: int | None = None) -> Application:
    src, hats = open_for(s, actor, app_id)
    if "applicant" not in hats:
        raise PermissionDenied("You can only copy your own applications.")
    new = create_draft(
        s, actor, call_id or src.call_id, instruments=list(src.instruments), question=src.research_question
    )
    for field in ("title", "lay_summary", "work_plan", "timeline", "duration_months", "impact", "data_management",
                  "motivations", "confidential", "public_summary", "excluded_organisations"):  # fmt: skip
        setattr(new, field, getattr(src, field))
    new.title = f"{src.title} (copy)" if src.title else ""
    new.copied_from_id = src.id
    new.team.extend(TeamMember(position=m.position, name=m.name, email=m.email, organisation_id=m.organisation_id,
                               country=m.country, sector=m.sector, role=m.role) for m in src.team)  # fmt: skip
    new.budget.extend(BudgetLine(position=b.position, organisation_id=b.organisation_id, cost_type=b.cost_type,
                                 description=b.description, person_months=b.person_months,
                                 monthly_cost=b.monthly_cost, storage_tb=b.storage_tb,
                                 rate_per_tb=new.call.storage_rate_per_tb if b.is_storage else None)
                      for b in src.budget)  # fmt: skip
    new.in_kind.extend(InKind(organisation_id=k.organisation_id, description=k.description, amount=k.amount)
                       for k in src.in_kind)  # fmt: skip
    s.flush()
    audit.record(s, actor, "copy", "application", new.id, {"from": src.id})
    return new
