"""What the calls API answers with: one model per shape, so the OpenAPI document describes each answer and
a reply that drifts from its shape fails (``extra="forbid"``) instead of reaching a client unannounced.

Amounts are decimal strings ("12500.00"), dates ISO 8601 strings, as the API always sent them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallOut(Out):
    id: int
    slug: str
    title: str
    text: str
    opens_on: str
    deadline: str | None
    cutoffs: list[Any] = Field(description="Rolling intake: the cut-off dates (ISO 8601)")
    budget_ceiling: str
    currency: str
    duration_months: int
    criteria: list[dict[str, Any]] = Field(description="Review criteria: key, label, weight")
    rules: list[dict[str, Any]] = Field(description="Eligibility rules, as data")
    open: bool
    funder_name: str | None
    award_number: str | None
    storage_rate_per_tb: str | None
    data_costs_fundable: bool
    confidentiality_terms: str
    confidentiality_terms_sha256: str


class TeamMemberOut(Out):
    name: str
    email: str
    organisation_id: str | None
    country: str | None
    sector: str | None
    role: str | None


class BudgetLineOut(Out):
    organisation_id: str | None
    cost_type: str
    description: str
    person_months: str | None
    monthly_cost: str | None
    storage_tb: str | None
    rate_per_tb: str | None
    amount: str


class InKindOut(Out):
    organisation_id: str | None
    description: str
    amount: str


class CoApplicantOut(Out):
    id: int
    email: str
    accepted: bool


class ApplicationOut(Out):
    id: int
    call_id: int
    state: str
    state_label: str
    version: int = Field(description="Send it back when saving: a save over a newer version is refused")
    title: str
    lay_summary: str
    research_question: str
    instruments: list[Any]
    work_plan: str
    timeline: str
    duration_months: int | None
    impact: str
    data_management: str
    motivations: dict[str, Any] = Field(description="Eligibility rule id → the applicants' motivation")
    team: list[TeamMemberOut]
    budget: list[BudgetLineOut]
    budget_total: str
    in_kind: list[InKindOut]
    cutoff: str | None
    submitted_at: str | None
    your_roles: list[str]
    next_states: list[str]
    co_applicants: list[CoApplicantOut]
    confidential: bool
    public_summary: str
    redacted: bool = Field(description="True: a confidential application shown without its content")
    excluded_organisations: list[Any]


class RuleResultOut(Out):
    id: str
    label: str
    status: str = Field(description="pass, fail, warn or motivated")
    reason: str
    severity: str
    motivation_allowed: bool


class SubmittedOut(ApplicationOut):
    eligibility: list[RuleResultOut]


class EligibilityOut(Out):
    eligible: bool
    results: list[RuleResultOut]
    redacted: bool | None = None


class RankedOut(Out):
    application_id: int
    title: str | None
    state: str | None
    mean: str | None
    spread: str | None
    reviews: int | None
    missing: int | None
    conflicts: int | None
    excluded: str | None = Field(description="Set when you are in conflict with it: nothing else is shown")


class InvitationOut(Out):
    id: int
    email: str
    kind: str


class AcceptedOut(Out):
    application_id: int


class CommentOut(Out):
    id: int
    author: str
    text: str


class FeasibilityOut(Out):
    infrastructure_id: str
    verdict: str


class ReviewOut(Out):
    conflict: bool
    scores: dict[str, Any]


class ConflictLiftedOut(Out):
    application_id: int
    member_id: int
    conflict: bool


class DecisionOut(Out):
    outcome: str
    application_id: int


class ProjectStartedOut(Out):
    application_id: int
    started_on: str | None
    ends_on: str | None
    group: str
    proposal_id: str


class FollowUpOut(Out):
    milestones: list[Any]
    publications: list[Any]
    cost_claims: list[Any]


class FinalReportOut(Out):
    application_id: int
    state: str
    publications: list[Any]
    datasets: list[Any]


class CoApplicantRemovedOut(Out):
    application_id: int
    removed: int


class TermsOut(Out):
    call_id: int
    terms: str
    terms_sha256: str
    accepted_at: str | None


class TermsAcceptedOut(Out):
    call_id: int
    terms_sha256: str
    accepted_at: str


class ExcludedPersonOut(Out):
    username: str
    name: str | None
    reason: str


class ExclusionsOut(Out):
    organisations: list[Any]
    people: list[ExcludedPersonOut]


class UptakeOut(Out):
    organisation_id: str | None
    kind: str
    happened_on: str
    evidence: str | None
    evidence_url: str | None


class SolutionOut(Out):
    id: int
    title: str
    kind: str
    description: str | None
    uptake_plan: str | None
    declared_at: str
    uptakes: list[UptakeOut]
