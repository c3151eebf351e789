"""A person's own tokens for federated sites (halric.core.personal): the export names the sites and dates
(the tokens themselves are secrets, stored encrypted, and are not exported); an erasure deletes them.
Sites an erased person registered keep the pseudonym as their maker."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from halric.core.personal import Person, Pseudonym
from halric.federation.models import Site, SiteUserToken


def export(s: Session, person: Person) -> dict[str, Any]:
    rows = s.execute(
        select(Site.name, SiteUserToken.created_at, SiteUserToken.updated_at)
        .join(Site, Site.id == SiteUserToken.site_id)
        .where(SiteUserToken.user_id == person.user_id)
        .order_by(Site.name)
    )
    return {
        "federation_tokens": [
            {
                "site": name,
                "created_at": created.isoformat(),
                "updated_at": updated.isoformat(),
                "note": "The token is stored encrypted and is not included here.",
            }
            for name, created, updated in rows
        ],
        "federation_sites_registered": list(
            s.scalars(select(Site.name).where(Site.created_by == person.username).order_by(Site.name))
        ),
    }


def erase(s: Session, person: Person, pseudonym: Pseudonym) -> dict[str, int]:
    n = s.execute(delete(SiteUserToken).where(SiteUserToken.user_id == person.user_id)).rowcount
    for col in (Site.created_by, Site.updated_by):
        s.execute(
            update(Site).where(col == person.username).values({col.key: pseudonym.name})
            .execution_options(synchronize_session=False)
        )  # fmt: skip
    return {"federation_tokens": int(n or 0)}
