"""Read the PaNET vocabulary (CC BY 4.0) from its ROBOT-template CSV: ids, labels, definitions, parents."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

IRI_PREFIX = "http://purl.org/pan-science/PaNET/"
ATTRIBUTION = "Technique vocabulary: PaNET (Photon and Neutron Experimental Techniques ontology), CC BY 4.0"
_REF = re.compile(r"^PaNET:(PaNET\d+)$")


@dataclass
class PanetTerm:
    id: str
    iri: str
    label: str
    alt_labels: list[str]
    definition: str | None
    parents: list[str] = field(default_factory=list)


def read_panet(path: Path) -> dict[str, PanetTerm]:
    """Parse PaNET.csv; parents come from the Parent IRI columns and the named classes of the
    equivalence columns (given either as ``PaNET:PaNETnnnnn`` or by label). Restrictions are skipped."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[4:]
    col = {name: i for i, name in reversed(list(enumerate(header)))}
    parent_cols = [i for i, h in enumerate(header) if h in ("Parent IRI", "Equivalent")]
    terms: dict[str, PanetTerm] = {}
    raw_parents: dict[str, list[str]] = {}
    for r in body:
        if len(r) <= col["RDF Type"] or r[col["RDF Type"]] != "owl:Class":
            continue
        iri = r[col["ID"]].strip()
        if not iri.startswith(IRI_PREFIX):
            continue
        tid = iri[len(IRI_PREFIX) :]
        alts = [a.strip() for a in (r[3], r[4]) if a.strip()]
        terms[tid] = PanetTerm(
            id=tid,
            iri=iri,
            label=r[col["Label"]].strip(),
            alt_labels=alts,
            definition=r[col["Definition"]].strip() or None,
        )
        raw_parents[tid] = [r[i].strip() for i in parent_cols if i < len(r) and r[i].strip()]
    by_label: dict[str, str] = {}
    for t in terms.values():
        by_label.setdefault(t.label.lower(), t.id)
    for tid, refs in raw_parents.items():
        parents: list[str] = []
        for ref in refs:
            m = _REF.match(ref)
            pid = m.group(1) if m else by_label.get(ref.lower())
            if pid and pid != tid and pid in terms and pid not in parents:
                parents.append(pid)
        terms[tid].parents = parents
    return terms
