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

The rules only: this module imports nothing else of the catalog's but its models; the site's period comes from the caller. The release
(``service.release_embargoed``) and a proposal's policy (``collections.set_proposal_policy``) call it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.catalog.models import Dataset
from halric.core.timeutil import as_utc, utcnow


def add_years(when: datetime, years: int) -> datetime:
    try:
        return when.replace(year=when.year + years)
    except ValueError:  # 29 February in a common year
        return when.replace(year=when.year + years, day=28)


def embargo_for(
    creation_time: datetime,
    years: int | None,
    never_release: bool,
    registered_at: datetime | None = None,
    *,
    site_years: int,
) -> datetime | None:
    """The default embargo end: ``years`` (the site's period ``site_years``, HALRIC_CATALOG_EMBARGO_YEARS,
    when None) after the later of the dataset's creation time and its registration at the hub (now, when
    not given)."""
    if never_release:
        return None
    start = max(as_utc(creation_time), as_utc(registered_at or utcnow()))
    return add_years(start, site_years if years is None else years)


def due(s: Session, now: datetime | None = None, limit: int | None = None) -> list[str]:
    """Pids of unpublished datasets whose embargo has ended."""
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
