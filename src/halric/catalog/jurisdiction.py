"""Where data may live: the one rule for a project's jurisdiction.

Storage locations carry a country (``HALRIC_STORAGE_COUNTRIES``: ``PREFIX=CC`` entries, a folder or an
address prefix and an ISO 3166 alpha-2 code; the longest matching prefix wins). A project may restrict where
its data live (``halric.projects`` writes the allowed countries on its catalog proposal,
``Proposal.allowed_countries``). Then, for every dataset naming that proposal:

- **registering** it (``halric ingest --project``, the SciCat routes, any change of its folder or proposals)
  is refused unless its ``sourceFolder`` lies on a location of an allowed country (400, field
  ``sourceFolder``; nothing is stored);
- **downloading** its files is refused (403) to a caller whose organisation is not in an allowed country,
  and the refusal is audited (``download-refused``), committed before the error is raised, so it stays
  recorded although the request fails. Requests of other hubs come in through accounts like any caller, with
  their organisation's country.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import InvalidInput, PermissionDenied
from halric.core.settings import Settings
from halric.core.settings import of as settings_of

COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Location:
    prefix: str
    country: str

    def holds(self, place: str) -> bool:
        if "://" in self.prefix:
            return place.startswith(self.prefix)
        return place == self.prefix or place.startswith(self.prefix.rstrip("/") + "/")


def parse(raw: str) -> tuple[Location, ...]:
    """The storage locations of ``HALRIC_STORAGE_COUNTRIES``, longest prefix first (ValueError naming a bad
    entry)."""
    out = []
    for entry in (e.strip() for e in raw.split(";")):
        if not entry:
            continue
        prefix, sep, country = entry.rpartition("=")
        prefix, country = prefix.strip(), country.strip().upper()
        if not sep or not prefix or not COUNTRY.match(country):
            raise ValueError(
                f"HALRIC_STORAGE_COUNTRIES: {entry!r} is not PREFIX=CC (a folder or address, and a two-letter "
                "ISO country code such as SE)"
            )
        if "://" not in prefix:
            prefix = os.path.normpath(prefix)
        out.append(Location(prefix, country))
    return tuple(sorted(out, key=lambda loc: len(loc.prefix), reverse=True))


@lru_cache(maxsize=8)
def _locations(raw: str) -> tuple[Location, ...]:
    return parse(raw)


def locations(cfg: Settings) -> tuple[Location, ...]:
    """The storage locations ``HALRIC_STORAGE_COUNTRIES`` names, longest prefix first."""
    return _locations(cfg.storage_countries)


def country_of(place: str | None, cfg: Settings) -> str | None:
    """The country of the storage location holding ``place`` (a folder or an address), None if none does."""
    if not place:
        return None
    where = place if "://" in place else os.path.normpath(place)
    return next((loc.country for loc in locations(cfg) if loc.holds(where)), None)


def rule_for(s: Session, proposal_ids: list[Any]) -> tuple[str, list[str]] | None:
    """(proposal id, allowed countries) of the first named proposal that restricts where data may live."""
    from halric.catalog.models import Proposal

    ids = [str(p) for p in proposal_ids or []]
    if not ids:
        return None
    q = select(Proposal.proposal_id, Proposal.allowed_countries).where(Proposal.proposal_id.in_(ids))
    for pid, allowed in s.execute(q.order_by(Proposal.proposal_id)):
        if allowed is not None:
            return pid, sorted(str(c) for c in allowed)
    return None


def check_location(s: Session, ds: Any) -> None:
    """Refuse a dataset whose folder lies outside the countries its project allows (InvalidInput)."""
    rule = rule_for(s, ds.proposal_ids)
    if rule is None:
        return
    project, allowed = rule
    country = country_of(ds.source_folder, settings_of(s))
    if country in allowed:
        return
    where = (
        f"lies in {country}"
        if country
        else "lies on no storage location with a known country (HALRIC_STORAGE_COUNTRIES)"
    )
    raise InvalidInput(
        f"sourceFolder: {ds.source_folder!r} {where}; data of project {project} may only live in "
        f"{', '.join(allowed) or 'no country yet (its team sets them on the project page)'}. "
        "Register it on a storage location there.",
        field="sourceFolder",
    )


def country_of_actor(s: Session, actor: Actor) -> str | None:
    from halric.registry.models import Organisation

    if not actor.organisation:
        return None
    org = s.get(Organisation, actor.organisation)
    return org.country if org is not None else None


def check_download(s: Session, actor: Actor, ds: Any) -> None:
    """Refuse (and audit, in its own transaction) a download of a restricted project's dataset by a caller
    whose organisation is not in an allowed country."""
    rule = rule_for(s, ds.proposal_ids)
    if rule is None:
        return
    project, allowed = rule
    country = country_of_actor(s, actor)
    if country in allowed:
        return
    # the refusal is committed before the error undoes the request's unit of work (nothing else was written)
    audit.record(s, actor, "download-refused", "dataset", ds.pid,
                 {"project": project, "country": country, "allowed": allowed})  # fmt: skip
    s.commit()
    raise PermissionDenied(
        f"Data of project {project} may only be downloaded from organisations in {', '.join(allowed)}; "
        f"{'yours is in ' + country if country else 'your account names no organisation with a country'}. "
        "The refusal is recorded.",
    )
