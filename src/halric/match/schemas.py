"""What the matchmaking API answers (``POST /api/match`` and its feedback), as response models.

Extra fields are refused (a field the service adds without its model fails the tests, not a client);
a technique's fields in the asker's language are present only when the answer has them (the route uses
``response_model_exclude_unset``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from halric.core.answers import Out

__all__ = ["FeedbackOut", "MatchOut"]


class TechniqueOut(Out):
    id: str
    label: str
    panet_iri: str | None
    alt_labels: list[str]
    summary: str | None = Field(description="What it does, in lay words (English)")
    cannot: str | None = Field(description="What it cannot do")
    samples: str | None = Field(description="What it needs of a sample")
    local_label: str | None = Field(default=None, description="The label in the question's language")
    local_summary: str | None = Field(default=None, description="The lay summary in the question's language")
    summary_language: str | None = Field(
        default=None, description="The language of local_label/local_summary"
    )


class InstrumentOut(Out):
    id: str
    name: str
    facility: str
    organisation: str
    country: str
    city: str
    status: str
    url: str
    contact: dict[str, Any] = Field(description="The instrument's contact, or its facility's")
    access_routes: list[str]


class ResultOut(Out):
    technique: TechniqueOut
    score: float = Field(description="0–1; how well the technique fits the question")
    why: str = Field(description="Why it was suggested, in the question's language where possible")
    instruments: list[InstrumentOut] = Field(description="Where it is offered, the asked-for country first")
    instruments_elsewhere: int = Field(description="How many more instruments offer it")
    in_preferred_country: bool | None = Field(
        description="Whether an instrument in the preferred country offers it; null when no country was asked "
        "for or named in the question"
    )


class ConsiderOut(Out):
    technique: TechniqueOut
    reason: str


class AmbassadorOut(Out):
    name: str
    countries: list[str]
    email: str | None
    organisation: str | None
    languages: list[str]
    orcid: str | None


class MatchOut(Out):
    elapsed_ms: float
    method: str = Field(description="lexical, embedding or combined")
    language: str = Field(description="The question's language (sv, da, de, nb, nn, en)")
    answer_language: str = Field(description="The language of the why sentences")
    preferred_country: str | None = Field(description="Asked for, or named in the question")
    no_good_match: bool
    message: str | None = Field(description="When no technique clearly fits: what to do next")
    results: list[ResultOut]
    consider_as_well: list[ConsiderOut]
    ambassadors: list[AmbassadorOut] = Field(
        description="People who help phrase the question or find contacts"
    )
    question: str
    query_id: int | None = Field(default=None, description="For feedback on a suggestion")


class FeedbackOut(Out):
    id: int
    query_id: int
    technique_id: str
    helpful: bool
