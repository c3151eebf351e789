"""projects: project spaces (group + catalog proposal per pilot), call funder and award number; the free-text
dataset list of projects moves onto the datasets (their proposal id) and goes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-10

For every project already started, the upgrade makes what ``halric.projects.service.create_space`` makes
today: the group ``pilot-<application id>`` with the project's people (applicant, accepted co-applicants,
facility staff of the organisations running a requested instrument, feasibility reviewers; active accounts),
and the proposal ``HALRIC-<application id>`` owned by it. The rule is copied here as it stands at this
revision (a migration must not import the models, which move on). Each pid of ``projects.datasets`` that
names a catalogued dataset gets the project's proposal id appended to the dataset's proposalIds; pids the
catalog does not know are kept in the audit log (action ``migrate-datasets``). The hub's next sync of a
project rewrites its proposal with everything the code of its day knows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import halric.core.db

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UTCT = halric.core.db.UTCDateTime(timezone=True)
JSONT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
FUNDER = "Interreg Öresund-Kattegat-Skagerrak"
ACTOR = "migration-0016"

# the tables as this revision knows them (only the columns used)
applications = sa.table(
    "applications", sa.column("id", sa.Integer), sa.column("call_id", sa.Integer),
    sa.column("owner_id", sa.Integer), sa.column("title", sa.String), sa.column("lay_summary", sa.Text),
    sa.column("instruments", JSONT), sa.column("state", sa.String),
)  # fmt: skip
projects = sa.table(
    "projects", sa.column("id", sa.Integer), sa.column("application_id", sa.Integer),
    sa.column("started_on", sa.Date), sa.column("ends_on", sa.Date), sa.column("datasets", JSONT),
)  # fmt: skip
calls = sa.table(
    "calls", sa.column("id", sa.Integer), sa.column("slug", sa.String), sa.column("title", sa.String),
    sa.column("funder_name", sa.String), sa.column("award_number", sa.String),
)  # fmt: skip
team = sa.table(
    "application_team", sa.column("application_id", sa.Integer), sa.column("position", sa.Integer),
    sa.column("name", sa.String), sa.column("email", sa.String), sa.column("organisation_id", sa.String),
)  # fmt: skip
collaborators = sa.table(
    "application_collaborators", sa.column("application_id", sa.Integer), sa.column("kind", sa.String),
    sa.column("user_id", sa.Integer), sa.column("accepted_at", UTCT),
)  # fmt: skip
feasibility = sa.table(
    "feasibility_reviews", sa.column("application_id", sa.Integer), sa.column("infrastructure_id", sa.String),
    sa.column("reviewer_id", sa.Integer),
)  # fmt: skip
users = sa.table(
    "users", sa.column("id", sa.Integer), sa.column("username", sa.String), sa.column("email", sa.String),
    sa.column("full_name", sa.String), sa.column("organisation_id", sa.String), sa.column("is_active", sa.Boolean),
    sa.column("orcid", sa.String), sa.column("email_verified_at", UTCT),
)  # fmt: skip
user_roles = sa.table("user_roles", sa.column("user_id", sa.Integer), sa.column("role", sa.String))
groups = sa.table(
    "groups", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("description", sa.String),
    sa.column("created_at", UTCT),
)  # fmt: skip
user_groups = sa.table(
    "user_groups", sa.column("user_id", sa.Integer), sa.column("group_id", sa.Integer),
    sa.column("source", sa.String),
)  # fmt: skip
organisations = sa.table(
    "organisations", sa.column("id", sa.String), sa.column("name", sa.String), sa.column("ror", sa.String)
)
infrastructures = sa.table(
    "infrastructures", sa.column("id", sa.String), sa.column("name", sa.String),
    sa.column("organisation_id", sa.String),
)  # fmt: skip
instruments = sa.table(
    "instruments", sa.column("id", sa.String), sa.column("name", sa.String),
    sa.column("infrastructure_id", sa.String),
)  # fmt: skip
instrument_techniques = sa.table(
    "instrument_techniques", sa.column("instrument_id", sa.String), sa.column("technique_id", sa.String),
    sa.column("position", sa.Integer),
)  # fmt: skip
techniques = sa.table(
    "techniques", sa.column("id", sa.String), sa.column("label", sa.String), sa.column("panet_iri", sa.String),
    sa.column("vocabulary", sa.String),
)  # fmt: skip
proposals = sa.table(
    "catalog_proposals", *(sa.column(c, sa.String) for c in (
        "proposal_id", "title", "email", "firstname", "lastname", "pi_email", "pi_firstname", "pi_lastname",
        "type", "pilot_project_id", "owner_group", "created_by", "updated_by")),
    sa.column("abstract", sa.Text), sa.column("start_time", UTCT), sa.column("end_time", UTCT),
    sa.column("proposal_metadata", JSONT), sa.column("measurement_periods", JSONT),
    sa.column("access_groups", JSONT), sa.column("is_published", sa.Boolean),
    sa.column("never_release", sa.Boolean), sa.column("created_at", UTCT), sa.column("updated_at", UTCT),
)  # fmt: skip
datasets = sa.table(
    "catalog_datasets", sa.column("pid", sa.String), sa.column("proposal_ids", JSONT),
    sa.column("search_text", sa.Text),
)  # fmt: skip
terms = sa.table(
    "catalog_dataset_terms", sa.column("dataset_pid", sa.String), sa.column("kind", sa.String),
    sa.column("value", sa.String),
)  # fmt: skip
spaces = sa.table(
    "project_spaces", sa.column("application_id", sa.Integer), sa.column("group_name", sa.String),
    sa.column("proposal_id", sa.String), sa.column("created_at", UTCT), sa.column("synced_at", UTCT),
)  # fmt: skip
audit = sa.table(
    "audit_events", sa.column("at", UTCT), sa.column("actor_id", sa.Integer), sa.column("actor_name", sa.String),
    sa.column("via", sa.String), sa.column("ip", sa.String), sa.column("action", sa.String),
    sa.column("entity_type", sa.String), sa.column("entity_id", sa.String), sa.column("details", JSONT),
)  # fmt: skip


def _list(value: Any) -> list[Any]:
    if isinstance(value, str):  # a JSON column read as text by an older driver
        value = json.loads(value)
    return list(value or [])


def _organisation(conn: Any, oid: str | None) -> dict[str, str]:
    if not oid:
        return {}
    row = conn.execute(
        sa.select(organisations.c.name, organisations.c.ror).where(organisations.c.id == oid)
    ).first()
    if row is None:
        return {"name": oid}
    return {"name": row.name, **({"ror": row.ror} if row.ror else {})}


def _people(conn: Any, app: Any) -> set[int]:
    active = {r.id for r in conn.execute(sa.select(users.c.id).where(users.c.is_active.is_(True)))}
    out = {app.owner_id} & active
    q = sa.select(collaborators.c.user_id).where(
        collaborators.c.application_id == app.id, collaborators.c.kind == "co-applicant",
        collaborators.c.accepted_at.is_not(None), collaborators.c.user_id.is_not(None),
    )  # fmt: skip
    out |= set(conn.scalars(q)) & active
    infras = {}
    for iid in _list(app.instruments):
        row = conn.execute(
            sa.select(infrastructures.c.id, infrastructures.c.organisation_id)
            .join(instruments, instruments.c.infrastructure_id == infrastructures.c.id)
            .where(instruments.c.id == iid)
        ).first()
        if row is not None:
            infras[row.id] = row.organisation_id
    if infras:
        q = (
            sa.select(users.c.id)
            .join(user_roles, user_roles.c.user_id == users.c.id)
            .where(users.c.organisation_id.in_(set(infras.values())), user_roles.c.role == "facility")
        )
        out |= set(conn.scalars(q)) & active
        q = sa.select(feasibility.c.reviewer_id).where(
            feasibility.c.application_id == app.id, feasibility.c.infrastructure_id.in_(list(infras))
        )
        out |= set(conn.scalars(q)) & active
    return out


def _context(conn: Any, app: Any, call: Any) -> dict[str, Any]:
    owner = conn.execute(sa.select(users).where(users.c.id == app.owner_id)).first()
    rows = list(
        conn.execute(sa.select(team).where(team.c.application_id == app.id).order_by(team.c.position))
    )
    emails = [r.email.lower() for r in rows if r.email]
    orcids = {
        r.email.lower(): r.orcid
        for r in conn.execute(
            sa.select(users.c.email, users.c.orcid).where(
                sa.func.lower(users.c.email).in_(emails),
                users.c.is_active.is_(True),
                users.c.email_verified_at.is_not(None),
                users.c.orcid.is_not(None),
            )
        )
    }
    credits = []
    if owner is not None and owner.email.lower() not in emails:
        credits.append({"name": owner.full_name or owner.username,
                        "affiliation": _organisation(conn, owner.organisation_id),
                        **({"orcid": owner.orcid} if owner.orcid else {})})  # fmt: skip
    for r in rows:
        orcid = orcids.get(r.email.lower()) if r.email else None
        credits.append({"name": r.name, "affiliation": _organisation(conn, r.organisation_id),
                        **({"orcid": orcid} if orcid else {})})  # fmt: skip
    insts, techs = [], {}
    for iid in _list(app.instruments):
        row = conn.execute(
            sa.select(instruments.c.id, instruments.c.name, infrastructures.c.name.label("facility"))
            .join(infrastructures, infrastructures.c.id == instruments.c.infrastructure_id)
            .where(instruments.c.id == iid)
        ).first()
        if row is None:
            continue
        insts.append({"id": row.id, "name": row.name, "facility": row.facility})
        q = (
            sa.select(techniques)
            .join(instrument_techniques, instrument_techniques.c.technique_id == techniques.c.id)
            .where(instrument_techniques.c.instrument_id == iid)
            .order_by(instrument_techniques.c.position)
        )
        for t in conn.execute(q):
            if t.vocabulary == "panet":
                techs[t.id] = {"id": t.id, "label": t.label, **({"iri": t.panet_iri} if t.panet_iri else {})}
    return {
        "applicationId": app.id, "title": app.title, "call": {"slug": call.slug, "title": call.title},
        "funding": {"funderName": call.funder_name or FUNDER, "awardNumber": call.award_number or ""},
        "instruments": insts, "techniques": list(techs.values()), "team": credits,
    }  # fmt: skip


def _moment(d: Any) -> datetime | None:
    return None if d is None else datetime.combine(d, time(0, 0), tzinfo=UTC)


def _record(conn: Any, action: str, entity: str, entity_id: Any, details: dict[str, Any]) -> None:
    conn.execute(audit.insert().values(at=datetime.now(UTC), actor_id=None, actor_name=ACTOR, via="system",
                                       ip=None, action=action, entity_type=entity, entity_id=str(entity_id),
                                       details=details))  # fmt: skip


def _make_spaces(conn: Any) -> None:
    now = datetime.now(UTC)
    q = sa.select(applications, projects.c.started_on, projects.c.ends_on, projects.c.datasets).join(
        projects, projects.c.application_id == applications.c.id
    )
    for app in list(conn.execute(q.order_by(applications.c.id))):
        call = conn.execute(sa.select(calls).where(calls.c.id == app.call_id)).first()
        group, proposal = f"pilot-{app.id}", f"HALRIC-{app.id}"
        gid = conn.scalar(sa.select(groups.c.id).where(groups.c.name == group))
        if gid is None:
            desc = f"Team of HALRIC pilot project {app.id}: {app.title}"[:500]
            gid = conn.execute(
                groups.insert().values(name=group, description=desc, created_at=now).returning(groups.c.id)
            ).scalar_one()
        have = set(conn.scalars(sa.select(user_groups.c.user_id).where(user_groups.c.group_id == gid)))
        added = sorted(_people(conn, app) - have)
        for uid in added:
            conn.execute(user_groups.insert().values(user_id=uid, group_id=gid, source=f"project:{app.id}"))
        owner = conn.execute(sa.select(users).where(users.c.id == app.owner_id)).first()
        name = ((owner.full_name or owner.username) if owner else "").split()
        first, last = (
            (" ".join(name[:-1]), name[-1]) if len(name) > 1 else ((name[0] if name else None), None)
        )
        email = owner.email if owner else ""
        if conn.scalar(sa.select(proposals.c.proposal_id).where(proposals.c.proposal_id == proposal)) is None:
            conn.execute(proposals.insert().values(
                proposal_id=proposal, title=(app.title or f"Pilot project {app.id}")[:500],
                abstract=app.lay_summary or None, email=email, firstname=first, lastname=last, pi_email=email,
                pi_firstname=first, pi_lastname=last, start_time=_moment(app.started_on),
                end_time=_moment(app.ends_on), type="HALRIC pilot project", pilot_project_id=str(app.id),
                owner_group=group, proposal_metadata={"halric": _context(conn, app, call)}, measurement_periods=[],
                access_groups=[], is_published=False, never_release=False, created_by=ACTOR, updated_by=ACTOR,
                created_at=now, updated_at=now,
            ))  # fmt: skip
        conn.execute(spaces.insert().values(application_id=app.id, group_name=group, proposal_id=proposal,
                                            created_at=now, synced_at=now))  # fmt: skip
        _record(
            conn,
            "create",
            "project-space",
            app.id,
            {"group": group, "proposalId": proposal, "members": len(added)},
        )
        attached, unknown = [], []
        for pid in dict.fromkeys(str(p).strip() for p in _list(app.datasets) if str(p).strip()):
            ds = conn.execute(sa.select(datasets).where(datasets.c.pid == pid)).first()
            if ds is None:
                unknown.append(pid)
                continue
            ids = _list(ds.proposal_ids)
            if proposal not in ids:
                conn.execute(datasets.update().where(datasets.c.pid == pid).values(
                    proposal_ids=[*ids, proposal], search_text=f"{ds.search_text or ''} {proposal.lower()}".strip()))  # fmt: skip
                conn.execute(terms.insert().values(dataset_pid=pid, kind="proposal", value=proposal))
            attached.append(pid)
        if attached or unknown:
            _record(
                conn, "migrate-datasets", "project-space", app.id, {"attached": attached, "unknown": unknown}
            )


def upgrade() -> None:
    op.add_column("calls", sa.Column("funder_name", sa.String(300), nullable=False, server_default=FUNDER))
    op.add_column("calls", sa.Column("award_number", sa.String(100), nullable=False, server_default=""))
    op.create_table(
        "project_spaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("group_name", sa.String(length=150), nullable=False),
        sa.Column("proposal_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCT, nullable=False),
        sa.Column("synced_at", UTCT, nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_project_spaces_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_spaces")),
        sa.UniqueConstraint("application_id", name=op.f("uq_project_spaces_application_id")),
        sa.UniqueConstraint("group_name", name=op.f("uq_project_spaces_group_name")),
        sa.UniqueConstraint("proposal_id", name=op.f("uq_project_spaces_proposal_id")),
    )
    _make_spaces(op.get_bind())
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("datasets")


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("datasets", JSONT, nullable=False, server_default="[]"))
    conn = op.get_bind()
    for app_id, proposal in list(conn.execute(sa.select(spaces.c.application_id, spaces.c.proposal_id))):
        q = sa.select(terms.c.dataset_pid).where(terms.c.kind == "proposal", terms.c.value == proposal)
        pids = sorted(set(conn.scalars(q)))
        conn.execute(projects.update().where(projects.c.application_id == app_id).values(datasets=pids))
    op.drop_table("project_spaces")
    # ALTER TABLE DROP COLUMN (SQLite >= 3.35): a batch copy of ``calls`` would break the foreign keys to it
    op.drop_column("calls", "award_number")
    op.drop_column("calls", "funder_name")
