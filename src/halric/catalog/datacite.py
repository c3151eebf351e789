"""DataCite 4.x metadata for published data: build it, validate it against the DataCite JSON schema
shipped in ``data/`` (see data/SOURCE.md), and register DOIs with a DataCite REST endpoint."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from halric.core.errors import Conflict, Unprocessable

SCHEMA_FILE = "datacite-v4.5.json"
SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads(resources.files("halric.catalog").joinpath("data", SCHEMA_FILE).read_text())


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft201909Validator

    return Draft201909Validator(schema(), format_checker=Draft201909Validator.FORMAT_CHECKER)


def problems(doc: dict[str, Any]) -> list[str]:
    """Every way the document breaks the DataCite schema, as 'path: message' lines (empty when valid)."""
    out = []
    for err in sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in err.absolute_path) or "(document)"
        out.append(f"{path}: {err.message}")
    return out


def validate(doc: dict[str, Any]) -> None:
    found = problems(doc)
    if found:
        raise Unprocessable("DataCite metadata is not valid: " + "; ".join(found[:5]))


def build(pd: Any, *, landing_url: str, dataset_urls: list[str], publisher: str) -> dict[str, Any]:
    """DataCite attributes for a PublishedData record; its own ``datacite`` extras are merged on top."""
    affiliation = [{"name": pd.affiliation}] if pd.affiliation else []
    creators = []
    for name in pd.creator or []:
        person: dict[str, Any] = {"name": name, "nameType": "Personal"}
        if "," in name:
            family, given = (p.strip() for p in name.split(",", 1))
            person.update(familyName=family, givenName=given)
        if affiliation:
            person["affiliation"] = affiliation
        creators.append(person)
    descriptions = []
    if pd.abstract:
        descriptions.append({"description": pd.abstract, "descriptionType": "Abstract"})
    if pd.data_description:
        descriptions.append({"description": pd.data_description, "descriptionType": "Methods"})
    sizes = []
    if pd.number_of_files is not None:
        sizes.append(f"{pd.number_of_files} files")
    if pd.size_of_archive is not None:
        sizes.append(f"{pd.size_of_archive} bytes")
    prefix, _, suffix = pd.doi.partition("/")
    doc: dict[str, Any] = {
        "doi": pd.doi,
        "prefix": prefix,
        "suffix": suffix,
        "url": landing_url,
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": pd.resource_type or "Dataset"},
        "creators": creators,
        "titles": [{"title": pd.title}],
        "publisher": {"name": pd.publisher or publisher},
        "publicationYear": str(pd.publication_year),
        "descriptions": descriptions,
        "sizes": sizes,
        "relatedIdentifiers": [
            {"relatedIdentifier": u, "relatedIdentifierType": "URL", "relationType": "HasPart"}
            for u in dataset_urls
        ],
        "schemaVersion": SCHEMA_VERSION,
    }
    doc.update({k: v for k, v in (pd.datacite or {}).items() if k not in ("doi", "prefix", "suffix")})
    return doc


def orcid_identifiers(orcid: str) -> list[dict[str, str]]:
    """A creator's ``nameIdentifiers`` for an ORCID iD (``0000-0002-1825-0097``)."""
    return [
        {
            "nameIdentifier": f"https://orcid.org/{orcid}",
            "nameIdentifierScheme": "ORCID",
            "schemeUri": "https://orcid.org",
        }
    ]


def add_orcids(doc: dict[str, Any], orcids: Mapping[str, str]) -> dict[str, Any]:
    """Give each creator of ``doc`` whose ``name`` is a key of ``orcids`` that ORCID iD, unless the
    creator names its identifiers already (the record's own ``datacite`` extras win)."""
    for creator in doc.get("creators") or []:
        if isinstance(creator, dict) and "nameIdentifiers" not in creator and creator.get("name") in orcids:
            creator["nameIdentifiers"] = orcid_identifiers(orcids[creator["name"]])
    return doc


class DataCiteUnavailable(Unprocessable):
    """DataCite could not be reached or answered with a server error: worth trying again later."""


def register(
    doc: dict[str, Any], *, url: str | None, user: str | None, password: str | None, timeout: float = 20
) -> dict[str, Any]:
    """Create (or update) and publish the DOI at DataCite's REST API; returns DataCite's answer."""
    import httpx

    if not url:
        raise Unprocessable(
            "DOI registration is not configured: set HALRIC_DATACITE_URL, HALRIC_DATACITE_USER and "
            "HALRIC_DATACITE_PASSWORD."
        )
    validate(doc)
    body = {"data": {"type": "dois", "attributes": {**doc, "event": "publish"}}}
    headers = {"Content-Type": "application/vnd.api+json", "Accept": "application/vnd.api+json"}
    auth = (user or "", password or "")
    base = url.rstrip("/")
    try:
        r = httpx.post(f"{base}/dois", json=body, headers=headers, auth=auth, timeout=timeout)
        if r.status_code == 422 and "taken" in r.text.lower():
            body["data"]["id"] = doc["doi"]
            r = httpx.put(f"{base}/dois/{doc['doi']}", json=body, headers=headers, auth=auth, timeout=timeout)
    except httpx.HTTPError as exc:
        raise DataCiteUnavailable(f"DataCite could not be reached at {base}: {exc}") from None
    if r.status_code == 429 or r.status_code >= 500:
        raise DataCiteUnavailable(f"DataCite answered {r.status_code}: {r.text[:300]}")
    if r.status_code in (401, 403):
        raise Unprocessable("DataCite refused the credentials (HALRIC_DATACITE_USER / _PASSWORD).")
    if r.status_code == 409:
        raise Conflict(f"DataCite: the DOI {doc['doi']} exists in another repository.")
    if r.status_code >= 300:
        raise Unprocessable(f"DataCite answered {r.status_code}: {r.text[:500]}")
    return r.json() if r.content else {}
