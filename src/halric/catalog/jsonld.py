"""schema.org ``Dataset`` JSON-LD for dataset landing pages (read by search engines and harvesters)."""

from __future__ import annotations

from typing import Any

PANET = "http://purl.org/pan-science/PaNET/"


def _technique(t: dict[str, Any]) -> dict[str, Any]:
    pid = str(t.get("pid") or "")
    iri = pid if pid.startswith("http") else (PANET + pid if pid.startswith("PaNET") else None)
    out: dict[str, Any] = {"@type": "DefinedTerm", "name": t.get("name") or pid}
    if pid:
        out["termCode"] = pid.rsplit("/", 1)[-1]
    if iri:
        out["@id"] = iri
        out["inDefinedTermSet"] = PANET
    return out


def _variables(meta: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, item in (meta or {}).items():
        if isinstance(item, dict) and "value" in item:
            v: dict[str, Any] = {"@type": "PropertyValue", "name": name, "value": item["value"]}
            if item.get("unit"):
                v["unitText"] = item["unit"]
            out.append(v)
        elif isinstance(item, str | int | float | bool):
            out.append({"@type": "PropertyValue", "name": name, "value": item})
    return out[:100]


def dataset_jsonld(
    ds: dict[str, Any], *, url: str, site: str, dois: list[str] | None = None
) -> dict[str, Any]:
    """``ds`` is the SciCat-shaped dataset dictionary the caller may read."""
    identifiers: list[Any] = [ds["pid"]]
    identifiers += [
        {"@type": "PropertyValue", "propertyID": "DOI", "value": d, "url": f"https://doi.org/{d}"}
        for d in dois or []
    ]
    doc: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": url,
        "url": url,
        "identifier": identifiers,
        "name": ds.get("datasetName") or ds["pid"],
        "description": ds.get("description")
        or ds.get("datasetName")
        or f"{ds.get('type', '')} dataset {ds['pid']}",
        "dateCreated": ds.get("creationTime"),
        "dateModified": ds.get("updatedAt"),
        "keywords": ds.get("keywords") or [],
        "creator": [{"@type": "Person", "name": n} for n in ds.get("principalInvestigators") or []]
        or [{"@type": "Organization", "name": ds.get("ownerGroup")}],
        "measurementTechnique": [_technique(t) for t in ds.get("techniques") or []],
        "variableMeasured": _variables(ds.get("scientificMetadata") or {}),
        "contentSize": f"{ds.get('size', 0)} B",
        "isAccessibleForFree": bool(ds.get("isPublished")),
        "conditionsOfAccess": "public" if ds.get("isPublished") else "restricted (embargo or access groups)",
        "includedInDataCatalog": {"@type": "DataCatalog", "name": site},
    }
    if ds.get("license"):
        doc["license"] = ds["license"]
    if ds.get("isPublished") and ds.get("datasetlifecycle", {}).get("publishedOn"):
        doc["datePublished"] = ds["datasetlifecycle"]["publishedOn"]
    return {k: v for k, v in doc.items() if v not in (None, [], "")}
