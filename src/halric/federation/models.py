"""Federation tables: sites, per-user site tokens (encrypted), harvested records and their terms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from halric.core.db import Base
from halric.core.fulltext import WordIndex
from halric.core.timeutil import utcnow

MODES = ("live", "harvest")
STATUSES = ("unknown", "ok", "timeout", "error")


class Site(Base):
    """A remote catalog: another HALRIC hub, a SciCat instance or a PaNOSC search API endpoint."""

    __tablename__ = "federation_sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # a kind registered in federation.sites: hub | scicat | panosc | ...
    mode: Mapped[str] = mapped_column(String(16), default="live")  # live fan-out | harvest (local index)
    timeout: Mapped[float] = mapped_column(Float, default=5.0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    landing_template: Mapped[str | None] = mapped_column(String(500))  # e.g. https://x/datasets/{pid}
    service_token: Mapped[str | None] = mapped_column(Text)  # Fernet-encrypted
    group_map: Mapped[dict[str, Any]] = mapped_column(default=dict)  # remote group -> [hub groups]
    # health
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    last_checked_at: Mapped[datetime | None] = mapped_column()
    last_contact_at: Mapped[datetime | None] = mapped_column()  # last time the site answered
    last_elapsed_ms: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    # harvesting: the cursor is the last modification time stored and the pids with that time already taken
    harvest_cursor_time: Mapped[str | None] = mapped_column(String(64))
    harvest_cursor_seen: Mapped[list[Any]] = mapped_column(default=list)  # pids taken at that time
    harvest_started_at: Mapped[datetime | None] = mapped_column()
    harvest_finished_at: Mapped[datetime | None] = mapped_column()
    harvest_lease_until: Mapped[datetime | None] = mapped_column()
    harvest_lease_owner: Mapped[str | None] = mapped_column(String(64))
    harvest_stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # minutes between scheduled harvests (None: HALRIC_HARVEST_INTERVAL_MINUTES; 0: only when asked)
    harvest_interval_minutes: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SiteUserToken(Base):
    """A user's own token for a site (Fernet-encrypted): widens what that site returns to that user."""

    __tablename__ = "federation_user_tokens"
    __table_args__ = (UniqueConstraint("site_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("federation_sites.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(Text)  # Fernet-encrypted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class HarvestedRecord(Base):
    """One dataset harvested from a site, with the site's access groups (kept as terms).

    ``search_text`` is searched through ``RECORD_WORDS`` (migration 0008).
    """

    __tablename__ = "federation_records"
    __table_args__ = (
        UniqueConstraint("site_id", "pid"),
        Index("ix_federation_records_site_public", "site_id", "is_public"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("federation_sites.id", ondelete="CASCADE"))
    pid: Mapped[str] = mapped_column(String(255))
    doi: Mapped[str | None] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_group: Mapped[str | None] = mapped_column(String(150))
    creation_time: Mapped[str | None] = mapped_column(String(64))
    modified: Mapped[str | None] = mapped_column(String(64))  # the site's modification time, as it gave it
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the normalised record
    search_text: Mapped[str] = mapped_column(Text, default="")
    harvested_at: Mapped[datetime] = mapped_column(default=utcnow)


# The word index of harvested records (migration 0008; outside the model): a trigram GIN index on
# PostgreSQL, an FTS5 trigram table kept by triggers on SQLite, keyed on the records' integer primary key.
# A migration that rebuilds federation_records on SQLite (batch mode copies the table and drops its
# triggers) must create the triggers again and run RECORD_WORDS.rebuild_sqlite.
RECORD_WORDS = WordIndex(
    table="federation_records",
    fts="federation_records_fts",
    trgm="ix_federation_records_search_trgm",
    key="id",
)


class HarvestedTerm(Base):
    """One value of a harvested record's list field: group (remote access group), keyword, technique,
    instrument. Lets access checks and facets use plain indexed SQL."""

    __tablename__ = "federation_record_terms"
    # Both indexes cover (kind, value, record_id): "records with this term" reads the first, the access
    # check ("this record's groups") and facet counts ("this record's terms of a kind") the second.
    __table_args__ = (
        Index("ix_federation_record_terms_kind_value_record", "kind", "value", "record_id"),
        Index("ix_federation_record_terms_record_kind_value", "record_id", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("federation_records.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(255))
