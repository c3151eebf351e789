"""Project spaces: created when a pilot starts, kept in step with its team, and read by the project page.

A space is a hub group (``pilot-<application id>``) whose members are the project's people
(``halric.calls.team.project_people``: applicant, accepted co-applicants, facility contacts), and a
catalog proposal (``HALRIC-<application id>``) owned by that group. Datasets that name the proposal land in
the project (``halric ingest --project``, SciCat ``POST /datasets`` with the proposalId). Every change
happens in the caller's transaction: a failure anywhere leaves no half-made space.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from halric.accounts import orcid
from halric.accounts import service as accounts
from halric.accounts.models import User
from halric.calls import confidential, workflow
from halric.calls import service as calls
from halric.calls import team as calls_team
from halric.calls.models import Application, Call, Project
from halric.calls.report import missing_for_closure
from halric.catalog import collections as catalog_collections
from halric.catalog import confidential as catalog_confidential
from halric.catalog import published as catalog_published
from halric.catalog import rules as catalog_rules
from halric.catalog import service as catalog
from halric.catalog.filters import Filter
from halric.core import audit
from halric.core.actor import Actor
from halric.core.errors import InvalidInput, NotFound, PermissionDenied
from halric.core.timeutil import utcnow
from halric.projects.models import ProjectSpace
from halric.registry import service as registry
from halric.registry.models import Organisation

GROUP_PREFIX = "pilot-"
PROPOSAL_PREFIX = catalog_collections.PILOT_PREFIX  # "HALRIC-"
PROJECT_STATES = ("running", "final-report", "closed")
MAX_DATASETS = 1000  # listed on the project page


def group_name_for(app_id: int) -> str:
    return f"{GROUP_PREFIX}{app_id}"


def proposal_id_for(app_id: int) -> str:
    return f"{PROPOSAL_PREFIX}{app_id}"


def _source(app_id: int) -> str:
    """How the group memberships this project gives are marked (accounts UserGroup.source)."""
    return f"project:{app_id}"


def space_of(s: Session, app_id: int) -> ProjectSpace | None:
    return s.scalar(select(ProjectSpace).where(ProjectSpace.application_id == app_id))


# --- what the proposal says about the project ------------------------------------------------------------


def _split_name(full: str) -> tuple[str | None, str | None]:
    parts = full.split()
    if len(parts) < 2:
        return (parts[0] if parts else None), None
    return " ".join(parts[:-1]), parts[-1]


def _organisation(s: Session, oid: str | None) -> dict[str, str]:
    if not oid:
        return {}
    try:
        o = registry.get_organisation(s, oid)
    except NotFound:
        return {"name": oid}
    return {"name": o.name, **({"ror": o.ror} if o.ror else {})}


def team_credits(s: Session, app: Application) -> list[dict[str, Any]]:
    """The team as the project's publications credit it: the application's team list (name, affiliation
    with its ROR id, ORCID iD when an active account with that confirmed e-mail has one: accounts/orcid.py),
    with the applicant first when the list does not name them."""
    orcids = orcid.by_email(s, [m.email for m in app.team])  # active accounts, confirmed addresses
    out: list[dict[str, Any]] = []
    owner = s.get(User, app.owner_id)
    listed = {m.email.lower() for m in app.team if m.email}
    if owner is not None and owner.email.lower() not in listed:
        oid = orcid.normalise(owner.orcid)
        out.append(
            {"name": owner.full_name or owner.username, "affiliation": _organisation(s, owner.organisation_id),
             **({"orcid": oid} if oid else {})}
        )  # fmt: skip
    for m in app.team:
        oid = orcids.get(m.email.strip().lower()) if m.email else None
        out.append(
            {
                "name": m.name,
                "affiliation": _organisation(s, m.organisation_id),
                **({"orcid": oid} if oid else {}),
            }
        )
    return out


def _instruments(s: Session, app: Application) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    instruments, techniques = [], {}
    for iid in app.instruments:
        try:
            i = registry.get_instrument(s, iid)
        except NotFound:
            continue
        instruments.append({"id": i.id, "name": i.name, "facility": i.infrastructure.name})
        for tid in i.technique_ids:
            try:
                t = registry.get_technique(s, tid)
            except NotFound:
                continue
            if t.vocabulary == "panet":
                techniques[t.id] = {
                    "id": t.id,
                    "label": t.label,
                    **({"iri": t.panet_iri} if t.panet_iri else {}),
                }
    return instruments, list(techniques.values())


def project_context(s: Session, app: Application) -> dict[str, Any]:
    """What the catalog needs to credit the project in DataCite metadata (kept in the proposal's metadata
    under ``halric``): the call and its funder and award, the instruments and their PaNET techniques, the
    team. The project's page is ``/projects/<applicationId>``."""
    call: Call = app.call
    instruments, techniques = _instruments(s, app)
    return {
        "applicationId": app.id,
        "title": confidential.public_title(app),
        "call": {"slug": call.slug, "title": call.title},
        "funding": {"funderName": call.funder_name, "awardNumber": call.award_number or ""},
        "instruments": instruments,
        "techniques": techniques,
        "team": team_credits(s, app),
    }


def _moment(d: date | None) -> datetime | None:
    return None if d is None else datetime.combine(d, time(0, 0), tzinfo=UTC)


def _proposal_fields(s: Session, app: Application, project: Project) -> dict[str, Any]:
    owner = s.get(User, app.owner_id)
    first, last = _split_name((owner.full_name or owner.username) if owner else "")
    email = owner.email if owner else ""
    return {
        # a confidential pilot's proposal is named by its number and described by its non-confidential summary
        "title": (confidential.public_title(app) or f"Pilot project {app.id}")[:500],
        "abstract": (app.public_summary if app.confidential else app.lay_summary) or None,
        "email": email, "firstname": first, "lastname": last, "pi_email": email, "pi_firstname": first,
        "pi_lastname": last, "start_time": _moment(project.started_on), "end_time": _moment(project.ends_on),
        "type": "HALRIC pilot project", "proposal_metadata": {"halric": project_context(s, app)},
        "confidential": bool(app.confidential),  # its datasets are private to the group (catalog/confidential.py)
        # where its data may live (catalog/jurisdiction.py)
        "allowed_countries": _allowed(s, app.id),
    }  # fmt: skip


def _allowed(s: Session, app_id: int) -> list[str] | None:
    space = space_of(s, app_id)
    return None if space is None or space.allowed_countries is None else list(space.allowed_countries)


def team_countries(s: Session, app: Application) -> list[str]:
    """The countries of the team's organisations (the registry's, else the country given in the team)."""
    out = set()
    for m in confidential.unwrap(app).team:
        org = s.get(Organisation, m.organisation_id) if m.organisation_id else None
        out.add((org.country if org is not None else m.country or "").upper())
    return sorted(c for c in out if c)


def set_data_countries(
    s: Session, actor: Actor, app_id: int, restrict: bool, countries: list[str] | None = None
) -> list[str] | None:
    """Restrict where the project's data may live and be downloaded from (or lift the rule): the given ISO
    country codes, by default the countries of the team's organisations. For the project's team and the
    coordinator; audited; the catalog proposal follows at once (sync). Returns the allowed countries."""
    app, _project, _hats = calls.get_project(s, actor, app_id)
    space = space_of(s, app.id)
    if space is None:
        raise NotFound(f"Project {app_id} has no project space yet.")
    if not (catalog_rules.can_write(actor, space.group_name) or actor.has_role("coordinator")):
        raise PermissionDenied("Only the project's team and the coordinator decide where its data may live.")
    allowed: list[str] | None = None
    if restrict:
        given = [c.strip().upper() for c in countries or [] if c.strip()]
        for c in given:
            if len(c) != 2 or not c.isalpha() or not c.isascii():
                raise InvalidInput(f"countries: {c!r} is not a two-letter ISO country code such as SE",
                                   field="countries")  # fmt: skip
        allowed = sorted(set(given)) or team_countries(s, app)
        if not allowed:
            raise InvalidInput("countries: the team names no organisation with a country; give the countries",
                               field="countries")  # fmt: skip
    if allowed != space.allowed_countries:
        space.allowed_countries = allowed
        audit.record(s, actor, "data-countries", "project-space", app.id, {"allowed": allowed})
        sync(s, actor, app.id)
    return allowed


# --- making and keeping the space ---------------------------------------------------------------------------


@dataclass
class SyncResult:
    space: ProjectSpace
    added: list[str]
    removed: list[str]


def sync(s: Session, actor: Actor, app_id: int) -> SyncResult | None:
    """Bring the project's group (members) and proposal (title, PI, instruments, team, funding) in line with
    the project. None when the application has no project space. Call it wherever the team or the
    project's facts change; it is idempotent."""
    space = space_of(s, app_id)
    if space is None:
        return None
    app = s.get(Application, app_id)
    project = s.scalar(select(Project).where(Project.application_id == app_id))
    assert app is not None and project is not None
    people = calls_team.project_people(s, app)
    g = accounts.sync_group(
        s, actor, space.group_name, set(people), source=_source(app_id),
        description=f"Team of HALRIC pilot project {app_id}: {confidential.public_title(app)}"[:500],
    )  # fmt: skip
    catalog_collections.put_pilot_proposal(
        s, actor, space.proposal_id, pilot_project_id=str(app_id), owner_group=space.group_name,
        fields=_proposal_fields(s, app, project),
    )  # fmt: skip
    space.synced_at = utcnow()
    s.flush()
    return SyncResult(space, g.added, g.removed)


def create_space(s: Session, actor: Actor, app_id: int) -> ProjectSpace:
    """The project's group and proposal (once; a second call only syncs)."""
    space = space_of(s, app_id)
    if space is None:
        space = ProjectSpace(application_id=app_id, group_name=group_name_for(app_id),
                             proposal_id=proposal_id_for(app_id))  # fmt: skip
        s.add(space)
        s.flush()
        audit.record(s, actor, "create", "project-space", app_id,
                     {"group": space.group_name, "proposalId": space.proposal_id})  # fmt: skip
    sync(s, actor, app_id)
    return space


def start(
    s: Session, actor: Actor, app_id: int, started_on: date, ends_on: date
) -> tuple[Project, ProjectSpace]:
    """Start an approved pilot (``calls.service.start_project`` checks who may and the dates) and create its
    space, in the caller's one transaction."""
    project = calls.start_project(s, actor, app_id, started_on, ends_on)
    return project, create_space(s, actor, app_id)


# --- the team changes ------------------------------------------------------------------------------------


def accept_invitation(s: Session, actor: Actor, token: str) -> Application:
    """Accept an invitation (``calls.service.accept_invitation``); a co-applicant joins the project's group."""
    app = calls.accept_invitation(s, actor, token)
    s.flush()
    sync(s, actor, app.id)
    return app


def remove_co_applicant(s: Session, actor: Actor, app_id: int, collaborator_id: int) -> None:
    """Take a co-applicant off (``calls.team.remove_co_applicant``); they leave the project's group."""
    calls_team.remove_co_applicant(s, actor, app_id, collaborator_id)
    sync(s, actor, app_id)


def feasibility(
    s: Session, actor: Actor, app_id: int, infrastructure_id: str, verdict: str, comments: str
) -> Any:
    """Record a feasibility review (``calls.service.feasibility``); its reviewer is a facility contact."""
    row = calls.feasibility(s, actor, app_id, infrastructure_id, verdict, comments)
    sync(s, actor, app_id)
    return row


def sync_all(s: Session, actor: Actor) -> int:
    """Sync every project space (after an account's roles, organisation or status changed: who is a facility
    contact may have changed). Returns how many spaces changed membership."""
    changed = 0
    for app_id in list(s.scalars(select(ProjectSpace.application_id).order_by(ProjectSpace.application_id))):
        r = sync(s, actor, app_id)
        changed += bool(r and (r.added or r.removed))
    return changed


def sync_call(s: Session, actor: Actor, call_id: int) -> None:
    """Re-write the proposals of a call's projects (after its funder or award number changed)."""
    q = select(ProjectSpace.application_id).join(Application, Application.id == ProjectSpace.application_id)
    for app_id in list(s.scalars(q.where(Application.call_id == call_id))):
        sync(s, actor, app_id)


# --- finding a project ------------------------------------------------------------------------------------


def resolve(s: Session, ref: str | int) -> ProjectSpace:
    """The space of a project named by its application id (``12``) or its proposal id (``HALRIC-12``)."""
    text = str(ref).strip()
    space = None
    if text.isdigit():
        space = space_of(s, int(text))
    if space is None and text:
        space = s.scalar(select(ProjectSpace).where(ProjectSpace.proposal_id == text))
        if space is None and text.upper().startswith(PROPOSAL_PREFIX):
            space = s.scalar(select(ProjectSpace).where(ProjectSpace.proposal_id == text.upper()))
    if space is None:
        raise NotFound(
            f"project: no pilot project {text!r} (give its application id or proposal id, e.g. 12 or HALRIC-12)"
        )
    return space


def for_ingest(s: Session, actor: Actor, ref: str | int) -> ProjectSpace:
    """The space datasets are ingested into: the actor must be in the project's team (its group) or a data
    steward."""
    space = resolve(s, ref)
    if not catalog_rules.can_write(actor, space.group_name):
        raise PermissionDenied(
            f"project: {actor.username} is not in the team of pilot project {space.application_id} "
            f"(group {space.group_name}); ask its applicant to invite you, or a coordinator"
        )
    return space


# --- the project page -------------------------------------------------------------------------------------


def ingest_hint(space: ProjectSpace) -> str:
    return (
        f"Facility ingestors: give proposalId “{space.proposal_id}” and ownerGroup “{space.group_name}” to each "
        f"dataset of this project (SciCat), or run halric ingest FOLDER --user YOUR-HUB-ACCOUNT --project {space.proposal_id}."
    )


def datasets_of(s: Session, actor: Actor, app_id: int) -> list[dict[str, Any]]:
    """The project's datasets the actor may read (what the project page lists)."""
    return _dataset_rows(s, actor, space_of(s, app_id))


def _dataset_rows(s: Session, actor: Actor, space: ProjectSpace | None) -> list[dict[str, Any]]:
    if space is None:
        return []
    flt = Filter(where={"proposalIds": space.proposal_id}, limit=MAX_DATASETS)
    rows = catalog.find_datasets(s, actor, flt, max_limit=MAX_DATASETS)
    return [
        {"pid": d["pid"], "name": d.get("datasetName") or d["pid"], "size": d.get("size", 0),
         "files": d.get("numberOfFiles", 0), "embargo_until": d.get("embargoUntil"),
         "never_release": bool(d.get("neverRelease")), "published": bool(d.get("isPublished")),
         "creation_time": d.get("creationTime"), "owner_group": d.get("ownerGroup")}
        for d in rows
    ]  # fmt: skip


def overview(s: Session, actor: Actor, app_id: int) -> dict[str, Any]:
    """Everything the project page and ``GET /api/projects/{id}`` show. Only the project's people and those
    with a role on the application see it (others: NotFound, as for the application); the datasets listed
    are those the viewer may read."""
    app, project, hats = calls.get_project(s, actor, app_id)
    space = space_of(s, app.id)
    if app.redacted:  # a confidential project, the terms not accepted: its number, call, state and dates only
        return _redacted_overview(app, project, hats, space)
    people = calls_team.project_people(s, app)
    members = []
    if space is not None:
        for u in accounts.group_members(s, space.group_name):
            members.append({"username": u.username, "name": u.full_name or u.username,
                            "organisation": u.organisation_id, "reasons": people.get(u.id, ["added by an administrator"])})  # fmt: skip
    instruments, techniques = _instruments(s, app)
    report = project.final_report or {}
    datasets = _dataset_rows(s, actor, space)
    return {
        "application_id": app.id, "title": app.title or "(untitled)", "state": app.state,
        "state_label": workflow.LABELS[app.state], "call": {"id": app.call_id, "title": app.call.title,
        "funder_name": app.call.funder_name, "award_number": app.call.award_number},
        "started_on": project.started_on.isoformat() if project.started_on else None,
        "ends_on": project.ends_on.isoformat() if project.ends_on else None,
        "group": space.group_name if space else None, "proposal_id": space.proposal_id if space else None,
        "ingest_hint": ingest_hint(space) if space else None,
        "team": team_credits(s, app), "members": members, "instruments": instruments, "techniques": techniques,
        "datasets": datasets, "publications": list(project.publications or []),
        "published_data": _published_data(s, actor, [d["pid"] for d in datasets]),
        "may_publish": space is not None and catalog_rules.can_write(actor, space.group_name),
        "milestones": list(project.milestones or []),
        "final_report": {"submitted": bool(report), "publications": list(report.get("publications", [])),
                         "datasets": list(report.get("datasets", []))},
        "closure_missing": missing_for_closure(s, app) if app.state in ("running", "final-report") else [],
        "your_roles": sorted(hats), "redacted": False,
    }  # fmt: skip


def _redacted_overview(
    app: Application, project: Project, hats: set[str], space: ProjectSpace | None
) -> dict[str, Any]:
    return {
        "application_id": app.id, "title": app.title, "state": app.state, "state_label": workflow.LABELS[app.state],
        "call": {"id": app.call_id, "title": app.call.title, "funder_name": app.call.funder_name,
                 "award_number": app.call.award_number},
        "started_on": project.started_on.isoformat() if project.started_on else None,
        "ends_on": project.ends_on.isoformat() if project.ends_on else None,
        "group": space.group_name if space else None, "proposal_id": space.proposal_id if space else None,
        "ingest_hint": None, "team": [], "members": [], "instruments": [], "techniques": [], "datasets": [],
        "publications": [], "published_data": [], "may_publish": False, "milestones": [],
        "final_report": {"submitted": False, "publications": [], "datasets": []}, "closure_missing": [],
        "your_roles": sorted(hats), "redacted": True, "summary": app.public_summary,
    }  # fmt: skip


def my_projects(s: Session, actor: Actor) -> list[dict[str, Any]]:
    """The projects the actor may open (their own, and those they follow in a role), newest first."""
    q = select(Application).join(Project, Project.application_id == Application.id)
    out = []
    for app in s.scalars(q.where(Application.state.in_(PROJECT_STATES)).order_by(Application.id.desc())):
        hats = calls.roles_on(s, app, actor)
        if hats:
            space = space_of(s, app.id)
            shown = confidential.shown(
                s, actor, app, hats, listing=True
            )  # a list: never confidential content
            out.append({"application_id": app.id, "title": shown.title or "(untitled)", "state": app.state,
                        "state_label": workflow.LABELS[app.state], "your_roles": sorted(hats),
                        "proposal_id": space.proposal_id if space else None})  # fmt: skip
    return out


def _published_data(s: Session, actor: Actor, pids: list[str]) -> list[dict[str, Any]]:
    """Published data (DOIs) holding any of these datasets, that the actor may see."""
    if not pids:
        return []
    found = catalog_published.find(s, actor, Filter(where={"pidArray": {"inq": pids}}, limit=1000))
    return [{"doi": p["doi"], "title": p.get("title"), "status": p.get("status")} for p in found]


# --- publishing the project's data -----------------------------------------------------------------------


def publish(
    s: Session,
    actor: Actor,
    app_id: int,
    pids: list[str],
    *,
    title: str,
    abstract: str,
    description: str = "",
) -> dict[str, Any]:
    """Published data (pending its DOI) of some of the project's datasets, with the team as creators. Its
    DataCite metadata credits the programme (``halric.catalog.credit``): funder and award, the project,
    the instruments, PaNET techniques. For the project's group (team, facility contacts) and data
    stewards; a data steward registers the DOI."""
    app, _project, _hats = calls.get_project(s, actor, app_id)
    if app.redacted:
        raise PermissionDenied(
            "This is a confidential project: accept the call's confidentiality terms before you publish its data."
        )
    space = space_of(s, app.id)
    if space is None or not catalog_rules.can_write(actor, space.group_name):
        raise PermissionDenied("Only the project's team and facility contacts publish its datasets.")
    if not title.strip():
        raise InvalidInput("title: give the published data a title", field="title")
    if not abstract.strip():
        raise InvalidInput("abstract: say in a few sentences what the data are", field="abstract")
    mine = {d["pid"] for d in _dataset_rows(s, actor, space)}
    chosen = list(dict.fromkeys(p for p in pids if p))
    if not chosen:
        raise InvalidInput("pidArray: choose the datasets to publish", field="pidArray")
    for pid in chosen:
        if pid not in mine:
            raise InvalidInput(f"pidArray: {pid!r} is not a dataset of this project", field="pidArray")
    sync(s, actor, app.id)  # the team, its ORCID iDs and the funding as they are now
    creators = [m["name"] for m in team_credits(s, app)]
    record = {"title": title.strip(), "abstract": abstract.strip(), "creator": creators, "pidArray": chosen,
              "resourceType": "Dataset", **({"dataDescription": description.strip()} if description.strip() else {})}  # fmt: skip
    # the team's explicit decision (the terms accepted, checked above) is the one way a confidential
    # project's datasets leave their group: a DOI's registration will then publish them
    catalog_confidential.release(s, actor, chosen, f"published by the team of pilot project {app.id}")
    return catalog_published.create(s, actor, record)


# --- the end of the project ----------------------------------------------------------------------------------


def final_report(
    s: Session,
    actor: Actor,
    app_id: int,
    report: dict[str, str],
    satisfaction: dict[str, int],
    *,
    publications: list[dict[str, str]] | None = None,
    datasets: list[str] | None = None,
) -> Project:
    """The final report, linking publications (DOIs) and datasets — which must be the project's datasets
    the applicant may read."""
    space = space_of(s, app_id)
    pids = [p.strip() for p in datasets or [] if p.strip()]
    if pids:
        calls.get_project(s, actor, app_id)  # the caller's right to the project first (404 for outsiders)
        mine = {d["pid"] for d in _dataset_rows(s, actor, space)}
        for pid in pids:
            if pid not in mine:
                raise InvalidInput(f"datasets: {pid!r} is not a dataset of this project", field="datasets")
    return calls.final_report(
        s, actor, app_id, report, satisfaction, publications=publications, datasets=pids
    )
