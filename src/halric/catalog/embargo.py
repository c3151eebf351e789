"""Embargo: when a dataset becomes public by itself, and the release of what is due.

A dataset's ``embargo_until`` defaults to the site's embargo period (three years unless
``HALRIC_CATALOG_EMBARGO_YEARS`` says otherwise), or its proposal's own period, counted from the later
of its creation time and the time the hub registered it. So a back-dated dataset (measured in 2018,
catalogued today) gets a full embargo from today, never one already over: nothing becomes public
without a full embargo period on the hub or somebody's decision. Datasets of a proposal marked
``neverRelease`` (proprietary industrial work) have no embargo end and are never released
automatically; nor are the datasets of a confidential pilot project (``catalog/confidential.py``). The
release job publishes only datasets whose embargo ended after they were registered:
an embargo end set to a date before registration is a steward's to act on, not the job's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.core.actor import Actor
from halric.core.timeutil import utcnow


def add_years(when: datetime, years: int) -> datetime:
    try:
        return when.replace(year=when.year + years)
    except ValueError:  # 29 February in a common year
        return when.replace(year=when.year + years, day=28)


def embargo_for(
    creation_time: datetime, years: int | None, never_release: bool, registered_at: datetime | None = None
) -> datetime | None:
    """The default embargo end: ``years`` (the site's period when None) after the later of the
    dataset's creation time and its registration at the hub (now, when not given)."""
    from halric.catalog.config import get
    from halric.core.timeutil import as_utc

    if never_release:
        return None
    start = max(as_utc(creation_time), as_utc(registered_at or utcnow()))
    return add_years(start, get().catalog_embargo_years if years is None else years)


def due(s: Session, now: datetime | None = None, limit: int | None = None) -> list[str]:
    """Pids of unpublished datasets whose embargo has ended."""
    from halric.catalog.models import Dataset

    q = (
        select(Dataset.pid)
        .where(
            Dataset.is_published.is_(False),
            Dataset.never_release.is_(False),
            Dataset.confidential.is_(False),  # a confidential project's data: only its team publishes it
            Dataset.embargo_until.is_not(None),
            Dataset.embargo_until <= (now or utcnow()),
            Dataset.embargo_until > Dataset.created_at,  # an end before registration: nobody scheduled it
        )
        .order_by(Dataset.embargo_until, Dataset.pid)
    )
    if limit:
        q = q.limit(limit)
    return list(s.scalars(q))


def release_embargoed(s: Session, actor: Actor, now: datetime | None = None) -> list[str]:
    """Publish every dataset whose embargo has ended; each release is audited. Running it again
    changes nothing (idempotent), so it is safe from cron."""
    from halric.catalog.models import Dataset
    from halric.catalog.service import set_published
    from halric.core.errors import PermissionDenied

    if not actor.has_role("steward"):
        raise PermissionDenied("Only data stewards and administrators release embargoed datasets.")
    released = []
    for pid in due(s, now):
        ds = s.get(Dataset, pid)
        if ds is None:
            continue
        set_published(
            s,
            actor,
            ds,
            True,
            reason=f"embargo ended {ds.embargo_until.isoformat() if ds.embargo_until else ''}",
        )
        released.append(pid)
    return released


def set_proposal_policy(
    s: Session, actor: Actor, proposal_id: str, *, years: int | None, never_release: bool
) -> int:
    """Change a proposal's embargo policy and recompute the embargo end of its unpublished datasets."""
    from halric.catalog import collections as coll
    from halric.catalog.models import Dataset, DatasetTerm
    from halric.core import audit

    p = coll.load_for_change(s, actor, "proposal", proposal_id)
    p.embargo_years = years
    p.never_release = never_release
    pids = select(DatasetTerm.dataset_pid).where(
        DatasetTerm.kind == "proposal", DatasetTerm.value == proposal_id
    )
    n = 0
    for ds in s.scalars(select(Dataset).where(Dataset.pid.in_(pids), Dataset.is_published.is_(False))):
        ds.never_release = never_release
        ds.embargo_until = embargo_for(ds.creation_time, years, never_release, ds.created_at)
        n += 1
    audit.record(
        s, actor, "embargo-policy", "proposal", proposal_id,
        {"years": years, "neverRelease": never_release, "datasets": n},
    )  # fmt: skip
    return n
