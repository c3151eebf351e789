"""The JSON shapes of the project API (``/api/projects``): what ``service`` returns, as response models.

Extra fields are refused (a field added to the service without its model fails the tests, not a client);
optional fields the service leaves out (an ORCID iD, a ROR id, a redacted project's summary) stay absent
in the answer (the routes use ``response_model_exclude_unset``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from halric.core.answers import Out

__all__ = ["DataCountriesOut", "ProjectListItemOut", "ProjectOut"]


class ProjectListItemOut(Out):
    application_id: int
    title: str | None
    state: str
    state_label: str
    your_roles: list[str]
    proposal_id: str | None


class CallRefOut(Out):
    id: int
    title: str
    funder_name: str | None
    award_number: str | None


class AffiliationOut(Out):
    name: str | None = None
    ror: str | None = None


class CreditOut(Out):
    name: str
    affiliation: AffiliationOut
    orcid: str | None = Field(
        default=None, description="Only when the person's account has a confirmed ORCID iD"
    )


class MemberOut(Out):
    username: str
    name: str
    organisation: str | None
    reasons: list[str] = Field(description="Why the person is in the project's group")


class InstrumentRefOut(Out):
    id: str
    name: str
    facility: str


class TechniqueRefOut(Out):
    id: str
    label: str
    iri: str | None = None


class ProjectDatasetOut(Out):
    pid: str
    name: str
    size: int | None
    files: int | None
    embargo_until: str | None
    never_release: bool
    published: bool
    creation_time: str | None
    owner_group: str | None


class PublishedRefOut(Out):
    doi: str
    title: str | None
    status: str | None


class FinalReportRefOut(Out):
    submitted: bool
    publications: list[Any]
    datasets: list[Any]


class ProjectOut(Out):
    application_id: int
    title: str | None
    state: str
    state_label: str
    call: CallRefOut
    started_on: str | None
    ends_on: str | None
    group: str | None
    proposal_id: str | None
    ingest_hint: str | None
    team: list[CreditOut]
    members: list[MemberOut]
    instruments: list[InstrumentRefOut]
    techniques: list[TechniqueRefOut] = Field(description="PaNET techniques of the project's instruments")
    datasets: list[ProjectDatasetOut] = Field(description="The project's datasets you may read")
    publications: list[Any]
    published_data: list[PublishedRefOut]
    may_publish: bool
    milestones: list[Any]
    final_report: FinalReportRefOut
    closure_missing: list[str] = Field(description="What closing the project still waits for")
    your_roles: list[str]
    redacted: bool = Field(description="A confidential project whose terms you have not accepted")
    summary: str | None = Field(default=None, description="Only for a redacted project: its public summary")


class DataCountriesOut(Out):
    allowedCountries: list[str] | None = Field(description="ISO 3166 alpha-2 codes; null: no restriction")
