"""The audit log: who changed what, when and from where. One call used by every service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, func, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from halric.core.actor import Actor
from halric.core.db import Base
from halric.core.timeutil import utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor_name: Mapped[str] = mapped_column(String(150))
    via: Mapped[str] = mapped_column(String(16))
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity_type: Mapped[str] = mapped_column(String(64), index=True)
    entity_id: Mapped[str | None] = mapped_column(String(200), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current unit of work (it commits or rolls back with the change)."""
    ev = AuditEvent(
        actor_id=actor.user_id,
        actor_name=actor.username,
        via=actor.via,
        ip=actor.ip,
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        details=details or {},
    )
    session.add(ev)
    return ev


def list_events(
    session: Session,
    *,
    entity_type: str | None = None,
    actor_name: str | None = None,
    action: str | None = None,
    entity_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEvent], int]:
    q = select(AuditEvent)
    if entity_type:
        q = q.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        q = q.where(AuditEvent.entity_id == entity_id)
    if actor_name:
        q = q.where(AuditEvent.actor_name == actor_name)
    if action:
        q = q.where(AuditEvent.action == action)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(AuditEvent.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total


def forget_addresses(session: Session, *, before: datetime) -> int:
    """Remove the client address from events recorded before ``before`` (the retention period of
    addresses, ``HALRIC_RETENTION_ADDRESS_DAYS``); who did what and when stays. Returns the rows changed."""
    res = session.execute(
        update(AuditEvent)
        .where(AuditEvent.at < before, AuditEvent.ip.is_not(None))
        .values(ip=None)
        .execution_options(synchronize_session=False)
    )
    return int(res.rowcount or 0)
