"""SciCat v3's answer shapes, made at the edge from the current (v4) ones: the catalog's domain knows one
shape, and the `/api/v3` routes add v3's singular fields to it here.

- a dataset: ``proposalId``, ``sampleId``, ``instrumentId`` and ``principalInvestigator`` (the first of
  each list), ``investigator`` for a derived dataset, and its included attachments in v3's shape;
- an attachment: ``datasetId``, ``proposalId`` and ``sampleId`` from its ``relationships``.

Unset values are omitted, as SciCat does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["attachment", "dataset"]


def _first(values: Any) -> Any:
    return values[0] if isinstance(values, list) and values else None


def dataset(d: dict[str, Any]) -> dict[str, Any]:
    """The v4 dataset ``d`` as v3 answers it."""
    firsts = {
        "proposalId": _first(d.get("proposalIds")),
        "sampleId": _first(d.get("sampleIds")),
        "instrumentId": _first(d.get("instrumentIds")),
        "principalInvestigator": _first(d.get("principalInvestigators")),
    }
    if d.get("type") == "derived":
        firsts["investigator"] = firsts["principalInvestigator"]
    out = {**d, **{k: v for k, v in firsts.items() if v is not None}}
    if isinstance(out.get("attachments"), list):
        out["attachments"] = [attachment(a) for a in out["attachments"]]
    return out


def attachment(a: dict[str, Any]) -> dict[str, Any]:
    """The v4 attachment ``a`` as v3 answers it."""
    targets = {
        r.get("targetType"): r.get("targetId") for r in a.get("relationships") or [] if isinstance(r, dict)
    }
    named = {"datasetId": targets.get("dataset"), "proposalId": targets.get("proposal"),
             "sampleId": targets.get("sample")}  # fmt: skip
    return {**a, **{k: v for k, v in named.items() if v is not None}}
