"""What was asked and what users thought of the answers (to improve the registry's knowledge)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from halric.core.db import Base
from halric.core.timeutil import utcnow


class MatchQuery(Base):
    __tablename__ = "match_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    question: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))
    language: Mapped[str | None] = mapped_column(String(8), index=True)  # detected: en, sv, da, de, nb, nn
    constraints: Mapped[dict[str, Any]] = mapped_column(default=dict)
    technique_ids: Mapped[list[Any]] = mapped_column(default=list)
    best_score: Mapped[float] = mapped_column(Float)
    no_good_match: Mapped[bool] = mapped_column(Boolean, index=True)
    method: Mapped[str] = mapped_column(String(16))
    elapsed_ms: Mapped[float] = mapped_column(Float)


class MatchFeedback(Base):
    __tablename__ = "match_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("match_queries.id", ondelete="CASCADE"), index=True)
    technique_id: Mapped[str] = mapped_column(String(80), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
