"""The programme's indicators as the web layer computes them: links to the hub's pages (absolute in
exports), and the catalog's datasets of each pilot — the cross-domain part calls may not do itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from halric.calls import indicators
from halric.core.actor import Actor


def links(base: str = "") -> indicators.Links:
    base = base.rstrip("/")
    return indicators.Links(
        project=lambda i: f"{base}/applications/{i}",
        document=lambda i: f"{base}/applications/{i}/pdf",
        final_report=lambda i: f"{base}/projects/{i}#final-report",
        organisation=lambda o: f"{base}/registry/organisations/{o}",
        infrastructure=lambda x: f"{base}/registry/infrastructures/{x}",
        solutions=lambda i: f"{base}/applications/{i}#solutions",
        space=lambda i: f"{base}/projects/{i}",
    )


def datasets_for(viewer: Actor, base: str = "") -> indicators.DatasetsFor:
    """The catalog's datasets of each pilot, through its project space's proposal, with the registered DOIs
    that publish them. Every dataset counts; its name is shown only where ``viewer`` may read it (others
    appear by pid, their landing page decides)."""

    def fetch(s: Session, app_ids: list[int]) -> dict[int, list[indicators.Dataset]]:
        from urllib.parse import quote

        from halric.catalog import published
        from halric.catalog import service as catalog
        from halric.catalog.filters import Filter
        from halric.core.actor import ANONYMOUS, system_actor
        from halric.projects import service as projects

        system = system_actor("indicators", via="system")
        out: dict[int, list[indicators.Dataset]] = {}
        for app_id in app_ids:
            space = projects.space_of(s, app_id)
            if space is None:
                out[app_id] = []
                continue
            flt = Filter(where={"proposalIds": space.proposal_id}, limit=projects.MAX_DATASETS)
            rows = catalog.find_datasets(s, system, flt, max_limit=projects.MAX_DATASETS)
            readable = {
                d["pid"] for d in catalog.find_datasets(s, viewer, flt, max_limit=projects.MAX_DATASETS)
            }
            pids = [d["pid"] for d in rows]
            doi_of: dict[str, str] = {}
            if pids:  # registered DOIs only: what anyone can resolve
                pubs = published.find(s, ANONYMOUS, Filter(where={"pidArray": {"inq": pids}}, limit=1000))
                for pub in pubs:
                    for pid in pub.get("pidArray") or []:
                        doi_of.setdefault(pid, pub["doi"])
            out[app_id] = [
                indicators.Dataset(
                    pid=d["pid"],
                    title=(d.get("datasetName") or d["pid"]) if d["pid"] in readable else f"{d['pid']} (not readable by you)",
                    created=_when(d.get("creationTime")), doi=doi_of.get(d["pid"]),
                    href=f"{base}/catalog/datasets/{quote(d['pid'], safe='')}",
                )
                for d in rows
            ]  # fmt: skip
        return out

    return fetch


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def compute(
    s: Session, actor: Actor, request: Any | None = None, *, absolute: bool = False
) -> dict[str, indicators.Indicator]:
    """Every indicator; links absolute (the hub's base URL) for exports read outside the hub."""
    base = request.app.state.settings.base_url if (absolute and request is not None) else ""
    return indicators.compute(s, actor, datasets_for=datasets_for(actor, base), links=links(base))
