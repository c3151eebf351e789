"""Validated input for calls and applications (HTTP and CLI edges), and the shapes the calls API answers with."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from halric.core.answers import Out
from halric.core.values import Moment

SECTORS = ("industry", "hospital", "academia")
# the programme that funds HALRIC's pilots: a call's default funder (DataCite fundingReference)
DEFAULT_FUNDER = "Interreg Öresund-Kattegat-Skagerrak"
COST_TYPES = ("employment", "equipment", "travel", "consumables", "data-storage", "other")
DATA_STORAGE = "data-storage"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Criterion(Strict):
    key: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    label: str = Field(min_length=2, max_length=200)
    weight: Decimal = Field(gt=0, le=100)


DEFAULT_CRITERIA = [
    {"key": "excellence", "label": "Scientific and technical quality", "weight": "40"},
    {"key": "impact", "label": "Impact for industry or clinic", "weight": "40"},
    {"key": "collaboration", "label": "Cross-border collaboration and use of infrastructure", "weight": "20"},
]


class CallInput(Strict):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,79}$")
    title: str = Field(min_length=3, max_length=300)
    text: str = Field(default="", max_length=20000)
    opens_on: date
    deadline: date | None = None
    cutoffs: list[date] = Field(default_factory=list)
    budget_ceiling: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    duration_months: int = Field(default=6, ge=1, le=60)
    funder_name: str = Field(default=DEFAULT_FUNDER, min_length=2, max_length=300)
    award_number: str = Field(default="", max_length=100)
    storage_rate_per_tb: Decimal | None = Field(
        default=None, ge=0, max_digits=14, decimal_places=2,
        description="What storing one TB of (compressed) data for a project costs; empty: no data-storage lines",
    )  # fmt: skip
    data_costs_fundable: bool = Field(
        default=False, description="Data-storage lines may be requested (otherwise only in kind)"
    )
    confidentiality_terms: str = Field(
        default="",
        max_length=20000,
        description="Terms readers of confidential applications accept; empty: the hub's",
    )
    criteria: list[Criterion] = Field(default_factory=lambda: [Criterion(**c) for c in DEFAULT_CRITERIA])
    rules: list[dict[str, Any]] | None = None  # None: HALRIC's default rules

    @field_validator("cutoffs")
    @classmethod
    def _sorted(cls, v: list[date]) -> list[date]:
        return sorted(set(v))


class TeamMemberIn(Strict):
    name: str = Field(min_length=2, max_length=200)
    email: str = Field(default="", max_length=320)
    organisation_id: str = Field(min_length=1, max_length=64)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    sector: str
    role: str = Field(default="", max_length=100)

    @field_validator("sector")
    @classmethod
    def _sector(cls, v: str) -> str:
        if v not in SECTORS:
            raise ValueError("choose the sector: " + ", ".join(SECTORS))
        return v


class BudgetLineIn(Strict):
    """A requested line: person-months × monthly cost, or for data storage the TB to store (the rate per TB
    is the call's, filled in by the hub)."""

    organisation_id: str = Field(min_length=1, max_length=64)
    cost_type: str = "employment"
    description: str = Field(default="", max_length=300)
    person_months: Decimal | None = Field(
        default=None, ge=0, le=1000, max_digits=8, decimal_places=2, validate_default=True
    )
    monthly_cost: Decimal | None = Field(
        default=None, ge=0, max_digits=14, decimal_places=2, validate_default=True
    )
    storage_tb: Decimal | None = Field(
        default=None, ge=0, le=100000, max_digits=12, decimal_places=3, validate_default=True
    )

    @field_validator("cost_type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in COST_TYPES:
            raise ValueError(f"use one of {', '.join(COST_TYPES)}")
        return v

    @field_validator("person_months", "monthly_cost", "storage_tb", mode="after")
    @classmethod
    def _quantity(cls, v: Decimal | None, info: ValidationInfo) -> Decimal | None:
        storage = info.data.get("cost_type") == DATA_STORAGE
        if info.field_name == "storage_tb":
            if storage and v is None:
                raise ValueError("give the terabytes to store (Plan the data computes them)")
            return v if storage else None
        if not storage and v is None:
            raise ValueError(
                f"give the {'person-months' if info.field_name == 'person_months' else 'monthly cost'}"
            )
        return None if storage else v


class InKindIn(Strict):
    organisation_id: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=2, max_length=300)
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)


# addresses anyone can have: naming one would exclude half the reviewers, not a competitor
PUBLIC_MAIL = {
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com",
    "me.com", "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com", "mail.com", "aol.com",
}  # fmt: skip
DOMAIN_SHAPE = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ExcludedOrganisationIn(Strict):
    """An organisation whose staff must not review the application: a registry organisation
    (``organisation_id``, or its ROR id), or one the registry does not know (``name``, and the ``domain`` of
    its staff's e-mail addresses, without which only the name is recorded)."""

    organisation_id: str | None = Field(default=None, max_length=64)
    ror: str | None = None
    domain: str | None = Field(default=None, max_length=253)
    name: str = Field(default="", max_length=300, validate_default=True)

    @field_validator("organisation_id", mode="before")
    @classmethod
    def _oid(cls, v: Any) -> Any:
        return (v.strip() or None) if isinstance(v, str) else v

    @field_validator("ror", mode="before")
    @classmethod
    def _ror(cls, v: Any) -> Any:
        return normalise_ror(v)

    @field_validator("domain", mode="before")
    @classmethod
    def _domain(cls, v: Any) -> Any:
        """``staff@acme.com``, ``@acme.com``, ``https://www.acme.com/`` or ``acme.com`` → ``acme.com``."""
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        text = str(v).strip().lower().rpartition("@")[2]
        text = text.removeprefix("https://").removeprefix("http://").split("/")[0].removeprefix("www.")
        if not DOMAIN_SHAPE.match(text):
            raise ValueError("write the domain of its staff's e-mail addresses, e.g. acme.com")
        if text in PUBLIC_MAIL:
            raise ValueError(f"{text} is a public mail service, not an organisation's domain")
        return text

    @field_validator("name")
    @classmethod
    def _named(cls, v: str, info: ValidationInfo) -> str:
        if not (info.data.get("organisation_id") or info.data.get("ror") or len(v) >= 2):
            raise ValueError("choose the organisation from the list, or write its name")
        return v


class ApplicationInput(Strict):
    """A whole draft; saving replaces the stored draft when ``version`` matches."""

    version: int = Field(
        ge=1, description="The version you edited; a newer stored version means someone else saved"
    )
    title: str = Field(default="", max_length=300)
    lay_summary: str = Field(default="", max_length=5000)
    research_question: str = Field(default="", max_length=5000)
    instruments: list[str] = Field(default_factory=list, max_length=30)
    work_plan: str = Field(default="", max_length=20000)
    timeline: str = Field(default="", max_length=5000)
    duration_months: int | None = Field(default=None, ge=1, le=60)
    impact: str = Field(default="", max_length=10000)
    data_management: str = Field(default="", max_length=10000)
    motivations: dict[str, str] = Field(default_factory=dict)
    team: list[TeamMemberIn] = Field(default_factory=list, max_length=50)
    budget: list[BudgetLineIn] = Field(default_factory=list, max_length=50)
    in_kind: list[InKindIn] = Field(default_factory=list, max_length=50)
    confidential: bool = Field(
        default=False, description="A confidential (industrial) pilot: readers accept the call's terms first"
    )
    public_summary: str = Field(
        default="", max_length=5000, description="Shown instead of a confidential application's content"
    )
    excluded_organisations: list[ExcludedOrganisationIn] = Field(default_factory=list, max_length=20)


class ReviewInput(Strict):
    scores: dict[str, int] = Field(default_factory=dict)
    comments: str = Field(default="", max_length=10000)
    conflict: bool = False
    conflict_reason: str = Field(default="", max_length=2000)

    @field_validator("scores")
    @classmethod
    def _range(cls, v: dict[str, int]) -> dict[str, int]:
        for k, x in v.items():
            if not 1 <= x <= 5:
                raise ValueError(f"score for {k!r} must be 1–5")
        return v


ORGANISATION_SECTORS = {
    "company": "Company",
    "sme": "Small or medium-sized company (SME)",
    "hospital": "Hospital or clinic",
    "public-body": "Public body or agency",
    "university": "University or research institute",
}
ROR_SHAPE = re.compile(r"^0[a-z0-9]{6}[0-9]{2}$")


class NewOrganisationInline(Strict):
    """An organisation outside the partnership, named in the application form (never funded)."""

    name: str = Field(min_length=2, max_length=300)
    country: str = Field(pattern=r"^[A-Z]{2}$")
    kind: str = "company"
    ror: str | None = None

    @field_validator("country", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in ORGANISATION_SECTORS:
            raise ValueError("choose one of: " + ", ".join(ORGANISATION_SECTORS.values()).lower())
        return v

    @field_validator("ror", mode="before")
    @classmethod
    def _ror(cls, v: Any) -> Any:
        return normalise_ror(v)


def normalise_ror(v: Any) -> Any:
    """Accept ``https://ror.org/0abcde123``, ``ror.org/…`` or the bare id; store the full URL."""
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    text = str(v).strip().lower().removeprefix("https://").removeprefix("http://").removeprefix("ror.org/")
    if not ROR_SHAPE.match(text):
        raise ValueError(
            "a ROR id looks like https://ror.org/012abc345 (0, six letters or digits, two digits); "
            "leave it empty if you do not know it"
        )
    return f"https://ror.org/{text}"


# --- access visits (calls/visits.py) -------------------------------------------------------------------

SAMPLE_KINDS = {
    "protein": "Protein or peptide",
    "nucleic-acid": "DNA or RNA",
    "cells": "Cultured cells",
    "tissue": "Tissue",
    "body-fluid": "Blood, serum or another body fluid",
    "microorganism": "Microorganism or virus",
    "small-molecule": "Small molecule or drug compound",
    "material": "Material or powder (not biological)",
    "other": "Other",
}
# the GHS hazard classes (pictograms GHS01–GHS09) a safety form asks about
CHEMICAL_HAZARDS = {
    "explosive": "Explosive (GHS01)",
    "flammable": "Flammable (GHS02)",
    "oxidising": "Oxidising (GHS03)",
    "gas-under-pressure": "Gas under pressure (GHS04)",
    "corrosive": "Corrosive (GHS05)",
    "acute-toxic": "Acutely toxic (GHS06)",
    "harmful": "Harmful or irritant (GHS07)",
    "health-hazard": "Carcinogenic, mutagenic, toxic to reproduction or sensitising (GHS08)",
    "environment": "Hazardous to the environment (GHS09)",
}


class SlotIn(Strict):
    """Instrument time offered to a project. Times without an offset are local time at the facilities."""

    instrument_id: str = Field(min_length=1, max_length=80)
    starts_at: Moment
    ends_at: Moment
    capacity: int = Field(default=2, ge=1, le=50, description="How many visitors can be on site at once")
    notes: str = Field(default="", max_length=2000)


class SampleIn(Strict):
    name: str = Field(min_length=2, max_length=200)
    kind: str
    quantity: str = Field(default="", max_length=100)
    description: str = Field(default="", max_length=2000)
    biosafety_level: int = Field(default=1, ge=1, le=4, description="Biosafety level, 1 to 4")
    chemical_hazards: list[str] = Field(default_factory=list, max_length=len(CHEMICAL_HAZARDS))
    hazard_details: str = Field(default="", max_length=2000)
    radioactive: bool = False
    radiation_details: str = Field(default="", max_length=1000)
    human_material: bool = False
    ethics_reference: str = Field(
        default="", max_length=200, description="The ethics approval covering human material (required then)"
    )

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in SAMPLE_KINDS:
            raise ValueError("choose one of: " + ", ".join(SAMPLE_KINDS.values()).lower())
        return v

    @field_validator("chemical_hazards")
    @classmethod
    def _hazards(cls, v: list[str]) -> list[str]:
        unknown = [h for h in v if h not in CHEMICAL_HAZARDS]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a hazard class; use " + ", ".join(CHEMICAL_HAZARDS))
        return sorted(set(v), key=list(CHEMICAL_HAZARDS).index)


class VisitorIn(Strict):
    name: str = Field(min_length=2, max_length=200)
    organisation_id: str = Field(min_length=1, max_length=64)
    email: str = Field(min_length=3, max_length=320)
    arrives_on: date
    departs_on: date


class SafetyReviewIn(Strict):
    decision: str = Field(description="approve, or changes (ask the team to change the declaration)")
    comment: str = Field(default="", max_length=5000)


class FeedbackIn(Strict):
    rating: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent)")
    comments: str = Field(default="", max_length=10000)


# --- solutions a pilot developed and their uptake (calls/solutions.py; Interreg RCO116, RCR104) -------------

SOLUTION_KINDS = {
    "method": "Method or analysis workflow",
    "protocol": "Protocol or procedure (e.g. sample preparation)",
    "tool": "Software or tool",
    "service": "Service",
    "technology": "Technology or device",
    "other": "Other",
}
UPTAKE_KINDS = {"taken-up": "taken up", "up-scaled": "up-scaled"}


class SolutionInput(Strict):
    """A solution the pilot developed (RCO116): what it is and how others can take it up."""

    title: str = Field(min_length=3, max_length=300)
    kind: str = "method"
    description: str = Field(default="", max_length=5000)
    uptake_plan: str = Field(
        min_length=10, max_length=5000, description="How other organisations can take it up or scale it up"
    )

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in SOLUTION_KINDS:
            raise ValueError("choose one of: " + ", ".join(SOLUTION_KINDS))
        return v


class UptakeInput(Strict):
    """An organisation took up or up-scaled a solution (RCR104), with the evidence that shows it."""

    organisation_id: str = Field(min_length=1, max_length=64)
    kind: str = "taken-up"
    happened_on: date
    evidence: str = Field(min_length=10, max_length=5000)
    evidence_url: str | None = Field(default=None, max_length=500)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in UPTAKE_KINDS:
            raise ValueError("choose taken-up or up-scaled")
        return v

    @field_validator("evidence_url", mode="before")
    @classmethod
    def _url(cls, v: Any) -> Any:
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        text = str(v).strip()
        if not re.match(r"^https?://[^\s/]+\.[^\s]+$", text):
            raise ValueError("give a web address starting with https://, or leave it empty")
        return text


# --- what the calls API answers with: one model per shape, so the OpenAPI document describes each answer
# and a reply that drifts from its shape fails (``extra="forbid"``) instead of reaching a client
# unannounced. Amounts are decimal strings ("12500.00"), dates ISO 8601 strings, as the API always sent them.


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


# --- access visits (web/routes/visits_api.py; the dicts of calls/visit_views.py) ---------------------------


class SlotOut(Out):
    id: int
    instrument_id: str
    starts_at: str = Field(description="ISO 8601, UTC")
    ends_at: str = Field(description="ISO 8601, UTC")
    local: str = Field(description="The slot in the facility's local time, as people read it")
    capacity: int = Field(description="Visitors on site at once")
    notes: str
    state: str = Field(description="offered | booked | withdrawn")
    status: str | None = Field(
        default=None,
        description="Only when it differs from the state: taken (the time is booked by another project)",
    )


class SampleOut(Out):
    id: int
    name: str
    kind: str
    quantity: str
    description: str
    biosafety_level: int
    chemical_hazards: list[str] = Field(description="GHS hazard classes")
    hazard_details: str
    radioactive: bool
    radiation_details: str
    human_material: bool
    ethics_reference: str
    state: str = Field(description="draft | submitted | approved | changes")
    review_comment: str


class VisitorOut(Out):
    id: int
    name: str
    organisation_id: str
    email: str
    arrives_on: str
    departs_on: str
    feedback_asked: bool
    feedback_given: bool
    rating: int | None = Field(default=None, description="Only for the instrument's staff and coordinators")
    feedback_comments: str | None = Field(
        default=None, description="Only for the instrument's staff and coordinators"
    )


class ReadinessOut(Out):
    key: str
    ok: bool
    text: str


class VisitOut(Out):
    id: int
    instrument_id: str
    instrument: str
    state: str
    state_label: str
    confirmed_at: str | None
    done_at: str | None
    slots: list[SlotOut]
    samples: list[SampleOut]
    visitors: list[VisitorOut]
    ready: list[ReadinessOut] = Field(description="What confirming the visit waits for")
    you_are_staff: bool


class VisitsOverviewOut(Out):
    application_id: int
    title: str | None
    project_state: str
    your_roles: list[str]
    feedback_complete: bool
    visits: list[VisitOut]


class CalendarSlotOut(SlotOut):
    application_id: int
    project: str
    instrument: str
    status_label: str
    visitors: int = Field(description="How many people are registered for the visit")


class CalendarOut(Out):
    week: str = Field(description="ISO week, e.g. 2027-W09")
    starts_on: str
    slots: list[CalendarSlotOut]
