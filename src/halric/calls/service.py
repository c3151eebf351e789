"""Pilot-project workflow operations: calls, drafts, eligibility, transitions, reviews, decisions, follow-up."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.accounts.models import User
from halric.accounts.security import new_token, token_digest
from halric.calls import confidential, conflicts, mail, rules, workflow
from halric.calls.conflicts import team_organisations
from halric.calls.models import (
    Application,
    BudgetLine,
    Call,
    Collaborator,
    Comment,
    CommitteeReview,
    Decision,
    FeasibilityReview,
    InKind,
    Project,
    TeamMember,
    Transition,
)
from halric.calls.schemas import ApplicationInput, BudgetLineIn, CallInput, ReviewInput
from halric.core import audit
from halric.core.actor import Actor, system_actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from halric.core.timeutil import as_utc, utcnow
from halric.registry import service as registry

# --- calls ----------------------------------------------------------------------------------------


def _check_dates(data: CallInput) -> None:
    if not data.deadline and not data.cutoffs:
        raise InvalidInput(
            "deadline: give a single deadline or cut-off dates for a rolling intake", field="deadline"
        )
    if data.deadline and data.deadline < data.opens_on:
        raise InvalidInput(
            f"deadline: the deadline ({data.deadline}) must not be before the opening date ({data.opens_on})",
            field="deadline",
        )
    early = [d for d in data.cutoffs if d < data.opens_on]
    if early:
        raise InvalidInput(
            f"cutoffs: the cut-off {early[0]} is before the opening date ({data.opens_on})", field="cutoffs"
        )


def create_call(s: Session, actor: Actor, data: CallInput) -> Call:
    if not actor.has_role("coordinator"):
        raise PermissionDenied("Only coordinators create calls.")
    if s.scalar(select(Call).where(Call.slug == data.slug)) is not None:
        raise Conflict(f"slug: a call with slug {data.slug!r} exists already", field="slug")
    _check_dates(data)
    try:
        rule_list = rules.validate_rules(data.rules if data.rules is not None else rules.DEFAULT_RULES)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="rules") from exc
    call = Call(
        slug=data.slug, title=data.title, text=data.text, opens_on=data.opens_on, deadline=data.deadline,
        cutoffs=[d.isoformat() for d in data.cutoffs], budget_ceiling=data.budget_ceiling, currency=data.currency,
        duration_months=data.duration_months, criteria=[c.model_dump(mode="json") for c in data.criteria],
        rules=rule_list, created_by=actor.user_id, funder_name=data.funder_name, award_number=data.award_number,
        storage_rate_per_tb=data.storage_rate_per_tb, data_costs_fundable=data.data_costs_fundable,
        confidentiality_terms=data.confidentiality_terms.strip(),
    )  # fmt: skip
    s.add(call)
    s.flush()
    audit.record(s, actor, "create", "call", call.id, {"slug": call.slug, "title": call.title})
    return call


EDITABLE = ("slug", "title", "text", "opens_on", "deadline", "cutoffs", "budget_ceiling", "currency",
            "duration_months", "funder_name", "award_number", "storage_rate_per_tb", "data_costs_fundable",
            "confidentiality_terms")  # fmt: skip


def update_call(s: Session, actor: Actor, call_id: int, data: CallInput) -> Call:
    """Change a call's text, dates and budget (criteria and rules stay: applications were judged by them)."""
    if not actor.has_role("coordinator"):
        raise PermissionDenied("Only coordinators edit calls.")
    call = get_call(s, call_id)
    clash = s.scalar(select(Call).where(Call.slug == data.slug, Call.id != call.id))
    if clash is not None:
        raise Conflict(f"slug: a call with slug {data.slug!r} exists already", field="slug")
    _check_dates(data)

    def recorded(k: str) -> str:  # the terms are long: their version (hash) is what the audit log keeps
        return confidential.terms_sha256(call) if k == "confidentiality_terms" else str(getattr(call, k))

    before = {k: recorded(k) for k in EDITABLE}
    for k in EDITABLE:
        v = getattr(data, k)
        if k == "cutoffs":
            v = [d.isoformat() for d in v]
        elif k == "confidentiality_terms":
            v = v.strip()
        setattr(call, k, v)
    s.flush()
    changed = {k: {"from": before[k], "to": recorded(k)} for k in EDITABLE if before[k] != recorded(k)}
    audit.record(s, actor, "update", "call", call.id, {"changed": changed})
    return call


def close_call(s: Session, actor: Actor, call_id: int, *, reopen: bool = False) -> Call:
    """Close a call to new applications and submissions now (or reopen it); drafts stay."""
    if not actor.has_role("coordinator"):
        raise PermissionDenied("Only coordinators close calls.")
    call = get_call(s, call_id)
    call.closed_at = None if reopen else utcnow()
    s.flush()
    audit.record(s, actor, "reopen" if reopen else "close", "call", call.id, {"slug": call.slug})
    return call


def list_calls(s: Session) -> list[Call]:
    return list(s.scalars(select(Call).order_by(Call.opens_on.desc())))


def get_call(s: Session, call_id: int) -> Call:
    c = s.get(Call, call_id)
    if c is None:
        raise NotFound(f"No call with id {call_id}.")
    return c


def call_is_open(call: Call, today: date | None = None) -> bool:
    today = today or date.today()
    if call.closed_at is not None or today < call.opens_on:
        return False
    if call.deadline:
        return today <= call.deadline
    return any(date.fromisoformat(c) >= today for c in call.cutoffs)


def cutoff_for(call: Call, when: date) -> date | None:
    if call.deadline:
        return call.deadline
    upcoming = [date.fromisoformat(c) for c in call.cutoffs if date.fromisoformat(c) >= when]
    return min(upcoming) if upcoming else None


# --- who may see and do what ------------------------------------------------------------------------


def _collab(s: Session, app: Application, actor: Actor, kind: str) -> Collaborator | None:
    if actor.user_id is None:
        return None
    return s.scalar(
        select(Collaborator).where(
            Collaborator.application_id == app.id,
            Collaborator.kind == kind,
            Collaborator.user_id == actor.user_id,
        )
    )


def is_applicant(s: Session, app: Application, actor: Actor) -> bool:
    return actor.user_id is not None and (
        app.owner_id == actor.user_id or _collab(s, app, actor, "co-applicant") is not None
    )


def requested_infrastructures(s: Session, app: Application) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for iid in confidential.unwrap(app).instruments:
        try:
            inst = registry.get_instrument(s, iid)
        except NotFound:
            continue
        out[inst.infrastructure_id] = inst.infrastructure
    return out


def roles_on(s: Session, app: Application, actor: Actor) -> set[str]:
    """The hats an actor wears for this application. Staff of an organisation the applicants exclude wear
    none but the coordinator's (conflicts.py)."""
    app = confidential.unwrap(app)
    hats: set[str] = set()
    if is_applicant(s, app, actor):
        hats.add("applicant")
    if actor.has_role("coordinator") and app.state != "draft":
        hats.add("coordinator")
    if _collab(s, app, actor, "ambassador") is not None:
        hats.add("ambassador")
    if "facility" in actor.roles and app.state not in ("draft", "submitted", "eligibility"):
        orgs = {i.organisation_id for i in requested_infrastructures(s, app).values()}
        if actor.organisation in orgs:
            hats.add("facility")
    if _reviews(app, actor, hats) and conflicts.conflict_of(s, app, actor) is None:
        hats.add("committee")
    if (
        app.state in ("committee", *workflow.DECIDED, *workflow.FUNDED)
        and "applicant" not in hats
        and _collab(s, app, actor, "reviewer") is not None
        and conflicts.conflict_of(s, app, actor) is None
    ):
        hats.add("reviewer")
    if actor.is_admin:
        hats.add("coordinator")
    if hats - {"applicant", "coordinator"} and conflicts.excluded(s, app, actor):
        hats &= {"applicant", "coordinator"}
    return hats


REVIEW_STATES = ("committee", *workflow.DECIDED, *workflow.FUNDED)


def _reviews(app: Application, actor: Actor, hats: set[str]) -> bool:
    """A committee member who would review this application, conflicts aside."""
    return (
        ("committee" in actor.roles or actor.is_admin)
        and app.state in REVIEW_STATES
        and "applicant" not in hats
    )


def get_application(s: Session, actor: Actor, app_id: int) -> tuple[Application, set[str]]:
    """The application as the actor may see it (a confidential one redacted until they accepted the call's
    terms: confidential.py) and the actor's hats on it. A committee member in conflict with it is told so
    (403); anyone else without a hat gets 404, so the application's existence is not revealed."""
    app, hats = _open(s, actor, app_id)
    return confidential.shown(s, actor, app, hats), hats


def _open(s: Session, actor: Actor, app_id: int) -> tuple[Application, set[str]]:
    """``get_application`` unredacted: for the operations below, which decide themselves what they show."""
    app = s.get(Application, app_id)
    if app is None:
        raise NotFound(f"No application with id {app_id}.")
    hats = roles_on(s, app, actor)
    if not hats:
        if conflicts.excluded(s, app, actor):  # not even told that they were excluded
            raise NotFound(f"No application with id {app_id}.")
        kind = conflicts.conflict_of(s, app, actor) if _reviews(app, actor, hats) else None
        if kind is not None:
            raise PermissionDenied(conflicts.excluded_message(kind))
        raise NotFound(f"No application with id {app_id}.")  # do not reveal that it exists
    return app, hats


def my_applications(s: Session, actor: Actor) -> list[Application]:
    if actor.user_id is None:
        return []
    # the applications one applies with: owned or co-applied (an ambassador's or reviewer's are listed apart)
    co = select(Collaborator.application_id).where(
        Collaborator.user_id == actor.user_id, Collaborator.kind == "co-applicant"
    )
    q = select(Application).where((Application.owner_id == actor.user_id) | Application.id.in_(co))
    return list(s.scalars(q.order_by(Application.id.desc())))


def visible_applications(s: Session, actor: Actor, state: str | None = None) -> list[Application]:
    """Every application the actor wears a hat on; confidential ones redacted for all but their team (a list
    never carries confidential content)."""
    q = select(Application).order_by(Application.id.desc())
    if state:
        q = q.where(Application.state == state)
    return [
        confidential.shown(s, actor, a, hats, listing=True)
        for a in s.scalars(q)
        if (hats := roles_on(s, a, actor))
    ]


# --- drafts -----------------------------------------------------------------------------------------


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
    app, hats = _open(s, actor, app_id)
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
    app, _hats = _open(s, actor, app_id)
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
    src, hats = _open(s, actor, app_id)
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


# --- collaborators ------------------------------------------------------------------------------------


INVITATION_DAYS = 14


def _invitation_expires(c: Collaborator) -> datetime:
    return as_utc(c.invited_at) + timedelta(days=INVITATION_DAYS)


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


def invite(s: Session, actor: Actor, app_id: int, email: str, kind: str, base_url: str) -> Collaborator:
    """Invite someone by e-mail. The link works once, for ``INVITATION_DAYS`` days, and only for the
    signed-in account with that (confirmed) address. An expired, unused invitation can be sent again."""
    app, hats = _open(s, actor, app_id)
    if kind not in ("co-applicant", "ambassador"):
        raise InvalidInput("kind: invite a co-applicant or an ambassador", field="kind")
    if kind == "co-applicant" and "applicant" not in hats:
        raise PermissionDenied("Only applicants invite co-applicants.")
    if kind == "ambassador" and not hats & {"applicant", "coordinator"}:
        raise PermissionDenied("Applicants and coordinators invite ambassadors.")
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput("email: give a valid e-mail address", field="email")
    if kind == "ambassador":
        who = s.scalar(select(User).where(User.email == email)) or User(email=email, organisation_id=None)
        why = conflicts.exclusion_of(s, app, who)
        if why:
            raise Conflict(f"email: {email} is excluded from this application ({why})", field="email")
    c = s.scalar(select(Collaborator).where(Collaborator.application_id == app.id, Collaborator.email == email,
                                           Collaborator.kind == kind))  # fmt: skip
    if c is not None and (c.accepted_at is not None or _invitation_expires(c) > utcnow()):
        raise Conflict(f"email: {email} is already invited as {kind}", field="email")
    token = new_token()
    if c is None:
        c = Collaborator(application_id=app.id, kind=kind, email=email)
        s.add(c)
    c.token_hash, c.invited_at = token_digest(token), utcnow()
    s.flush()
    mail.queue(
        s, email, f"HALRIC pilot application: you are invited as {kind}",
        f"{actor.username} invites you to the HALRIC pilot-project application “{confidential.public_title(app) or 'untitled'}”.\n\n"
        f"Sign in to the hub with the account that uses this e-mail address ({email}) and open this link "
        f"within {INVITATION_DAYS} days to accept:\n{base_url.rstrip('/')}/calls/invitations/{token}\n\n"
        "The link works once, and only for that account. No account yet? Create one with this address first.\n",
    )  # fmt: skip
    audit.record(s, actor, "invite", "application", app.id, {"email": email, "kind": kind})
    return c


def check_invitation(s: Session, actor: Actor, token: str) -> Collaborator:
    """The invitation behind a link, if ``actor`` may accept it; otherwise an error saying why. Changes
    nothing: a refused attempt leaves the invitation usable by the person it was sent to."""
    if actor.user_id is None:
        raise PermissionDenied("Sign in to accept the invitation.")
    c = s.scalar(select(Collaborator).where(Collaborator.token_hash == token_digest(token)))
    if c is None or c.accepted_at is not None:
        raise NotFound("This invitation link is not valid (it may have been used already).")
    if _invitation_expires(c) <= utcnow():
        raise Conflict(
            f"This invitation expired on {_invitation_expires(c):%Y-%m-%d}. Ask the applicant to invite you again."
        )
    user = s.get(User, actor.user_id)
    if user is None or user.email.lower() != c.email:
        raise PermissionDenied(
            f"This invitation was sent to {_mask(c.email)}, and you are signed in as {actor.username}"
            f"{f' ({user.email})' if user else ''}. Sign in with the account that uses the invited address, "
            "or ask the applicant to invite your address."
        )
    if user.email_verified_at is None:
        raise PermissionDenied("Confirm your e-mail address first: open the link we sent to it.")
    if c.kind == "ambassador" and not actor.has_role("ambassador"):
        raise PermissionDenied("This invitation is for an ambassador; your account lacks that role.")
    return c


def accept_invitation(s: Session, actor: Actor, token: str) -> Application:
    c = check_invitation(s, actor, token)
    c.user_id = actor.user_id
    c.accepted_at = utcnow()
    c.token_hash = None
    audit.record(s, actor, "accept-invitation", "application", c.application_id, {"kind": c.kind})
    return s.get(Application, c.application_id)  # type: ignore[return-value]


def assign_ambassador(s: Session, actor: Actor, app_id: int, user_id: int) -> Collaborator:
    app, hats = _open(s, actor, app_id)
    if "coordinator" not in hats:
        raise PermissionDenied("Only coordinators assign ambassadors.")
    user = s.get(User, user_id)
    if user is None or "ambassador" not in user.role_names:
        raise InvalidInput("user_id: choose an account with the ambassador role", field="user_id")
    why = conflicts.exclusion_of(s, app, user)
    if why:
        raise Conflict(f"user_id: {user.username} is excluded from this application ({why})", field="user_id")
    c = Collaborator(application_id=app.id, kind="ambassador", email=user.email, user_id=user.id,
                     accepted_at=utcnow())  # fmt: skip
    s.add(c)
    s.flush()
    audit.record(s, actor, "assign-ambassador", "application", app.id, {"ambassador": user.username})
    return c


def assign_reviewer(s: Session, actor: Actor, app_id: int, user_id: int, base_url: str = "") -> Collaborator:
    """The coordinator gives an application to a reviewer (or an extra committee member) to score."""
    app, hats = _open(s, actor, app_id)
    if "coordinator" not in hats:
        raise PermissionDenied("Only coordinators assign reviewers.")
    user = s.get(User, user_id)
    if user is None or not user.is_active or not set(user.role_names) & {"reviewer", "committee"}:
        raise InvalidInput(
            "reviewer: choose an account with the reviewer or committee role", field="reviewer"
        )
    if user.organisation_id and user.organisation_id in team_organisations(app):
        raise Conflict(f"reviewer: {user.username} belongs to one of the team's organisations "
                       f"({user.organisation_id}) and is excluded for a conflict of interest", field="reviewer")  # fmt: skip
    why = conflicts.exclusion_of(s, app, user)
    if why:
        raise Conflict(
            f"reviewer: {user.username} is excluded from this application: {why}", field="reviewer"
        )
    if user.id in {u.id for u in assigned_reviewers(s, app)}:
        raise Conflict(f"reviewer: {user.username} is already assigned to this application", field="reviewer")
    c = Collaborator(
        application_id=app.id, kind="reviewer", email=user.email, user_id=user.id, accepted_at=utcnow()
    )
    s.add(c)
    s.flush()
    mail.queue(s, user.email, f"HALRIC application to review: {confidential.public_title(app)}",
               f"You are asked to review the HALRIC pilot-project application “{confidential.public_title(app)}”.\n\n"
               + ("It is confidential: accept the call's confidentiality terms in the hub to read it.\n\n"
                  if app.confidential else "")
               + f"{base_url.rstrip('/')}/applications/{app.id}\n")  # fmt: skip
    audit.record(s, actor, "assign-reviewer", "application", app.id, {"reviewer": user.username})
    return c


def exclusions(s: Session, actor: Actor, app_id: int) -> dict[str, Any]:
    """The organisations the applicants exclude and — for the coordinators only — the people excluded by
    them, each with the reason (whether or not the coordinator accepted the confidentiality terms)."""
    app, hats = _open(s, actor, app_id)
    if not hats & {"coordinator", "applicant"}:
        raise PermissionDenied("Only the applicants and the coordinators see the excluded organisations.")
    people = conflicts.excluded_people(s, app) if "coordinator" in hats else []
    return {"organisations": list(app.excluded_organisations), "people": people}


def assigned_reviewers(s: Session, app: Application) -> list[User]:
    ids = s.scalars(select(Collaborator.user_id).where(Collaborator.application_id == app.id,
                                                       Collaborator.kind == "reviewer"))  # fmt: skip
    return [u for u in (s.get(User, i) for i in ids) if u is not None]


def reviewer_conflict(s: Session, actor: Actor, app_id: int) -> str | None:
    """Why an assigned reviewer is excluded from this application (committee members are told by
    ``get_application``), or None."""
    app = s.get(Application, app_id)
    if app is None or app.state not in REVIEW_STATES or _collab(s, app, actor, "reviewer") is None:
        return None
    if conflicts.excluded(s, app, actor):  # the application does not exist for them
        return None
    kind = conflicts.conflict_of(s, app, actor)
    return conflicts.excluded_message(kind) if kind else None


def assign_regional_ambassadors(s: Session, app: Application) -> list[int]:
    """Give the application to the ambassadors covering the team's countries (public ambassador profiles)."""
    countries = {m.country for m in app.team}
    already = {c.user_id for c in s.scalars(select(Collaborator).where(Collaborator.application_id == app.id,
                                                                        Collaborator.kind == "ambassador"))}  # fmt: skip
    added = []
    for country in sorted(countries):
        for prof in registry.ambassadors_for(s, country):
            user = s.get(User, prof.user_id)
            if user is None or prof.user_id in already or "ambassador" not in user.role_names:
                continue
            if conflicts.exclusion_of(s, app, user):
                continue
            s.add(Collaborator(application_id=app.id, kind="ambassador", email=user.email, user_id=user.id,
                               accepted_at=utcnow()))  # fmt: skip
            already.add(user.id)
            added.append(user.id)
            mail.queue(s, user.email, f"HALRIC application to follow: {confidential.public_title(app)}",
                       f"A pilot-project application from your region was submitted: “{confidential.public_title(app)}”.")  # fmt: skip
    s.flush()
    return added


def add_comment(s: Session, actor: Actor, app_id: int, text: str) -> Comment:
    app, hats = _open(s, actor, app_id)
    if not hats & {"applicant", "ambassador", "coordinator"}:
        raise PermissionDenied("Only applicants, their ambassadors and coordinators comment here.")
    confidential.require_read(s, app, actor, hats, "comment on it")
    text = text.strip()
    if not text or len(text) > 5000:
        raise InvalidInput("text: write a comment of 1–5000 characters", field="text")
    c = Comment(application_id=app.id, author_id=actor.user_id, author_name=actor.username, text=text)
    s.add(c)
    s.flush()
    audit.record(s, actor, "comment", "application", app.id)
    return c


# --- eligibility --------------------------------------------------------------------------------------


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


# --- transitions --------------------------------------------------------------------------------------


def _move(s: Session, actor: Actor, app: Application, target: str, hats: set[str], comment: str = "") -> None:
    try:
        workflow.check(app.state, target, hats)
    except workflow.TransitionError as exc:
        raise Conflict(str(exc)) from exc
    s.add(Transition(application_id=app.id, from_state=app.state, to_state=target, actor_id=actor.user_id,
                     actor_name=actor.username, comment=comment))  # fmt: skip
    audit.record(s, actor, "transition", "application", app.id, {"from": app.state, "to": target})
    app.state = target
    app.version += 1
    for email in _team_emails(s, app):
        mail.queue(s, email, f"HALRIC application “{app.title}”: {workflow.LABELS[target]}",
                   f"Your HALRIC pilot-project application “{app.title}” is now: {workflow.LABELS[target]}."
                   + (f"\n\n{comment}" if comment else ""))  # fmt: skip


def _team_emails(s: Session, app: Application) -> list[str]:
    owner = s.get(User, app.owner_id)
    emails = [owner.email] if owner else []
    emails += [c.email for c in s.scalars(select(Collaborator).where(Collaborator.application_id == app.id,
                                                                      Collaborator.kind == "co-applicant",
                                                                      Collaborator.accepted_at.is_not(None)))]  # fmt: skip
    return sorted(set(emails))


def submit(s: Session, actor: Actor, app_id: int) -> rules.Evaluation:
    app, hats = _open(s, actor, app_id)
    if "applicant" not in hats:
        raise PermissionDenied("Only the applicants submit this application.")
    if not call_is_open(app.call):
        raise Conflict(f"The call “{app.call.title}” is closed.")
    if app.confidential and len(app.public_summary.strip()) < 20:
        raise InvalidInput(
            "public_summary: a confidential application needs a non-confidential summary (at least 20 characters): "
            "it is what everyone sees who has not accepted the call's confidentiality terms",
            field="public_summary",
        )
    ev = evaluate(s, app)
    if not ev.eligible:
        failing = [r for r in ev.results if r.status == "fail"]
        raise InvalidInput("Not yet eligible: " + "; ".join(f"{r.label} — {r.reason}" for r in failing))
    _move(s, actor, app, "submitted", hats)
    assign_regional_ambassadors(s, app)
    app.submitted_at = utcnow()
    app.cutoff = cutoff_for(app.call, app.submitted_at.date())
    _move(s, system_actor("eligibility-engine", via="system"), app, "eligibility", {"system"},
          "Automatic eligibility check: " + "; ".join(f"{r.label}: {r.status}" for r in ev.results))  # fmt: skip
    return ev


def transition(s: Session, actor: Actor, app_id: int, target: str, comment: str = "") -> Application:
    """Move the application; returns it as the actor may see it."""
    app, hats = _open(s, actor, app_id)
    if target in workflow.DECIDED and app.state == "committee":
        raise Conflict("Record the decision with its letter (decide), not as a bare transition.")
    if target == "committee":
        missing = set(requested_infrastructures(s, app)) - {
            f.infrastructure_id
            for f in s.scalars(select(FeasibilityReview).where(FeasibilityReview.application_id == app.id))
        }
        if missing:
            raise Conflict("Feasibility reviews are missing for: " + ", ".join(sorted(missing)))
    if target == "running":
        raise Conflict("Start the project with its start and end dates (start_project).")
    if target == "closed" and app.state == "final-report":
        from halric.calls.report import missing_for_closure

        missing = missing_for_closure(s, app)
        if missing:
            raise Conflict("The project cannot close yet; still missing: " + "; ".join(missing) + ".")
    if target == "submitted":
        raise Conflict(
            "Submit the application from its form (Submit application), where eligibility is checked."
        )
    _move(s, actor, app, target, hats, comment)
    if target == "committee":
        flag_conflicts(s, app)
    return confidential.shown(s, actor, app, hats)


def flag_conflicts(s: Session, app: Application) -> int:
    """Record a conflict of interest for every committee member from one of the team's organisations."""
    app = confidential.unwrap(app)
    orgs = team_organisations(app)
    n = 0
    for member in s.scalars(select(User).where(User.is_active.is_(True), User.organisation_id.in_(orgs))):
        if "committee" not in member.role_names:
            continue
        row = s.scalar(select(CommitteeReview).where(CommitteeReview.application_id == app.id,
                                                     CommitteeReview.member_id == member.id))  # fmt: skip
        if row is None:
            s.add(CommitteeReview(application_id=app.id, member_id=member.id, conflict=True,
                                  conflict_reason=f"Member of a team organisation ({member.organisation_id})"))  # fmt: skip
            n += 1
    s.flush()
    return n


# --- reviews ------------------------------------------------------------------------------------------


VERDICTS = ("feasible", "conditions", "not-feasible")


def feasibility(
    s: Session, actor: Actor, app_id: int, infrastructure_id: str, verdict: str, comments: str
) -> FeasibilityReview:
    app, hats = _open(s, actor, app_id)
    infras = requested_infrastructures(s, app)
    if app.state != "feasibility":
        raise Conflict("Feasibility is reviewed while the application is in feasibility review.")
    if infrastructure_id not in infras:
        raise InvalidInput(f"infrastructure_id: {infrastructure_id!r} is not requested by this application",
                           field="infrastructure_id")  # fmt: skip
    if not (
        actor.is_admin
        or ("facility" in hats and infras[infrastructure_id].organisation_id == actor.organisation)
    ):
        raise PermissionDenied("Only the staff of the requested infrastructure review its feasibility.")
    confidential.require_read(s, app, actor, hats, "judge its feasibility")
    if verdict not in VERDICTS:
        raise InvalidInput(f"verdict: use one of {', '.join(VERDICTS)}", field="verdict")
    row = s.scalar(select(FeasibilityReview).where(FeasibilityReview.application_id == app.id,
                                                   FeasibilityReview.infrastructure_id == infrastructure_id))  # fmt: skip
    if row is None:
        row = FeasibilityReview(application_id=app.id, infrastructure_id=infrastructure_id, reviewer_id=actor.user_id,
                                verdict=verdict, comments=comments)  # fmt: skip
        s.add(row)
    else:
        row.verdict, row.comments, row.reviewer_id, row.at = verdict, comments, actor.user_id, utcnow()
    s.flush()
    audit.record(
        s,
        actor,
        "feasibility",
        "application",
        app.id,
        {"infrastructure": infrastructure_id, "verdict": verdict},
    )
    return row


def committee_review(s: Session, actor: Actor, app_id: int, data: ReviewInput) -> CommitteeReview:
    """Score an application, or declare a conflict of interest. A member in conflict (declared, or from a
    team organisation) cannot score; scoring never clears a declared conflict (a coordinator lifts it)."""
    app = s.get(Application, app_id)
    assigned = app is not None and _collab(s, app, actor, "reviewer") is not None
    if app is None or not ("committee" in actor.roles or actor.is_admin or assigned):
        raise NotFound(f"No application with id {app_id}.")
    if conflicts.excluded(s, app, actor):
        raise NotFound(f"No application with id {app_id}.")
    kind = conflicts.conflict_of(s, app, actor)
    if kind is None and not roles_on(s, app, actor) & {"committee", "reviewer"}:
        raise NotFound(f"No application with id {app_id}.")
    if app.state != "committee":
        raise Conflict("Scores are given while the application is in committee review.")
    if kind == "automatic" or (kind == "declared" and not data.conflict):
        raise Conflict(conflicts.excluded_message(kind))
    if not data.conflict:  # declaring a conflict needs no reading
        confidential.require_read(s, app, actor, roles_on(s, app, actor), "review it")
    row = s.scalar(select(CommitteeReview).where(CommitteeReview.application_id == app.id,
                                                 CommitteeReview.member_id == actor.user_id))  # fmt: skip
    if row is None:
        row = CommitteeReview(application_id=app.id, member_id=actor.user_id)
        s.add(row)
    if data.conflict:
        if not data.conflict_reason.strip():
            raise InvalidInput(
                "conflict_reason: say briefly why you have a conflict", field="conflict_reason"
            )
        row.conflict, row.conflict_reason, row.scores, row.comments = (
            True,
            data.conflict_reason.strip(),
            {},
            "",
        )
        row.submitted_at = utcnow()
        s.flush()
        audit.record(s, actor, "declare-conflict", "application", app.id)
        return row
    keys = {c["key"] for c in app.call.criteria}
    if set(data.scores) != keys:
        raise InvalidInput(
            f"scores: give a score 1–5 for each criterion: {', '.join(sorted(keys))}", field="scores"
        )
    row.scores, row.comments, row.submitted_at = data.scores, data.comments, utcnow()
    s.flush()
    audit.record(s, actor, "review", "application", app.id)
    return row


def weighted(scores: dict[str, int], criteria: list[dict[str, Any]]) -> Decimal:
    total_w = sum(Decimal(str(c["weight"])) for c in criteria)
    value = sum(Decimal(str(c["weight"])) * Decimal(scores[c["key"]]) for c in criteria) / total_w
    return value.quantize(Decimal("0.01"))


@dataclass
class Ranked:
    """One row of a call's ranking. ``excluded`` rows (the viewer is in conflict with the application)
    carry no scores and must be shown without the application's title or state."""

    application: Application
    mean: Decimal | None
    spread: Decimal | None
    reviews: int
    missing: int
    conflicts: int
    excluded: bool = False


def ranking(s: Session, actor: Actor, call_id: int, cutoff: date | None = None) -> list[Ranked]:
    if not actor.has_role("coordinator", "committee"):
        raise PermissionDenied("Only coordinators and committee members see the ranking.")
    call = get_call(s, call_id)
    q = select(Application).where(Application.call_id == call.id, Application.state.in_(
        ("committee", *workflow.DECIDED, *workflow.FUNDED)))  # fmt: skip
    if cutoff:
        q = q.where(Application.cutoff == cutoff)
    members = [
        u for u in s.scalars(select(User).where(User.is_active.is_(True))) if "committee" in u.role_names
    ]
    out = []
    coordinator = actor.has_role("coordinator")
    for app in s.scalars(q):
        if not coordinator and conflicts.excluded(s, app, actor):
            continue  # excluded by the applicants' list: the application does not exist for them
        shown = confidential.shown(s, actor, app, roles_on(s, app, actor), listing=True)
        if not coordinator and conflicts.conflict_of(s, app, actor) is not None:
            out.append(Ranked(shown, None, None, 0, 0, 0, excluded=True))
            continue
        rows = list(s.scalars(select(CommitteeReview).where(CommitteeReview.application_id == app.id)))
        scored = [weighted(r.scores, call.criteria) for r in rows if not r.conflict and r.scores]
        n_conflicts = sum(1 for r in rows if r.conflict)
        eligible_members = [m for m in members if m.organisation_id not in team_organisations(app)
                            and not conflicts.exclusion_of(s, app, m)]  # fmt: skip
        missing = max(0, len(eligible_members) - len(scored) - sum(1 for r in rows if r.conflict and
                                                                    s.get(User, r.member_id) in eligible_members))  # fmt: skip
        mean = (sum(scored) / len(scored)).quantize(Decimal("0.01")) if scored else None
        spread = (
            Decimal(str(statistics.pstdev(scored))).quantize(Decimal("0.01")) if len(scored) > 1 else None
        )
        out.append(Ranked(shown, mean, spread, len(scored), missing, n_conflicts))
    # excluded rows go last, in id order: their place must not hint at their scores
    return sorted(
        out, key=lambda r: (r.excluded, r.mean is None, -(r.mean or 0), r.application.id if r.excluded else 0)
    )


def decide(s: Session, actor: Actor, app_id: int, outcome: str, letter: str) -> Decision:
    app, hats = _open(s, actor, app_id)
    if "coordinator" not in hats:
        raise PermissionDenied("Only coordinators record decisions.")
    confidential.require_read(s, app, actor, hats, "decide on it")
    if outcome not in workflow.DECIDED:
        raise InvalidInput("outcome: approved, revise or rejected", field="outcome")
    if len(letter.strip()) < 20:
        raise InvalidInput(
            "letter: write the decision letter to the applicants (at least 20 characters)", field="letter"
        )
    if app.state != "committee":
        raise Conflict("Decisions are taken on applications in committee review.")
    d = Decision(application_id=app.id, outcome=outcome, letter=letter.strip(), decided_by=actor.user_id)
    s.add(d)
    _move(s, actor, app, outcome, hats, letter.strip())
    app.decided_at = utcnow()
    s.flush()
    return d


# --- follow-up ----------------------------------------------------------------------------------------


def start_project(s: Session, actor: Actor, app_id: int, started_on: date, ends_on: date) -> Project:
    app, hats = _open(s, actor, app_id)
    if ends_on <= started_on:
        raise InvalidInput("ends_on: the end must come after the start", field="ends_on")
    _move(s, actor, app, "running", hats, f"Project runs {started_on} – {ends_on}")
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
    app, hats = _open(s, actor, app_id)
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
    _move(s, actor, app, "final-report", hats)
    s.flush()
    return p
