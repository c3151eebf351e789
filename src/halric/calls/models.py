"""Tables of the pilot-project workflow."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from halric.calls.schemas import DEFAULT_FUNDER
from halric.core.db import Base
from halric.core.timeutil import utcnow

Money = Numeric(14, 2)
Terabytes = Numeric(12, 3)
CENT = Decimal("0.01")
ZERO = Decimal("0")
DATA_STORAGE = "data-storage"


class Call(Base):
    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")
    opens_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date)  # single deadline, or
    cutoffs: Mapped[list[Any]] = mapped_column(default=list)  # rolling intake: ISO dates
    budget_ceiling: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    duration_months: Mapped[int] = mapped_column(Integer, default=6)
    criteria: Mapped[list[Any]] = mapped_column(default=list)  # [{key, label, weight}]
    rules: Mapped[list[Any]] = mapped_column(default=list)  # eligibility rules as data
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()  # closed early by a coordinator
    # who funds the pilots, as credited in DataCite fundingReference of the projects' published data
    funder_name: Mapped[str] = mapped_column(String(300), default=DEFAULT_FUNDER)
    award_number: Mapped[str] = mapped_column(String(100), default="")
    # data costs: what storing one TB of (compressed) data for a project costs, and whether the call funds it
    storage_rate_per_tb: Mapped[Decimal | None] = mapped_column(Money)
    data_costs_fundable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # what readers of a confidential application accept first (empty: the hub's default terms)
    confidentiality_terms: Mapped[str] = mapped_column(Text, default="", server_default="")


class Application(Base):
    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(24), index=True, default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(300), default="")
    lay_summary: Mapped[str] = mapped_column(Text, default="")
    research_question: Mapped[str] = mapped_column(Text, default="")
    instruments: Mapped[list[Any]] = mapped_column(default=list)  # registry instrument ids
    work_plan: Mapped[str] = mapped_column(Text, default="")
    timeline: Mapped[str] = mapped_column(Text, default="")
    duration_months: Mapped[int | None] = mapped_column(Integer)
    impact: Mapped[str] = mapped_column(Text, default="")
    data_management: Mapped[str] = mapped_column(Text, default="")
    motivations: Mapped[dict[str, Any]] = mapped_column(default=dict)  # rule id -> motivation text
    cutoff: Mapped[date | None] = mapped_column(Date, index=True)
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column()
    # a confidential (industrial) pilot: only its team and those who accepted the call's confidentiality
    # terms read it; everyone else sees ``public_summary`` (calls/confidential.py)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    public_summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    # organisations whose staff must not review it: [{organisation_id, name, ror, domain}] (calls/conflicts.py)
    excluded_organisations: Mapped[list[Any]] = mapped_column(default=list)

    redacted = False  # a real application; calls.confidential.Redacted says True

    call: Mapped[Call] = relationship(lazy="joined")
    team: Mapped[list[TeamMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TeamMember.position"
    )
    budget: Mapped[list[BudgetLine]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="BudgetLine.position"
    )
    in_kind: Mapped[list[InKind]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InKind.id"
    )


class TeamMember(Base):
    __tablename__ = "application_team"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), default="")
    organisation_id: Mapped[str] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2))
    sector: Mapped[str] = mapped_column(String(16))  # industry | hospital | academia
    role: Mapped[str] = mapped_column(String(100), default="")


class BudgetLine(Base):
    """Requested funding at one organisation. Employment (and the other kinds of cost) = person-months ×
    monthly cost; data storage (``cost_type`` "data-storage") = TB stored × the call's rate per TB."""

    __tablename__ = "application_budget"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    organisation_id: Mapped[str] = mapped_column(String(64))
    cost_type: Mapped[str] = mapped_column(String(24), default="employment")
    description: Mapped[str] = mapped_column(String(300), default="")
    person_months: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    monthly_cost: Mapped[Decimal | None] = mapped_column(Money)
    storage_tb: Mapped[Decimal | None] = mapped_column(Terabytes)
    rate_per_tb: Mapped[Decimal | None] = mapped_column(Money)

    @property
    def is_storage(self) -> bool:
        return self.cost_type == DATA_STORAGE

    @property
    def amount(self) -> Decimal:
        if self.is_storage:
            return ((self.storage_tb or ZERO) * (self.rate_per_tb or ZERO)).quantize(CENT)
        return ((self.person_months or ZERO) * (self.monthly_cost or ZERO)).quantize(CENT)


class InKind(Base):
    __tablename__ = "application_in_kind"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal] = mapped_column(Money)


class Collaborator(Base):
    """Co-applicants (invited by e-mail, may edit) and ambassadors (assigned, may comment)."""

    __tablename__ = "application_collaborators"
    __table_args__ = (UniqueConstraint("application_id", "email", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # co-applicant | ambassador
    email: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column()


class Transition(Base):
    __tablename__ = "application_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(150))
    comment: Mapped[str] = mapped_column(Text, default="")


class Comment(Base):
    __tablename__ = "application_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(150))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class FeasibilityReview(Base):
    __tablename__ = "feasibility_reviews"
    __table_args__ = (UniqueConstraint("application_id", "infrastructure_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    infrastructure_id: Mapped[str] = mapped_column(String(80))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[str] = mapped_column(String(24))  # feasible | conditions | not-feasible
    comments: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CommitteeReview(Base):
    __tablename__ = "committee_reviews"
    __table_args__ = (UniqueConstraint("application_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    conflict_reason: Mapped[str] = mapped_column(Text, default="")
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)  # criterion key -> 1..5
    comments: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column()


class Decision(Base):
    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # approved | revise | rejected
    letter: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Project(Base):
    """A running pilot project: follow-up of an approved application."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), unique=True
    )
    started_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    milestones: Mapped[list[Any]] = mapped_column(default=list)  # [{title, due, done}]
    publications: Mapped[list[Any]] = mapped_column(default=list)  # [{title, doi}]
    final_report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    satisfaction: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cost_claims: Mapped[list[Any]] = mapped_column(default=list)  # [{organisation_id, amount (str)}]


class ConfidentialityAcceptance(Base):
    """A person accepted a call's confidentiality terms, in the version (SHA-256 of the text) they were shown.
    Changed terms have another hash: the acceptance of the old text no longer opens confidential applications."""

    __tablename__ = "confidentiality_acceptances"
    __table_args__ = (UniqueConstraint("call_id", "user_id", "terms_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    terms_sha256: Mapped[str] = mapped_column(String(64))
    terms: Mapped[str] = mapped_column(Text)  # the text accepted, word for word
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """Mail waiting to be delivered; kept until sent, retried on failure."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column()


# --- access visits (calls/visits.py) -------------------------------------------------------------------


class Visit(Base):
    """A running project's visit to one of its requested instruments: the slots the facility offers, the
    one the team books, the samples under safety review, the visitors, and their feedback afterwards."""

    __tablename__ = "visits"
    __table_args__ = (UniqueConstraint("application_id", "instrument_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(16), default="planning", index=True)  # planning|confirmed|done
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column()
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column()
    reminder_sent_at: Mapped[datetime | None] = mapped_column()

    slots: Mapped[list[VisitSlot]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="VisitSlot.starts_at"
    )
    samples: Mapped[list[VisitSample]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="VisitSample.id"
    )
    visitors: Mapped[list[Visitor]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Visitor.id"
    )


class VisitSlot(Base):
    """Instrument time offered to a project's visit (offered | booked | withdrawn)."""

    __tablename__ = "visit_slots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(80), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column()
    capacity: Mapped[int] = mapped_column(Integer, default=2)  # visitors on site at once
    notes: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="offered", index=True)
    offered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    offered_at: Mapped[datetime] = mapped_column(default=utcnow)
    booked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    booked_at: Mapped[datetime | None] = mapped_column()


class VisitInstrumentLock(Base):
    """One row per instrument, locked while a booking checks that instrument's time (no double booking)."""

    __tablename__ = "visit_instrument_locks"

    instrument_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    bookings: Mapped[int] = mapped_column(Integer, default=0)


class VisitSample(Base):
    """A sample the team brings, declared for the facility's safety review
    (draft | submitted | approved | changes)."""

    __tablename__ = "visit_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    biosafety_level: Mapped[int] = mapped_column(Integer, default=1)
    chemical_hazards: Mapped[list[Any]] = mapped_column(default=list)  # GHS hazard classes
    hazard_details: Mapped[str] = mapped_column(Text, default="")
    radioactive: Mapped[bool] = mapped_column(Boolean, default=False)
    radiation_details: Mapped[str] = mapped_column(Text, default="")
    human_material: Mapped[bool] = mapped_column(Boolean, default=False)
    ethics_reference: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(16), default="draft")
    submitted_at: Mapped[datetime | None] = mapped_column()
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Visitor(Base):
    """A person who comes on site; after the visit, asked for feedback by a single-use link."""

    __tablename__ = "visit_visitors"
    __table_args__ = (UniqueConstraint("visit_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    arrives_on: Mapped[date] = mapped_column(Date)
    departs_on: Mapped[date] = mapped_column(Date)
    feedback_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    feedback_sent_at: Mapped[datetime | None] = mapped_column()
    feedback_at: Mapped[datetime | None] = mapped_column()
    rating: Mapped[int | None] = mapped_column(Integer)
    feedback_comments: Mapped[str] = mapped_column(Text, default="")


class ProjectSolution(Base):
    """A solution a pilot developed (a method, protocol, tool, service, technology), declared by its team:
    the evidence behind the Interreg indicator RCO116, and with its uptakes behind RCR104."""

    __tablename__ = "project_solutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(Text, default="")
    uptake_plan: Mapped[str] = mapped_column(Text, default="")  # how others can take it up
    declared_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)

    uptakes: Mapped[list[SolutionUptake]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="SolutionUptake.happened_on"
    )


class SolutionUptake(Base):
    """An organisation (in the team or not) took up or up-scaled a pilot's solution, with the evidence."""

    __tablename__ = "solution_uptakes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    solution_id: Mapped[int] = mapped_column(
        ForeignKey("project_solutions.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # taken-up | up-scaled
    happened_on: Mapped[date] = mapped_column(Date)
    evidence: Mapped[str] = mapped_column(Text)
    evidence_url: Mapped[str | None] = mapped_column(String(500))
    declared_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)
