"""Calls: creating, changing, closing and finding them; open dates and cut-offs."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.calls import confidential, rules
from halric.calls.models import (
    Call,
)
from halric.calls.schemas import CallInput
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from halric.core.timeutil import utcnow


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
