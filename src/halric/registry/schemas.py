"""Shapes of the registry's data files, validated on load (unknown keys are errors)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from halric.core.answers import Out
from halric.registry.vocab import (
    ACCESS_ROUTES,
    INFRA_KINDS,
    INSTRUMENT_KINDS,
    ORG_KINDS,
    SAMPLE_TYPES,
    STATUSES,
)

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
TechniqueId = Annotated[str, Field(pattern=r"^(PaNET\d+|halric:[a-z0-9][a-z0-9-]*)$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Location(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Contact(Strict):
    url: HttpUrl | None = None
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _check_vocab(values: list[str], allowed: object, what: str) -> list[str]:
    bad = [v for v in values if v not in allowed]  # type: ignore[operator]
    if bad:
        raise ValueError(f"unknown {what} {bad}; allowed: {', '.join(allowed)}")  # type: ignore[arg-type]
    return values


class OrganisationFile(Strict):
    id: Slug
    name: str = Field(min_length=2, max_length=300)
    short_name: str | None = None
    country: Country
    city: str | None = None
    kind: Literal[ORG_KINDS]  # type: ignore[valid-type]
    ror: str | None = Field(default=None, pattern=r"^https://ror\.org/0[a-z0-9]{6}\d{2}$")
    partner: bool = False
    funding_eligible: bool = False
    url: HttpUrl | None = None
    location: Location | None = None
    source: HttpUrl | None = None


class OrganisationsFile(Strict):
    organisations: list[OrganisationFile]


class Detector(Strict):
    name: str | None = None
    frame_pixels: tuple[int, int] | None = None
    bit_depth: int | None = Field(default=None, ge=1, le=64)
    max_frame_rate_hz: float | None = Field(default=None, gt=0)

    @field_validator("frame_pixels")
    @classmethod
    def _pixels(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and (v[0] <= 0 or v[1] <= 0):
            raise ValueError("frame_pixels must be two positive numbers [width, height]")
        return v


class Specs(Strict):
    energy_range: str | None = None
    wavelength_range: str | None = None
    resolution: str | None = None
    beam_size: str | None = None
    flux: str | None = None
    field_strength: str | None = None
    detector: Detector | None = None
    event_rate_hz: float | None = Field(default=None, gt=0)


class InstrumentFile(Strict):
    id: Slug
    name: str = Field(min_length=1, max_length=200)
    kind: Literal[INSTRUMENT_KINDS] | None = None  # type: ignore[valid-type]
    status: Literal[STATUSES]  # type: ignore[valid-type]
    techniques: list[TechniqueId] = Field(min_length=1)
    good_for: str = Field(min_length=20)
    typical_samples: list[str] = Field(default_factory=list)
    sample_types: list[str] = Field(default_factory=list)
    specs: Specs = Field(default_factory=Specs)
    access_routes: list[str] = Field(default_factory=list)
    url: HttpUrl
    contact: Contact | None = None
    source: HttpUrl

    @field_validator("sample_types")
    @classmethod
    def _samples(cls, v: list[str]) -> list[str]:
        return _check_vocab(v, SAMPLE_TYPES, "sample type")

    @field_validator("access_routes")
    @classmethod
    def _access(cls, v: list[str]) -> list[str]:
        return _check_vocab(v, ACCESS_ROUTES, "access route")

    @field_validator("techniques")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a technique is listed twice")
        return v


class InfrastructureFile(Strict):
    id: Slug
    name: str = Field(min_length=2, max_length=300)
    organisation: Slug
    partners: list[Slug] = Field(default_factory=list)
    kind: Literal[INFRA_KINDS]  # type: ignore[valid-type]
    country: Country
    city: str
    location: Location | None = None
    url: HttpUrl
    contact: Contact | None = None
    description: str = Field(min_length=20)
    access_routes: list[str] = Field(default_factory=list)
    source: HttpUrl
    instruments: list[InstrumentFile] = Field(default_factory=list)

    @field_validator("access_routes")
    @classmethod
    def _access(cls, v: list[str]) -> list[str]:
        return _check_vocab(v, ACCESS_ROUTES, "access route")


class ExtensionTechnique(Strict):
    id: TechniqueId
    label: str
    alt_labels: list[str] = Field(default_factory=list)
    parents: list[TechniqueId] = Field(default_factory=list)
    definition: str | None = None

    @field_validator("id")
    @classmethod
    def _ext(cls, v: str) -> str:
        if not v.startswith("halric:"):
            raise ValueError("extension technique ids start with 'halric:'")
        return v


class ExtensionFile(Strict):
    techniques: list[ExtensionTechnique]


class Knowledge(Strict):
    technique: TechniqueId
    summary: str
    answers: list[str] = Field(default_factory=list)
    lay_terms: list[str] = Field(default_factory=list)
    samples: str | None = None
    cannot: str | None = None
    complements: list[TechniqueId] = Field(default_factory=list)
    alt_labels: list[str] = Field(default_factory=list, description="extra labels for the technique")


class KnowledgeFile(Strict):
    knowledge: list[Knowledge]


# --- languages/<code>.yaml: the vocabulary matchmaking understands, and the answer's sentences ---------

ANSWER_TEXTS = ("named", "mentions", "answers_like", "no_match", "english_fallback")


class LanguageTechnique(Strict):
    names: list[str] = Field(default_factory=list, description="what the technique is called; first = label")
    terms: list[str] = Field(default_factory=list, description="lay words people use for what it does")
    summary: str | None = Field(default=None, description="one or two plain sentences, for the answer")


class LanguageFile(Strict):
    language: Literal["sv", "da", "de", "nb"]
    name: str
    reviewers: str = Field(min_length=10, description="who may review and change this file")
    texts: dict[str, str]
    function_words: list[str] = Field(default_factory=list)
    places: dict[Country, list[str]] = Field(default_factory=dict)
    words: dict[str, str] = Field(default_factory=dict, description="word or phrase -> English words")
    techniques: dict[TechniqueId, LanguageTechnique] = Field(default_factory=dict)

    @field_validator("texts")
    @classmethod
    def _texts(cls, v: dict[str, str]) -> dict[str, str]:
        missing = [k for k in ANSWER_TEXTS if not v.get(k)]
        unknown = [k for k in v if k not in ANSWER_TEXTS]
        if missing or unknown:
            raise ValueError(
                f"texts: give exactly {', '.join(ANSWER_TEXTS)} (missing {missing}, unknown {unknown})"
            )
        return v

    @field_validator("words")
    @classmethod
    def _words(cls, v: dict[str, str]) -> dict[str, str]:
        empty = [k for k, e in v.items() if not str(k).strip() or not str(e or "").strip()]
        if empty:
            raise ValueError(f"words: each entry needs a word and its English words (empty: {empty[:5]})")
        return {str(k): str(e) for k, e in v.items()}


SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


# --- what the registry API answers (web/routes/registry_api.py; the dicts of registry/service.py) ----------


class OrganisationOut(Out):
    id: str = Field(description="The organisation's id in the registry (ROR-based for partners)")
    name: str
    short_name: str | None
    country: str = Field(description="ISO 3166 alpha-2")
    city: str | None
    kind: str
    ror: str | None
    partner: bool = Field(description="A HALRIC partner")
    funding_eligible: bool
    url: str | None
    lat: float | None
    lon: float | None
    source: str | None


class OrganisationDetailOut(OrganisationOut):
    infrastructures: list[str] = Field(description="ids of its infrastructures")


class InfrastructureOut(Out):
    id: str
    name: str
    organisation: str
    partners: list[str]
    kind: str
    country: str
    city: str
    lat: float | None
    lon: float | None
    url: str
    contact: dict[str, Any]
    description: str
    access_routes: list[str]
    source: str


class InstrumentOut(Out):
    id: str
    name: str
    infrastructure: str
    organisation: str
    country: str
    city: str
    techniques: list[str] = Field(description="technique ids (PaNET or halric:)")
    status: str
    url: str
    kind: str | None
    good_for: str
    typical_samples: list[str]
    sample_types: list[str]
    specs: dict[str, Any]
    access_routes: list[str]
    contact: dict[str, Any]
    source: str


class InfrastructureDetailOut(InfrastructureOut):
    instruments: list[InstrumentOut]


class TechniqueOut(Out):
    id: str
    label: str
    alt_labels: list[str]
    panet_iri: str | None
    parents: list[str]
    vocabulary: str = Field(description="panet | halric")
    definition: str | None
    knowledge: dict[str, Any] | None = Field(description="Lay summary, questions it answers, samples, limits")


class TechniqueListItemOut(TechniqueOut):
    instrument_count: int


class TechniqueDetailOut(TechniqueOut):
    children: list[str]
    instruments: list[InstrumentOut]


class ExpertOut(Out):
    display_name: str
    organisation: str | None
    techniques: list[str]
    sample_types: list[str]
    languages: list[str]
    countries_served: list[str]
    bio: str
    contact_email: str | None
    orcid: str | None


class _Page(Out):
    total: int
    limit: int
    offset: int


class OrganisationPage(_Page):
    items: list[OrganisationOut]


class InfrastructurePage(_Page):
    items: list[InfrastructureOut]


class InstrumentPage(_Page):
    items: list[InstrumentOut]


class TechniquePage(_Page):
    items: list[TechniqueListItemOut]
