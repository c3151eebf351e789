"""Catalog tables. Field names follow SciCat's data model (snake_case here, camelCase at the edges)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from halric.core.db import Base
from halric.core.timeutil import utcnow


class _Ownable:
    owner_group: Mapped[str] = mapped_column(String(150), index=True)
    access_groups: Mapped[list[Any]] = mapped_column(default=list)
    instrument_group: Mapped[str | None] = mapped_column(String(150))
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Proposal(_Ownable, Base):
    """A proposal; a HALRIC pilot project is one. Carries the embargo policy of its datasets."""

    __tablename__ = "catalog_proposals"

    proposal_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    abstract: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str] = mapped_column(String(320))
    firstname: Mapped[str | None] = mapped_column(String(200))
    lastname: Mapped[str | None] = mapped_column(String(200))
    pi_email: Mapped[str | None] = mapped_column(String(320))
    pi_firstname: Mapped[str | None] = mapped_column(String(200))
    pi_lastname: Mapped[str | None] = mapped_column(String(200))
    start_time: Mapped[datetime | None] = mapped_column()
    end_time: Mapped[datetime | None] = mapped_column()
    type: Mapped[str | None] = mapped_column(String(100))
    parent_proposal_id: Mapped[str | None] = mapped_column(String(255))
    proposal_metadata: Mapped[dict[str, Any] | None] = mapped_column()
    measurement_periods: Mapped[list[Any]] = mapped_column(default=list)
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    pilot_project_id: Mapped[str | None] = mapped_column(String(100), index=True)
    # embargo policy: years after creation (None: the site default); never_release for proprietary work
    embargo_years: Mapped[int | None] = mapped_column(Integer)
    never_release: Mapped[bool] = mapped_column(Boolean, default=False)
    # a confidential pilot's proposal (set by halric.projects): its datasets are private to its owner group
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # where its datasets may live and be downloaded from (ISO country codes; None: no rule), set by
    # halric.projects for a project that restricts it (catalog/jurisdiction.py)
    allowed_countries: Mapped[list[Any] | None] = mapped_column(default=None)


class Sample(_Ownable, Base):
    __tablename__ = "catalog_samples"

    sample_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    sample_name: Mapped[str | None] = mapped_column(String(300))
    owner: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    sample_characteristics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    proposal_id: Mapped[str | None] = mapped_column(String(255), index=True)
    parent_sample_id: Mapped[str | None] = mapped_column(String(255))
    type: Mapped[str | None] = mapped_column(String(100))
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)


class CatalogInstrument(Base):
    """Instruments created through the SciCat API; the registry's instruments are served alongside."""

    __tablename__ = "catalog_instruments"

    pid: Mapped[str] = mapped_column(String(255), primary_key=True)
    unique_name: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    custom_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dataset(_Ownable, Base):
    __tablename__ = "catalog_datasets"
    __table_args__ = (Index("ix_catalog_datasets_published_created", "is_published", "creation_time"),)

    pid: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(16), index=True)  # raw | derived
    dataset_name: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200))
    owner_email: Mapped[str | None] = mapped_column(String(320))
    orcid_of_owner: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(320))
    shared_with: Mapped[list[Any]] = mapped_column(default=list)
    source_folder: Mapped[str] = mapped_column(String(1000))
    source_folder_host: Mapped[str | None] = mapped_column(String(300))
    # the source folder as this machine resolves it (catalog/folders.py); bytewise order on both databases
    canonical_folder: Mapped[str | None] = mapped_column(
        String(1000).with_variant(String(1000, collation="C"), "postgresql"), index=True
    )
    creation_location: Mapped[str | None] = mapped_column(String(300))
    creation_time: Mapped[datetime] = mapped_column(index=True)
    start_time: Mapped[datetime | None] = mapped_column()
    end_time: Mapped[datetime | None] = mapped_column()
    data_format: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    packed_size: Mapped[int] = mapped_column(BigInteger, default=0)
    number_of_files: Mapped[int] = mapped_column(BigInteger, default=0)
    number_of_files_archived: Mapped[int] = mapped_column(BigInteger, default=0)
    principal_investigators: Mapped[list[Any]] = mapped_column(default=list)
    keywords: Mapped[list[Any]] = mapped_column(default=list)
    techniques: Mapped[list[Any]] = mapped_column(default=list)  # [{pid, name}]
    scientific_metadata: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scientific_metadata_schema: Mapped[str | None] = mapped_column(String(500))
    scientific_metadata_valid: Mapped[bool | None] = mapped_column(Boolean)
    proposal_ids: Mapped[list[Any]] = mapped_column(default=list)
    sample_ids: Mapped[list[Any]] = mapped_column(default=list)
    instrument_ids: Mapped[list[Any]] = mapped_column(default=list)
    input_datasets: Mapped[list[Any]] = mapped_column(default=list)
    used_software: Mapped[list[Any]] = mapped_column(default=list)
    job_parameters: Mapped[dict[str, Any] | None] = mapped_column()
    job_log_data: Mapped[str | None] = mapped_column(Text)
    license: Mapped[str | None] = mapped_column(String(300))
    classification: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    data_quality_metrics: Mapped[int | None] = mapped_column(Integer)
    run_number: Mapped[str | None] = mapped_column(String(100))
    validation_status: Mapped[str | None] = mapped_column(String(200))
    relationships: Mapped[list[Any]] = mapped_column(default=list)  # [{pid, relationship}]
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column()
    embargo_until: Mapped[datetime | None] = mapped_column(index=True)  # None with never_release
    never_release: Mapped[bool] = mapped_column(Boolean, default=False)
    # of a confidential proposal and not released by its team (catalog/confidential.py): only the owner group
    # (and data stewards) read it, whatever isPublished or accessGroups say
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[str] = mapped_column(String(20), default="4")
    search_text: Mapped[str] = mapped_column(Text, default="")  # lower-cased words for full-text search


# The name of the terms' foreign key to their dataset: on PostgreSQL it is not in the database (triggers keep
# the same guarantees, migration 0027), so model/migration comparisons leave it alone.
TERMS_REFERENCE = "fk_catalog_dataset_terms_dataset_pid_catalog_datasets"


class DatasetTerm(Base):
    """One value of a dataset's list field (proposal, sample, instrument, technique, keyword, group, pi).

    Lets searches, facets and access checks use plain indexed SQL on SQLite and PostgreSQL alike.
    """

    __tablename__ = "catalog_dataset_terms"
    # Both indexes cover (kind, value, dataset_pid), so filters, facets and the access check are index-only:
    # "datasets with this term" reads the first, "this dataset's terms of a kind" the second.
    __table_args__ = (
        Index("ix_catalog_dataset_terms_kind_value_pid", "kind", "value", "dataset_pid"),
        Index("ix_catalog_dataset_terms_pid_kind_value", "dataset_pid", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # On PostgreSQL this reference is kept by statement-level triggers instead of a foreign key (migration
    # 0027: one check per statement, not one per row); SQLite keeps the foreign key. See TERMS_REFERENCE.
    dataset_pid: Mapped[str] = mapped_column(ForeignKey("catalog_datasets.pid", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(255))


class OrigDatablock(_Ownable, Base):
    __tablename__ = "catalog_origdatablocks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_pid: Mapped[str] = mapped_column(
        ForeignKey("catalog_datasets.pid", ondelete="CASCADE"), index=True
    )
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    chk_alg: Mapped[str | None] = mapped_column(String(64))
    data_file_list: Mapped[list[Any]] = mapped_column(default=list)


class Attachment(_Ownable, Base):
    __tablename__ = "catalog_attachments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dataset_pid: Mapped[str | None] = mapped_column(
        ForeignKey("catalog_datasets.pid", ondelete="CASCADE"), index=True
    )
    proposal_id: Mapped[str | None] = mapped_column(String(255), index=True)
    sample_id: Mapped[str | None] = mapped_column(String(255), index=True)
    caption: Mapped[str] = mapped_column(Text, default="")
    thumbnail: Mapped[str | None] = mapped_column(Text)
    is_published: Mapped[bool] = mapped_column(Boolean, default=False)


class PublishedData(Base):
    """A publication of datasets with a DOI (DataCite metadata kept in ``datacite``)."""

    __tablename__ = "catalog_published_data"

    doi: Mapped[str] = mapped_column(String(255), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    abstract: Mapped[str] = mapped_column(Text, default="")
    data_description: Mapped[str] = mapped_column(Text, default="")
    resource_type: Mapped[str] = mapped_column(String(100), default="raw")
    creator: Mapped[list[Any]] = mapped_column(default=list)
    publisher: Mapped[str] = mapped_column(String(300))
    publication_year: Mapped[int] = mapped_column(Integer)
    affiliation: Mapped[str | None] = mapped_column(String(300))
    authors: Mapped[list[Any]] = mapped_column(default=list)
    pid_array: Mapped[list[Any]] = mapped_column(default=list)
    url: Mapped[str | None] = mapped_column(String(500))
    number_of_files: Mapped[int | None] = mapped_column(BigInteger)
    size_of_archive: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(40), default="pending_registration", index=True)
    registered_time: Mapped[datetime | None] = mapped_column()
    datacite: Mapped[dict[str, Any]] = mapped_column(default=dict)  # extra DataCite attributes
    thumbnail: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchGeneration(Base):
    """One row (id 1) that database triggers change with every write to the tables a search reads
    (migration 0009): ``counter`` counts the writes, ``token`` is a new random number each time, so a
    value is never seen again after a rollback or a restore. Search answers are cached under it
    (``halric.catalog.searchcache``)."""

    __tablename__ = "catalog_search_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger, default=0)
    token: Mapped[int] = mapped_column(BigInteger, default=0)
