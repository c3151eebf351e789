"""A person's expert profile (halric.core.personal): exported as it is, deleted at an erasure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from halric.core.personal import Person
from halric.registry.models import ExpertProfile


def export(s: Session, person: Person) -> dict[str, Any]:
    p = s.scalar(select(ExpertProfile).where(ExpertProfile.user_id == person.user_id))
    if p is None:
        return {"expert_profile": None}
    return {
        "expert_profile": {
            "display_name": p.display_name, "organisation_id": p.organisation_id, "techniques": p.techniques,
            "sample_types": p.sample_types, "languages": p.languages, "countries_served": p.countries_served,
            "bio": p.bio, "contact_email": p.contact_email, "public": p.public,
            "updated_at": p.updated_at.isoformat(),
        }
    }  # fmt: skip


def erase(s: Session, person: Person) -> dict[str, int]:
    n = s.execute(delete(ExpertProfile).where(ExpertProfile.user_id == person.user_id)).rowcount
    return {"expert_profile": int(n or 0)}
