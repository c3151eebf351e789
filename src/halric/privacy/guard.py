"""The rule: nothing with a personal identifier is registered. One error, the same for ingest and API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from halric.core.errors import Unprocessable
from halric.privacy.scan import Finding, scan_metadata, scan_name

SHOWN = 5  # findings named in the one-line message; all of them are in ``findings``


class PersonalDataFound(Unprocessable):
    """Personal identifiers were found; nothing was registered. ``findings`` says where (never what)."""

    def __init__(self, findings: list[Finding], what: str) -> None:
        places = "; ".join(f.describe() for f in findings[:SHOWN])
        more = f" and {len(findings) - SHOWN} more" if len(findings) > SHOWN else ""
        super().__init__(
            f"personal identifiers found in {len(findings)} place(s) of the {what}: {places}{more}. "
            "Nothing was registered. Remove them or replace them with `halric pseudonymise` "
            "(`halric guard PATH` shows every place).",
            field="personal_data",
        )
        self.findings = findings
        self.extra = {"findings": [f.as_dict() for f in findings]}


def check(findings: Iterable[Finding], what: str) -> None:
    found = list(dict.fromkeys(findings))
    if found:
        raise PersonalDataFound(found, what)


def dataset_findings(dto: dict[str, Any]) -> list[Finding]:
    """Findings in a SciCat dataset as a client sends it (every field, scientific metadata included)."""
    return scan_metadata({k: v for k, v in dto.items() if k not in _STRUCTURAL}, prefix="dataset")


def file_list_findings(paths: Iterable[str]) -> list[Finding]:
    """Findings in the names of files a client lists (SciCat origdatablocks)."""
    out: list[Finding] = []
    for p in paths:
        out.extend(scan_name(p))
    return out


# Fields whose values the hub or a facility sets from its own vocabularies (ids, times, sizes), not people.
_STRUCTURAL = {
    "pid", "ownerGroup", "accessGroups", "createdAt", "updatedAt", "creationTime", "endTime",
    "size", "packedSize", "numberOfFiles", "numberOfFilesArchived", "version", "type", "isPublished",
    "embargoUntil", "history", "datasetlifecycle", "classification",
}  # fmt: skip
