"""SciCat DTOs at the catalog's edge: strict input models (unknown fields refused) and output shapes.

Input accepts both SciCat generations: the current one (``proposalIds``, ``principalInvestigators``,
``relationships`` on attachments) and the legacy v3 one (``proposalId``, ``principalInvestigator``,
``datasetId`` on attachments). Output is the current shape; `/api/v3` adds v3's singular fields at the edge
(``halric.web.scicat_v3``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
)

from halric.core import values
from halric.core.errors import InvalidInput

EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")

# Read-only fields that clients echo back (pyscicat sends whole models on PATCH): accepted, ignored.
READ_ONLY = {
    "createdBy",
    "createdAt",
    "updatedBy",
    "updatedAt",
    "version",
    "history",
    "datasetlifecycle",
    "_id",
}


def _emails(value: str | None, field: str) -> str | None:
    if value is None:
        return value
    parts = [p.strip() for p in re.split(r"[;,]", value) if p.strip()]
    if not parts or not all(EMAIL.match(p) for p in parts):
        raise ValueError("must be an e-mail address (several may be separated by ';')")
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TechniqueIn(_In):
    pid: StrictStr = Field(min_length=1, max_length=300)
    name: StrictStr = Field(min_length=1, max_length=300)


class RelationshipIn(_In):
    pid: StrictStr = Field(min_length=1)
    relationship: StrictStr = Field(min_length=1)


Str = StrictStr  # NUL characters, non-finite numbers and deep nesting are refused in parse()
Strs = list[StrictStr]
NonNegativeInt = values.Count  # fits a BIGINT column
StrictInt = Annotated[int, Field(strict=True, ge=-values.MAX_INT, le=values.MAX_INT)]
Moment = values.Moment

# Words the routes read after a pid (``/datasets/{pid}/origdatablocks``) or in place of one: a pid that
# ends in or equals one of them could be stored but never addressed again.
PID_SUFFIXES = ("origdatablocks", "attachments", "datablocks", "files", "download", "download.zip", "jsonld")
PID_RESERVED = ("fullquery", "fullfacet", "count", "findone", "isvalid", "public")
DOI_SUFFIXES = ("publish", "register", "metadata", "datacite")


def check_pid(value: str | None, suffixes: tuple[str, ...] = PID_SUFFIXES) -> str | None:
    """A pid every route can address: no control characters or surrounding spaces, no '/' at either end,
    no '..' segment, not ending in a word the API adds after a pid, not a route's own word."""
    if value is None:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value) or value != value.strip():
        raise ValueError("must not contain control characters or start or end with spaces")
    segments = value.split("/")
    if not value or value.startswith("/") or value.endswith("/") or any(s in (".", "..") for s in segments):
        raise ValueError("must not start or end with '/' or contain '.' or '..' segments")
    if segments[-1].lower() in suffixes:
        raise ValueError(
            f"must not end in /{segments[-1]}: the API reads that word after a pid "
            f"({', '.join(suffixes)}), so the record could not be addressed"
        )
    if value.lower() in PID_RESERVED or (segments[0].lower() == "public" and len(segments) > 1):
        raise ValueError(f"{value!r} is a word of the API's own addresses, not a usable pid")
    return value


class DatasetIn(_In):
    pid: Str | None = Field(default=None, max_length=255)
    type: Literal["raw", "derived"] | None = None
    datasetName: Str | None = Field(default=None, max_length=500)
    description: Str | None = None
    owner: Str | None = Field(default=None, min_length=1, max_length=200)
    ownerEmail: Str | None = None
    orcidOfOwner: Str | None = Field(default=None, max_length=200)
    contactEmail: Str | None = None
    ownerGroup: Str | None = Field(default=None, min_length=1, max_length=150)
    accessGroups: Strs | None = None
    instrumentGroup: Str | None = Field(default=None, max_length=150)
    sharedWith: Strs | None = None
    sourceFolder: Str | None = Field(default=None, min_length=1, max_length=1000)
    sourceFolderHost: Str | None = Field(default=None, max_length=300)
    creationLocation: Str | None = Field(default=None, max_length=300)
    creationTime: Moment | None = None
    startTime: Moment | None = None
    endTime: Moment | None = None
    dataFormat: Str | None = Field(default=None, max_length=200)
    size: NonNegativeInt | None = None
    packedSize: NonNegativeInt | None = None
    numberOfFiles: NonNegativeInt | None = None
    numberOfFilesArchived: NonNegativeInt | None = None
    principalInvestigators: Strs | None = None
    principalInvestigator: Str | None = None
    investigator: Str | None = None
    keywords: Strs | None = None
    techniques: list[TechniqueIn] | None = None
    scientificMetadata: dict[str, Any] | None = None
    scientificMetadataSchema: Str | None = Field(default=None, max_length=500)
    scientificMetadataValid: StrictBool | None = None
    proposalIds: Strs | None = None
    proposalId: Str | None = None
    sampleIds: Strs | None = None
    sampleId: Str | None = None
    instrumentIds: Strs | None = None
    instrumentId: Str | None = None
    inputDatasets: Strs | None = None
    usedSoftware: Strs | None = None
    jobParameters: dict[str, Any] | None = None
    jobLogData: Str | None = None
    license: Str | None = Field(default=None, max_length=300)
    classification: Str | None = Field(default=None, max_length=200)
    comment: Str | None = None
    dataQualityMetrics: StrictInt | None = None
    runNumber: Str | None = Field(default=None, max_length=100)
    validationStatus: Str | None = Field(default=None, max_length=200)
    relationships: list[RelationshipIn] | None = None
    isPublished: StrictBool | None = None
    embargoUntil: Moment | None = None

    @field_validator("contactEmail", "ownerEmail")
    @classmethod
    def _check_emails(cls, v: str | None, info: Any) -> str | None:
        return _emails(v, info.field_name)

    @field_validator("pid")
    @classmethod
    def _check_pid(cls, v: str | None) -> str | None:
        return check_pid(v)

    @field_validator("scientificMetadata")
    @classmethod
    def _check_units(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        for key, item in (v or {}).items():
            if isinstance(item, dict) and "unit" in item and not isinstance(item["unit"], str | None):
                raise ValueError(f"{key}.unit must be a string such as 'K' or 'mm'")
        return v

    @field_validator("creationTime", "startTime", "endTime", "embargoUntil")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        return None if v is None else (v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC))


DATASET_REQUIRED = ("type", "ownerGroup", "owner", "contactEmail", "sourceFolder", "creationTime")


class DataFileIn(_In):
    path: Str = Field(min_length=1, max_length=4096)
    size: NonNegativeInt
    time: Moment | None = None
    chk: Str | None = None
    uid: Str | StrictInt | None = None
    gid: Str | StrictInt | None = None
    perm: Str | StrictInt | None = None
    type: Str | None = None  # SciCat accepts file/directory hints


class OrigDatablockIn(_In):
    datasetId: Str | None = None
    size: NonNegativeInt
    chkAlg: Str | StrictInt | None = None
    dataFileList: list[DataFileIn]
    ownerGroup: Str | None = None
    accessGroups: Strs | None = None
    instrumentGroup: Str | None = None
    isPublished: StrictBool | None = None


class AttachmentRelationshipIn(_In):
    targetId: Str = Field(min_length=1)
    targetType: Literal["dataset", "proposal", "sample", "published_data"]
    relationType: Str = "is attached to"


class AttachmentIn(_In):
    aid: Str | None = Field(default=None, max_length=64)
    id: Str | None = Field(default=None, max_length=64)
    caption: Str = ""
    thumbnail: Str | None = None
    ownerGroup: Str | None = None
    accessGroups: Strs | None = None
    instrumentGroup: Str | None = None
    isPublished: StrictBool | None = None
    relationships: list[AttachmentRelationshipIn] | None = None
    datasetId: Str | None = None
    rawDatasetId: Str | None = None
    derivedDatasetId: Str | None = None
    sampleId: Str | None = None
    proposalId: Str | None = None


class SampleIn(_In):
    sampleId: Str | None = Field(default=None, max_length=255)
    sampleName: Str | None = Field(default=None, max_length=300)
    owner: Str | None = None
    ownerGroup: Str | None = Field(default=None, min_length=1, max_length=150)
    accessGroups: Strs | None = None
    instrumentGroup: Str | None = None
    description: Str | None = None
    sampleCharacteristics: dict[str, Any] | None = None
    proposalId: Str | None = None
    parentSampleId: Str | None = None
    type: Str | None = None
    isPublished: StrictBool | None = None
    # legacy links some clients send; the dataset holds the link in the current model
    datasetsId: Str | None = None
    datasetId: Str | None = None
    rawDatasetId: Str | None = None
    derivedDatasetId: Str | None = None


class MeasurementPeriodIn(_In):
    id: Str | None = None
    start: Moment
    end: Moment
    instrument: Str
    comment: Str | None = None


class ProposalIn(_In):
    proposalId: Str | None = Field(default=None, min_length=1, max_length=255)
    title: Str | None = Field(default=None, max_length=500)
    abstract: Str | None = None
    email: Str | None = None
    firstname: Str | None = None
    lastname: Str | None = None
    pi_email: Str | None = None
    pi_firstname: Str | None = None
    pi_lastname: Str | None = None
    ownerGroup: Str | None = Field(default=None, min_length=1, max_length=150)
    accessGroups: Strs | None = None
    instrumentGroup: Str | None = None
    startTime: Moment | None = None
    endTime: Moment | None = None
    type: Str | None = None
    parentProposalId: Str | None = None
    metadata: dict[str, Any] | None = None
    MeasurementPeriodList: list[MeasurementPeriodIn] | None = None
    measurementPeriodList: list[MeasurementPeriodIn] | None = None
    isPublished: StrictBool | None = None
    pilotProjectId: Str | None = None
    embargoYears: NonNegativeInt | None = Field(default=None, le=100)
    neverRelease: StrictBool | None = None

    @field_validator("email", "pi_email")
    @classmethod
    def _check_emails(cls, v: str | None, info: Any) -> str | None:
        return _emails(v, info.field_name)


class InstrumentIn(_In):
    pid: Str | None = Field(default=None, max_length=255)
    uniqueName: Str | None = Field(default=None, max_length=255)
    name: Str | None = Field(default=None, min_length=1, max_length=300)
    customMetadata: dict[str, Any] | None = None


class PublishedDataIn(_In):
    doi: Str | None = Field(default=None, max_length=255)
    title: Str | None = Field(default=None, min_length=1, max_length=500)
    abstract: Str | None = None
    dataDescription: Str | None = None
    resourceType: Str | None = None
    creator: Strs | None = None
    publisher: Str | None = None
    publicationYear: StrictInt | None = None
    affiliation: Str | None = None
    authors: Strs | None = None
    pidArray: Strs | None = None
    url: Str | None = None
    numberOfFiles: NonNegativeInt | None = None
    sizeOfArchive: NonNegativeInt | None = None
    thumbnail: Str | None = None
    relatedPublications: Strs | None = None
    downloadLink: Str | None = None
    status: Str | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("doi")
    @classmethod
    def _check_doi(cls, v: str | None) -> str | None:
        return check_pid(v, DOI_SUFFIXES)


def parse(model: type[BaseModel], dto: Any, *, what: str) -> BaseModel:
    """Validate a DTO; unknown fields and bad values become InvalidInput naming the field."""
    if not isinstance(dto, dict):
        raise InvalidInput(f"body: send a JSON object describing the {what}", field="body")
    data = {k: v for k, v in dto.items() if k not in READ_ONLY}
    values.check_json(data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, what) from None


def invalid(exc: ValidationError, what: str) -> InvalidInput:
    parts, first = [], None
    for err in exc.errors():
        field = ".".join(str(p) for p in err.get("loc", ())) or "body"
        first = first or field.split(".")[0]
        if err.get("type") == "extra_forbidden":
            parts.append(f"{field}: unknown field; a SciCat {what} has no such property")
        else:
            parts.append(f"{field}: {err.get('msg', 'invalid value').replace('Value error, ', '')}")
    return InvalidInput("; ".join(parts), field=first)


def require(obj: BaseModel, fields: tuple[str, ...], what: str) -> None:
    missing = [f for f in fields if getattr(obj, f, None) in (None, "")]
    if missing:
        raise InvalidInput("; ".join(f"{f}: required for a new {what}" for f in missing), field=missing[0])


# --- output --------------------------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def compact(d: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is None (SciCat omits unset properties)."""
    return {k: v for k, v in d.items() if v is not None}


BOOKKEEPING = {
    "createdBy",
    "createdAt",
    "updatedBy",
    "updatedAt",
    "datasetlifecycle",
    "size",
    "numberOfFiles",
}


def same_record(stored: dict[str, Any], candidate: dict[str, Any]) -> bool:
    """Whether a create repeats an existing record exactly (SciCat then answers the existing record, so
    retried uploads are harmless); bookkeeping fields are not compared."""
    keys = (set(stored) | set(candidate)) - BOOKKEEPING
    return all(stored.get(k) == candidate.get(k) for k in keys)
