"""The end of a project: DOIs of its publications, and what must be in before it closes."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.calls.models import Application, Project
from halric.calls.visits import feedback_complete
from halric.core.errors import InvalidInput

DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:")


def normalise_doi(value: str, field: str = "doi") -> str:
    """A DOI as ``10.NNNN/suffix`` (a doi.org link or ``doi:`` in front is taken off); InvalidInput when
    it does not have a DOI's shape. The shape only: whether the DOI is registered is not checked."""
    v = value.strip()
    for prefix in _DOI_PREFIXES:
        if v.lower().startswith(prefix):
            v = v[len(prefix) :]
            break
    if not DOI.match(v) or len(v) > 255:
        raise InvalidInput(
            f"{field}: {value.strip()[:80]!r} is not a DOI; write it as 10.1234/abc (or https://doi.org/10.1234/abc)",
            field=field,
        )
    return v


def missing_for_closure(s: Session, app: Application) -> list[str]:
    """What must still come in before the project closes: the final report, the visit feedback and the cost
    claim. Empty when it may close."""
    p = s.scalar(select(Project).where(Project.application_id == app.id))
    if p is None:
        return ["the project itself (it was never started)"]
    missing = []
    if not p.final_report:
        missing.append("the final report")
    if not feedback_complete(s, app.id):  # no visit, or every visitor of a visit done answered
        missing.append("the visit feedback (a confirmed visit still ahead, or a visitor's form not yet in)")
    if not p.cost_claims:
        missing.append("the cost claim (at least one claim, under follow-up)")
    return missing
