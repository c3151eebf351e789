"""The jobs table: outbox, state and history of background work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from halric.core.db import Base
from halric.core.timeutil import utcnow

# pending: committed, not yet handed to the broker (the worker's relay sends it)
# queued: handed to the broker; running: claimed by a worker
# retrying: failed, will run again after a backoff; done; dead: failed every attempt (dead-letter list)
STATES = ("pending", "queued", "running", "retrying", "done", "dead")
ACTIVE = ("pending", "queued", "running", "retrying")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # unique when set: a second enqueue with the same key finds the first job (idempotent enqueue)
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    schedule: Mapped[str | None] = mapped_column(String(200), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    requested_by: Mapped[str] = mapped_column(String(150))
    actor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress: Mapped[str | None] = mapped_column(String(500))
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    queued_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
