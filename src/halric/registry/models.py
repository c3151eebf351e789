"""Registry tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from halric.core.db import Base
from halric.core.timeutil import utcnow


class _Tracked:
    """Bookkeeping shared by registry records: where they come from and when they changed."""

    origin: Mapped[str] = mapped_column(String(16), default="file")  # file | web
    file_hash: Mapped[str | None] = mapped_column(String(64))  # hash of the file record last loaded
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Organisation(_Tracked, Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str | None] = mapped_column(String(50))
    country: Mapped[str] = mapped_column(String(2), index=True)
    city: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    ror: Mapped[str | None] = mapped_column(String(100))
    partner: Mapped[bool] = mapped_column(Boolean, default=False)
    funding_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    url: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(500))


class Technique(_Tracked, Base):
    __tablename__ = "techniques"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # PaNETnnnnn or halric:slug
    label: Mapped[str] = mapped_column(String(200), index=True)
    alt_labels: Mapped[list[Any]] = mapped_column(default=list)
    panet_iri: Mapped[str | None] = mapped_column(String(200))
    definition: Mapped[str | None] = mapped_column(Text)
    vocabulary: Mapped[str] = mapped_column(String(16))  # panet | halric
    knowledge: Mapped[dict[str, Any]] = mapped_column(default=dict)  # summary, answers, lay_terms, ...

    parent_links: Mapped[list[TechniqueParent]] = relationship(
        foreign_keys="TechniqueParent.child_id", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def parents(self) -> list[str]:
        return sorted(p.parent_id for p in self.parent_links)


class TechniqueParent(Base):
    __tablename__ = "technique_parents"
    __table_args__ = (UniqueConstraint("child_id", "parent_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[str] = mapped_column(ForeignKey("techniques.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[str] = mapped_column(ForeignKey("techniques.id", ondelete="CASCADE"), index=True)


class Infrastructure(_Tracked, Base):
    __tablename__ = "infrastructures"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    partner_ids: Mapped[list[Any]] = mapped_column(default=list)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    city: Mapped[str] = mapped_column(String(100))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    url: Mapped[str] = mapped_column(String(500))
    contact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text)
    access_routes: Mapped[list[Any]] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(500))

    organisation: Mapped[Organisation] = relationship(lazy="joined")


class Instrument(_Tracked, Base):
    __tablename__ = "instruments"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    infrastructure_id: Mapped[str] = mapped_column(ForeignKey("infrastructures.id"), index=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    city: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    good_for: Mapped[str] = mapped_column(Text)
    typical_samples: Mapped[list[Any]] = mapped_column(default=list)
    sample_types: Mapped[list[Any]] = mapped_column(default=list)
    specs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    access_routes: Mapped[list[Any]] = mapped_column(default=list)
    url: Mapped[str] = mapped_column(String(500))
    contact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(500))

    infrastructure: Mapped[Infrastructure] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    technique_links: Mapped[list[InstrumentTechnique]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="InstrumentTechnique.position"
    )

    @property
    def technique_ids(self) -> list[str]:
        return [t.technique_id for t in self.technique_links]


class InstrumentTechnique(Base):
    __tablename__ = "instrument_techniques"
    __table_args__ = (UniqueConstraint("instrument_id", "technique_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instrument_id: Mapped[str] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"), index=True)
    technique_id: Mapped[str] = mapped_column(ForeignKey("techniques.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class ExpertProfile(Base):
    """What a person can help with: techniques, sample types, languages. Owned by a user account."""

    __tablename__ = "expert_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("organisations.id"))
    techniques: Mapped[list[Any]] = mapped_column(default=list)
    sample_types: Mapped[list[Any]] = mapped_column(default=list)
    languages: Mapped[list[Any]] = mapped_column(default=list)
    countries_served: Mapped[list[Any]] = mapped_column(default=list)  # ambassadors: regions they cover
    bio: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str | None] = mapped_column(String(320))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RegistryGeneration(Base):
    """One row (id 1) that database triggers change with every write to the registry's tables (migration
    0022): ``counter`` counts the writes, ``token`` is a new random number each time. Answers computed from
    the registry are cached under it (``halric.registry.generation``)."""

    __tablename__ = "registry_generation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger, default=0)
    token: Mapped[int] = mapped_column(BigInteger, default=0)
