"""Published data of a pilot project credits the programme: DataCite parts from the project's proposal.

A pilot project's proposal (``pilotProjectId`` set, made by ``halric.projects``) carries in
``metadata.halric`` the call's funder and award number, the instruments and their PaNET techniques and the
team (names, affiliations with ROR ids, ORCID iDs). When published data holds datasets of such a
proposal, its DataCite document gains:

- ``fundingReferences``: the funder (by name: no funder identifier is added, as none could be checked
  offline) and the call's award number when the call has one;
- ``subjects``: the PaNET techniques of the datasets and of the project's instruments (scheme PaNET);
- ``relatedIdentifiers`` and ``relatedItems``: the project's page (``IsPartOf``) and each instrument's
  registry page (``IsCollectedBy``, resource type ``Instrument``);
- for creators named as in the team: their affiliation (with its ROR id) when the record gives none, and
  their ORCID iD when the record's own metadata gives no identifiers.

What the record's own ``metadata`` (DataCite extras) says is kept; these parts are added beside it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.catalog import datacite
from halric.catalog.models import Dataset, Proposal

PANET_SCHEME = "http://purl.org/pan-science/PaNET/"
ROR_SCHEME = "https://ror.org"


def _key(name: str | None) -> str:
    if not name:
        return ""
    if "," in name:
        family, given = name.split(",", 1)
        name = f"{given} {family}"
    return " ".join(name.casefold().split())


def projects_of(s: Session, pids: list[str]) -> list[tuple[Proposal, dict[str, Any]]]:
    """The pilot-project proposals of these datasets, each with its ``metadata.halric``, in dataset order."""
    if not pids:
        return []
    seen: dict[str, tuple[Proposal, dict[str, Any]]] = {}
    datasets = {d.pid: d for d in s.scalars(select(Dataset).where(Dataset.pid.in_(pids)))}
    for pid in pids:
        ds = datasets.get(pid)
        if ds is None:
            continue
        for prop_id in ds.proposal_ids or []:
            if prop_id in seen:
                continue
            p = s.get(Proposal, prop_id)
            if p is not None and p.pilot_project_id:
                seen[prop_id] = (p, dict((p.proposal_metadata or {}).get("halric") or {}))
    return list(seen.values())


def _affiliation(a: dict[str, Any]) -> list[dict[str, str]]:
    if not a.get("name"):
        return []
    out = {"name": a["name"]}
    if a.get("ror"):
        out.update(affiliationIdentifier=a["ror"], affiliationIdentifierScheme="ROR", schemeUri=ROR_SCHEME)
    return [out]


def _add(doc: dict[str, Any], key: str, item: dict[str, Any], same: Any) -> None:
    items = doc.setdefault(key, [])
    if not any(isinstance(x, dict) and same(x) == same(item) for x in items):
        items.append(item)


def add_project_credit(s: Session, doc: dict[str, Any], pids: list[str], *, base_url: str) -> dict[str, Any]:
    """Add the programme's credit to ``doc`` (the DataCite document of published data holding ``pids``);
    ``base_url``: the hub's public address, for the project and instrument pages. Unchanged when no dataset
    belongs to a pilot project."""
    projects = projects_of(s, pids)
    if not projects:
        return doc
    base = base_url.rstrip("/")
    team: dict[str, dict[str, Any]] = {}
    for _p, ctx in projects:
        for m in ctx.get("team") or []:
            team.setdefault(_key(m.get("name")), m)
    for c in doc.get("creators") or []:
        member = team.get(_key(c.get("name"))) if isinstance(c, dict) else None
        if (
            member is not None
            and not c.get("affiliation")
            and (aff := _affiliation(member.get("affiliation") or {}))
        ):
            c["affiliation"] = aff
    datacite.add_orcids(
        doc, {c["name"]: m["orcid"] for c in doc.get("creators") or []
              if isinstance(c, dict) and (m := team.get(_key(c.get("name")))) and m.get("orcid")},
    )  # fmt: skip

    for p, ctx in projects:
        funding = ctx.get("funding") or {}
        if funding.get("funderName"):
            ref = {"funderName": funding["funderName"]}
            if funding.get("awardNumber"):
                ref["awardNumber"] = funding["awardNumber"]
            _add(doc, "fundingReferences", ref, lambda x: (x.get("funderName"), x.get("awardNumber")))
        page = f"{base}/projects/{p.pilot_project_id}"
        _add(doc, "relatedIdentifiers",
             {"relatedIdentifier": page, "relatedIdentifierType": "URL", "relationType": "IsPartOf"},
             lambda x: (x.get("relatedIdentifier"), x.get("relationType")))  # fmt: skip
        _add(doc, "relatedItems",
             {"relatedItemType": "Other", "relationType": "IsPartOf",
              "relatedItemIdentifier": {"relatedItemIdentifier": page, "relatedItemIdentifierType": "URL"},
              "titles": [{"title": f"HALRIC pilot project: {ctx.get('title') or p.title}"}]},
             lambda x: (x.get("relatedItemIdentifier") or {}).get("relatedItemIdentifier"))  # fmt: skip
        for inst in ctx.get("instruments") or []:
            url = f"{base}/registry/instruments/{inst['id']}"
            _add(doc, "relatedIdentifiers",
                 {"relatedIdentifier": url, "relatedIdentifierType": "URL", "relationType": "IsCollectedBy",
                  "resourceTypeGeneral": "Instrument"},
                 lambda x: (x.get("relatedIdentifier"), x.get("relationType")))  # fmt: skip
            title = f"{inst['name']} ({inst['facility']})" if inst.get("facility") else inst["name"]
            _add(doc, "relatedItems",
                 {"relatedItemType": "Instrument", "relationType": "IsCollectedBy",
                  "relatedItemIdentifier": {"relatedItemIdentifier": url, "relatedItemIdentifierType": "URL"},
                  "titles": [{"title": title}]},
                 lambda x: (x.get("relatedItemIdentifier") or {}).get("relatedItemIdentifier"))  # fmt: skip
        for t in ctx.get("techniques") or []:
            _subject(doc, t.get("label"), t.get("iri"))
    for d in s.scalars(select(Dataset).where(Dataset.pid.in_(pids))):
        for t in d.techniques or []:
            if str(t.get("pid", "")).startswith(PANET_SCHEME):
                _subject(doc, t.get("name"), t["pid"])
    return doc


def _subject(doc: dict[str, Any], label: str | None, iri: str | None) -> None:
    if not label:
        return
    subject = {"subject": label, "subjectScheme": "PaNET", "schemeUri": PANET_SCHEME}
    if iri:
        subject["valueUri"] = iri
    _add(doc, "subjects", subject, lambda x: (x.get("valueUri") or x.get("subject"), x.get("subjectScheme")))
