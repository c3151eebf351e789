"""Organisations outside the partnership that applicants name in the application form."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from halric.calls.schemas import NewOrganisationInline
from halric.core.actor import Actor
from halric.registry import service as registry
from halric.registry.models import Organisation


def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (s or "org")[:56].strip("-") or "org"


def add_non_partner(s: Session, actor: Actor, data: NewOrganisationInline) -> tuple[Organisation, bool]:
    """The registry organisation of that name, or a new one flagged as not a partner (never funding-eligible,
    audited by the registry). Returns the organisation and whether it was created."""
    same = s.scalar(select(Organisation).where(func.lower(Organisation.name) == data.name.lower()))
    if same is not None:
        return same, False
    base = _slug(data.name)
    oid, n = base, 1
    while s.get(Organisation, oid) is not None or len(oid) < 2:
        n += 1
        oid = f"{base}-{n}"
    org = registry.add_organisation(
        s,
        actor,
        registry.NewOrganisation(id=oid, name=data.name, country=data.country, kind=data.kind, ror=data.ror),
    )
    return org, True
