"""Proprietary data: the datasets of a confidential pilot project.

``halric.projects`` marks the catalog proposal of a confidential pilot (``Proposal.confidential``) and keeps
the mark in step with the application. Every dataset that names such a proposal — however it was
registered: ``halric ingest --project``, the hub's API, the SciCat routes — is **confidential**
(``Dataset.confidential``):

- only its owner group (the project's group) reads it; the catalog's access rule (``catalog/rules.py``,
  in SQL for every listing, count and facet) hides it from everyone else whatever ``isPublished`` and
  ``accessGroups`` say — anonymous callers, other groups, peer hubs, harvesters;
- its owner group is the project's group, it is shared with no other group and never published: a request
  that says otherwise is refused (400), nothing is stored;
- it has no embargo end and is never released by the embargo job, and no DOI is made for it: published data
  (``POST /publisheddata``) naming it is refused, and a DOI registration will not publish it.

The one way out is the team's explicit decision on the project page (``halric.projects.service.publish``,
which demands the call's confidentiality terms accepted): ``release`` lifts the mark of the chosen
datasets (audited); they stay unpublished until a data steward registers their DOI.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.catalog.models import Dataset, DatasetTerm, Proposal
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import InvalidInput, Unprocessable


def proposals_of(s: Session, ds: Dataset) -> list[Proposal]:
    """The confidential proposals the dataset names."""
    ids = [str(p) for p in ds.proposal_ids or []]
    if not ids:
        return []
    q = select(Proposal).where(Proposal.proposal_id.in_(ids), Proposal.confidential.is_(True))
    return list(s.scalars(q.order_by(Proposal.proposal_id)))


def settle(s: Session, ds: Dataset, *, recompute: bool) -> None:
    """Before a dataset is stored: with ``recompute`` (new, or its proposals changed) mark it confidential
    when it names a confidential proposal; then hold a confidential dataset to the rules (InvalidInput
    naming the field otherwise)."""
    props = proposals_of(s, ds)
    if recompute:
        ds.confidential = bool(props)
    if not ds.confidential:
        return
    project = props[0] if props else None
    name = project.proposal_id if project else "a confidential project"
    if project is not None and ds.owner_group != project.owner_group:
        raise InvalidInput(
            f"ownerGroup: datasets of confidential project {name} belong to its group "
            f"{project.owner_group!r}; leave ownerGroup out or give that group",
            field="ownerGroup",
        )
    outside = sorted(str(g) for g in ds.access_groups or [] if g != ds.owner_group)
    if outside:
        raise InvalidInput(
            f"accessGroups: datasets of confidential project {name} are private to its group "
            f"{ds.owner_group!r}; {outside[0]!r} may not be given access",
            field="accessGroups",
        )
    if ds.is_published:
        raise InvalidInput(
            f"isPublished: datasets of confidential project {name} stay private to its team; the team "
            "publishes them explicitly from the project page",
            field="isPublished",
        )
    ds.never_release = True
    ds.embargo_until = None


def refuse_publication(datasets: list[Dataset], what: str) -> None:
    """No automatic path publishes a confidential dataset or gives it a DOI (Unprocessable)."""
    for ds in datasets:
        if ds.confidential:
            raise Unprocessable(
                f"pidArray: {ds.pid!r} belongs to a confidential project; {what} — its team publishes it "
                "explicitly from the project page",
                field="pidArray",
            )


def mark_proposal(s: Session, actor: Actor, p: Proposal, confidential: bool) -> int:
    """Set the proposal's mark and carry it to its unpublished datasets (published ones are public already
    and keep their DOI). Lifting the mark gives them their proposal's embargo policy back. Audited; returns
    how many datasets changed."""
    from halric.catalog.embargo import embargo_for
    from halric.core.settings import of as settings_of

    p.confidential = confidential
    pids = select(DatasetTerm.dataset_pid).where(
        DatasetTerm.kind == "proposal", DatasetTerm.value == p.proposal_id
    )
    n = 0
    q = select(Dataset).where(Dataset.pid.in_(pids), Dataset.is_published.is_(False))
    for ds in s.scalars(q.order_by(Dataset.pid)):
        if bool(ds.confidential) == confidential:
            continue
        ds.confidential = confidential
        if confidential:
            ds.access_groups = [g for g in ds.access_groups or [] if g == ds.owner_group]
            ds.never_release, ds.embargo_until = True, None
        else:
            ds.never_release = bool(p.never_release)
            ds.embargo_until = embargo_for(
                ds.creation_time, p.embargo_years, ds.never_release, ds.created_at,
                site_years=settings_of(s).catalog_embargo_years,
            )  # fmt: skip
        _reindex_groups(s, ds)
        n += 1
    audit.record(s, actor, "confidential" if confidential else "not-confidential", "proposal",
                 p.proposal_id, {"datasets": n})  # fmt: skip
    return n


def _reindex_groups(s: Session, ds: Dataset) -> None:
    from halric.catalog.service import _reindex

    _reindex(s, ds)


def release(s: Session, actor: Actor, pids: list[str], reason: str) -> list[str]:
    """The team's explicit decision to publish: lift the mark of these datasets (the caller has checked the
    right to decide). They stay unpublished and never released by the embargo job; a DOI's registration
    publishes them. Audited per dataset."""
    done = []
    for pid in pids:
        ds = s.get(Dataset, pid)
        if ds is None or not ds.confidential:
            continue
        ds.confidential = False
        audit.record(s, actor, "release-confidential", "dataset", pid, {"reason": reason[:500]})
        done.append(pid)
    s.flush()
    return done
