"""Confidential (industrial) pilots: who reads a confidential application, and what everyone else sees.

The rule (docs/calls.md, "Confidential pilots"), enforced here so that pages, the JSON API, the PDF, mail
and exports follow it alike:

- The **applicant team** (the owner and accepted co-applicants) reads everything, always.
- Anyone else the application is shown to — coordinator, ambassador, facility staff of a requested
  infrastructure, committee member, assigned reviewer — reads it **after accepting the call's current
  confidentiality terms** in the hub (recorded with the date and the SHA-256 of the text, audited).
- Before that they see the **redacted** application: "Confidential pilot #id", the non-confidential
  summary, the call, the state, the dates, and the team's countries and sectors. No title, no text
  sections, names, organisations, instruments, budget, in-kind, eligibility reasons, comments, review
  comments, decision letters or follow-up; and they cannot score, judge feasibility, comment or decide.
- **Lists and exports** (the applications page and JSON list, the ranking, KPI evidence, CSV/XLSX) show
  every confidential application redacted to everyone but its team, accepted or not: content is read one
  application at a time, never in bulk.

Services hand out a :class:`Redacted` wrapper instead of the application where the rule says so; it lets
through only the fields listed as public and answers the confidential ones with empty values, so code that
reads a field nobody thought of fails closed. Domain rules (conflicts, eligibility, roles) look at the real
application through :func:`unwrap`.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.calls.models import Application, Call, ConfidentialityAcceptance, Project
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied

DEFAULT_TERMS = """\
Confidentiality terms for confidential pilot applications

1. A confidential application, its reviews and everything about the project that follows it (together:
   the confidential information) are the applicants' trade secrets. You use them only to carry out your
   task in this call (eligibility, feasibility, review, decision, follow-up) and for nothing else.
2. You do not pass the confidential information on, in whole or in part, to anyone who has not accepted
   these terms in the HALRIC Hub, and you do not discuss it outside the call's review.
3. You do not copy it beyond what your task needs; documents you download carry your name and the date,
   and you delete them when your task in the call ends.
4. If you have, or come to have, a conflict of interest with an application — in particular if you work
   for or advise a competitor of the applicants — you tell the coordinators and stop reading it.
5. These obligations last five years after the call closes, and do not cover what was already public or
   what you knew before without an obligation of confidence.
6. The hub records that you accepted these terms, with the date and the version of this text.
"""

LABEL = "Confidential pilot #{id}"


def terms(call: Call) -> str:
    """The call's confidentiality terms (the hub's default text unless the coordinators wrote their own)."""
    return (call.confidentiality_terms or "").strip() or DEFAULT_TERMS.strip()


def terms_sha256(call: Call) -> str:
    """The version of the terms: SHA-256 of their text. Editing the terms makes a new version."""
    return hashlib.sha256(terms(call).encode("utf-8")).hexdigest()


def acceptance(s: Session, call: Call, user_id: int | None) -> ConfidentialityAcceptance | None:
    """The person's acceptance of the call's *current* terms, or None."""
    if user_id is None:
        return None
    return s.scalar(
        select(ConfidentialityAcceptance).where(
            ConfidentialityAcceptance.call_id == call.id,
            ConfidentialityAcceptance.user_id == user_id,
            ConfidentialityAcceptance.terms_sha256 == terms_sha256(call),
        )
    )


def accept(s: Session, actor: Actor, call_id: int, sha256: str) -> ConfidentialityAcceptance:
    """Record that ``actor`` accepts the call's terms in the version they were shown (``sha256``). Terms
    changed in between are refused: the person must read the new text. Accepting twice changes nothing."""
    if actor.user_id is None:
        raise NotAuthenticated("Sign in to accept the confidentiality terms.")
    call = s.get(Call, call_id)
    if call is None:
        raise NotFound(f"No call with id {call_id}.")
    current = terms_sha256(call)
    if sha256.strip().lower() != current:
        raise Conflict(
            "terms_sha256: the confidentiality terms of this call changed after you opened them; "
            "read the current text and accept it again.",
            field="terms_sha256",
        )
    row = acceptance(s, call, actor.user_id)
    if row is not None:
        return row
    row = ConfidentialityAcceptance(
        call_id=call.id, user_id=actor.user_id, terms_sha256=current, terms=terms(call)
    )
    s.add(row)
    s.flush()
    audit.record(s, actor, "accept-confidentiality-terms", "call", call.id, {"terms_sha256": current})
    return row


def public_title(app: Any) -> str:
    """How an application is named where its content must not show (lists, exports, mail to others)."""
    app = unwrap(app)
    return LABEL.format(id=app.id) if app.confidential else (app.title or "")


def may_read(s: Session, app: Any, actor: Actor, hats: set[str]) -> bool:
    """Whether ``actor`` (wearing ``hats`` on it) reads the whole application."""
    app = unwrap(app)
    if not app.confidential or "applicant" in hats:
        return True
    return acceptance(s, app.call, actor.user_id) is not None


def shown(
    s: Session, actor: Actor, app: Application, hats: set[str], *, listing: bool = False
) -> Application:
    """The application as ``actor`` may see it: itself, or redacted. ``listing``: for a list or an export,
    where a confidential application is redacted for everyone but its team."""
    app = unwrap(app)
    if not app.confidential or "applicant" in hats:
        return app
    if listing or not may_read(s, app, actor, hats):
        return cast(Application, Redacted(app))
    return app


def shown_project(app: Any, project: Project | None) -> Project | None:
    """The project of an application shown redacted is redacted too (its follow-up is confidential)."""
    if project is None or not getattr(app, "redacted", False):
        return project
    return cast(Project, RedactedProject(project))


def require_read(s: Session, app: Any, actor: Actor, hats: set[str], doing: str) -> None:
    """Refuse an action that needs the content (score, judge feasibility, comment, decide) until the
    actor has accepted the call's terms."""
    if not may_read(s, app, actor, hats):
        call = unwrap(app).call
        raise PermissionDenied(
            f"This is a confidential application: accept the confidentiality terms of the call “{call.title}” "
            f"(/calls/{call.id}/confidentiality) before you {doing}."
        )


def unwrap(obj: Any) -> Any:
    """The real application (or project) behind a redacted one."""
    return obj._real if isinstance(obj, (Redacted, RedactedProject)) else obj


class _Member:
    """A team member as a redacted application shows them: country and sector only."""

    def __init__(self, position: int, country: str, sector: str) -> None:
        self.position, self.country, self.sector = position, country, sector
        self.name = self.email = self.organisation_id = self.role = ""


class _Wrapper:
    """Lets through the fields in ``PUBLIC``, answers those in ``HIDDEN`` with empty values, refuses the rest
    (a field added later is confidential until someone lists it as public). Writes go to the real object."""

    PUBLIC: frozenset[str] = frozenset()
    HIDDEN: dict[str, Any] = {}
    redacted = True

    def __init__(self, real: Any) -> None:
        object.__setattr__(self, "_real", real)

    def __getattr__(self, name: str) -> Any:
        if name in self.PUBLIC:
            return getattr(self._real, name)
        if name in self.HIDDEN:
            value = self.HIDDEN[name]
            return type(value)() if isinstance(value, (list, dict)) else value
        raise AttributeError(f"{name!r} of a confidential {type(self._real).__name__.lower()} is not shown")

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._real, name, value)

    def __eq__(self, other: object) -> bool:
        return unwrap(other) is self._real

    def __hash__(self) -> int:
        return hash(self._real)

    def __repr__(self) -> str:
        return f"<redacted {self._real!r}>"


class Redacted(_Wrapper):
    """A confidential application as someone sees it who may not read it (see the module docstring)."""

    PUBLIC = frozenset({
        "id", "call_id", "call", "owner_id", "state", "version", "duration_months", "cutoff", "created_at",
        "updated_at", "updated_by", "submitted_at", "decided_at", "confidential", "public_summary",
    })  # fmt: skip
    HIDDEN: dict[str, Any] = {
        "research_question": "", "work_plan": "", "timeline": "", "impact": "", "data_management": "",
        "motivations": {}, "instruments": [], "budget": [], "in_kind": [], "excluded_organisations": [],
        "copied_from_id": None,
    }  # fmt: skip

    @property
    def title(self) -> str:
        return LABEL.format(id=self._real.id)

    @property
    def lay_summary(self) -> str:
        return self._real.public_summary

    @property
    def team(self) -> list[_Member]:
        return [_Member(m.position, m.country, m.sector) for m in self._real.team]


class RedactedProject(_Wrapper):
    """The follow-up of a confidential project as someone sees it who may not read it: its dates only."""

    PUBLIC = frozenset({"id", "application_id", "started_on", "ends_on"})
    HIDDEN: dict[str, Any] = {
        "milestones": [], "publications": [], "final_report": {}, "satisfaction": {}, "cost_claims": [],
    }  # fmt: skip
