"""Migration 0016 on a database holding what an older hub stored: a running project with a free-text list of
dataset pids. It gets its group (with its people) and proposal, the known pids move onto the datasets, the
unknown ones into the audit log, and the column goes; the downgrade brings the list back."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa
from tests.support.migrations import insert


def test_upgrade_makes_spaces_and_moves_the_pid_list(empty_url):
    from alembic import command

    from halric.core.db import Database
    from halric.migrations import alembic_config, upgrade

    upgrade(empty_url, "0015")
    db = Database(empty_url)
    tag = uuid.uuid4().hex[:6]
    try:
        with db.engine.begin() as conn:
            insert(conn, "organisations", id="maxiv", name="MAX IV Laboratory", country="SE", kind="facility",
                   ror="https://ror.org/02xzyfv26")  # fmt: skip
            insert(conn, "organisations", id="lu", name="Lund University", country="SE", kind="university")
            insert(conn, "infrastructures", id="maxiv", name="MAX IV", organisation_id="maxiv", country="SE",
                   partner_ids=[])  # fmt: skip
            insert(conn, "instruments", id="maxiv-danmax", name="DanMAX", infrastructure_id="maxiv",
                   organisation_id="maxiv", country="SE")  # fmt: skip

            def user(name: str, org: str | None = None, role: str | None = None, active: bool = True) -> int:
                uid = insert(conn, "users", username=f"{name}{tag}", email=f"{name}{tag}@example.org",
                             full_name=name.capitalize() + " Person", organisation_id=org, is_active=active)  # fmt: skip
                if role:
                    insert(conn, "user_roles", user_id=uid, role=role)
                return uid

            owner = user("owner", "lu", "applicant")
            coapp = user("coapp", "lu", "applicant")
            invited = user("invited", "lu", "applicant")  # invited, never accepted
            user("staff", "maxiv", "facility")
            user("gone", "maxiv", "facility", active=False)
            user("desy", "desy", "facility")
            call = insert(conn, "calls", slug=f"old-{tag}", title="Old call", opens_on=date(2026, 1, 1),
                          budget_ceiling=60000, currency="EUR", duration_months=6, criteria=[], rules=[], cutoffs=[])  # fmt: skip
            app = insert(conn, "applications", call_id=call, owner_id=owner, state="running", title="Old pilot",
                         instruments=["maxiv-danmax"], motivations={})  # fmt: skip
            insert(conn, "application_team", application_id=app, position=0, name="Owner Person",
                   email=f"owner{tag}@example.org", organisation_id="lu", country="SE", sector="academia")  # fmt: skip
            for uid, accepted in ((coapp, datetime(2026, 2, 1, tzinfo=UTC)), (invited, None)):
                insert(conn, "application_collaborators", application_id=app, kind="co-applicant",
                       email=f"{uid}@example.org", user_id=uid, accepted_at=accepted, invited_at=datetime.now(UTC))  # fmt: skip
            insert(conn, "projects", application_id=app, started_on=date(2026, 3, 1), ends_on=date(2026, 9, 1),
                   milestones=[], publications=[], final_report={}, satisfaction={}, cost_claims=[],
                   datasets=["20.500.12345/known", "20.500.12345/typo", "20.500.12345/known"])  # fmt: skip
            insert(conn, "catalog_datasets", pid="20.500.12345/known", type="raw", owner="x", contact_email="x@y",
                   owner_group="lab", source_folder="/data/k", creation_time=datetime(2026, 4, 1, tzinfo=UTC),
                   proposal_ids=["LAB-1"], search_text="known lab-1", access_groups=[])  # fmt: skip

        upgrade(empty_url, "0016")
        group, proposal = f"pilot-{app}", f"HALRIC-{app}"
        with db.engine.connect() as conn:
            assert "datasets" not in {c["name"] for c in sa.inspect(conn).get_columns("projects")}
            members = set(conn.scalars(sa.text(
                "SELECT u.username FROM users u JOIN user_groups ug ON ug.user_id = u.id "
                "JOIN groups g ON g.id = ug.group_id WHERE g.name = :g"), {"g": group}))  # fmt: skip
            assert members == {f"owner{tag}", f"coapp{tag}", f"staff{tag}"}
            space = conn.execute(sa.text("SELECT group_name, proposal_id FROM project_spaces WHERE application_id = :a"),
                                 {"a": app}).one()  # fmt: skip
            assert tuple(space) == (group, proposal)
            props = sa.Table("catalog_proposals", sa.MetaData(), autoload_with=conn)
            p = conn.execute(sa.select(props).where(props.c.proposal_id == proposal)).one()
            assert p.owner_group == group and p.pilot_project_id == str(app) and p.title == "Old pilot"
            assert p.pi_email == f"owner{tag}@example.org"
            meta = p.proposal_metadata["halric"]
            assert meta["team"] == [{"name": "Owner Person", "affiliation": {"name": "Lund University"}}]
            assert meta["instruments"][0]["facility"] == "MAX IV"
            assert meta["funding"] == {"funderName": "Interreg Öresund-Kattegat-Skagerrak", "awardNumber": ""}
            dsets = sa.Table("catalog_datasets", sa.MetaData(), autoload_with=conn)
            ds = conn.execute(sa.select(dsets).where(dsets.c.pid == "20.500.12345/known")).one()
            # appended: the dataset's first proposal keeps deciding its embargo
            assert ds.proposal_ids == ["LAB-1", proposal]
            assert proposal.lower() in ds.search_text
            terms = set(conn.execute(sa.text("SELECT kind, value FROM catalog_dataset_terms WHERE dataset_pid = :p"),
                                     {"p": "20.500.12345/known"}))  # fmt: skip
            assert ("proposal", proposal) in terms
            audit = sa.Table("audit_events", sa.MetaData(), autoload_with=conn)
            ev = conn.execute(sa.select(audit).where(audit.c.action == "migrate-datasets")).one()
            assert ev.details == {"attached": ["20.500.12345/known"], "unknown": ["20.500.12345/typo"]}
            calls = sa.Table("calls", sa.MetaData(), autoload_with=conn)
            assert (
                conn.execute(sa.select(calls.c.funder_name)).scalar_one()
                == "Interreg Öresund-Kattegat-Skagerrak"
            )

        # the downgrade brings the list back (the project's datasets, by their proposal id)
        command.downgrade(alembic_config(empty_url), "0015")
        with db.engine.connect() as conn:
            projects = sa.Table("projects", sa.MetaData(), autoload_with=conn)
            assert conn.execute(sa.select(projects.c.datasets)).scalar_one() == ["20.500.12345/known"]
            assert "project_spaces" not in sa.inspect(conn).get_table_names()
        # and upgrading again adopts the group and proposal made the first time
        upgrade(empty_url, "0016")
        with db.engine.connect() as conn:
            n = conn.scalar(sa.text("SELECT count(*) FROM user_groups ug JOIN groups g ON g.id = ug.group_id "
                                    "WHERE g.name = :g"), {"g": group})  # fmt: skip
            assert n == 3
            assert conn.scalar(sa.text("SELECT count(*) FROM project_spaces")) == 1
    finally:
        db.dispose()
