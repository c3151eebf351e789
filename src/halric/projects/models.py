"""The project space of a running pilot: its group and its catalog proposal (stable ids)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from halric.core.db import Base
from halric.core.timeutil import utcnow


class ProjectSpace(Base):
    __tablename__ = "project_spaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), unique=True
    )
    group_name: Mapped[str] = mapped_column(String(150), unique=True)  # accounts Group.name
    proposal_id: Mapped[str] = mapped_column(String(255), unique=True)  # catalog Proposal.proposal_id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
    # where the project's data may live and be downloaded from (ISO country codes), set by its team or the
    # coordinator (service.set_data_countries); None: no rule. Carried to the catalog proposal by sync.
    allowed_countries: Mapped[list[Any] | None] = mapped_column(default=None)
