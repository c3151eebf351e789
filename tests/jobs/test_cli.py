"""`halric jobs`: queue a job, list the dead-letter list, retry; bad input is one line and exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _halric(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HALRIC_DATABASE_URL": settings.db_url,
        "HALRIC_DATA_DIR": str(settings.data_dir),
        "HALRIC_BROKER_URL": "",  # no broker here: the job waits in the table for a worker's relay
    }
    cmd = [sys.executable, "-m", "halric.cli.main", "jobs", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def test_jobs_commands(db, settings):
    from halric.jobs.models import Job

    ok = _halric(settings, "enqueue", "federation.harvest", "--args", '{"site": "nowhere"}')
    assert ok.returncode == 0, ok.stderr
    with db.session() as s:
        job = s.query(Job).order_by(Job.id.desc()).first()
        assert (job.kind, job.args, job.state, job.requested_by) == (
            "federation.harvest", {"site": "nowhere"}, "pending", "jobs"
        )  # fmt: skip
        job.state, job.last_error = "dead", "NotFound: No site 'nowhere'."
        job_id = job.id
    listed = _halric(settings, "list", "--state", "dead", "--json")
    assert listed.returncode == 0, listed.stderr
    out = json.loads(listed.stdout)
    assert out["counts"]["dead"] >= 1 and job_id in [x["id"] for x in out["items"]]

    bad = _halric(settings, "enqueue", "no.such.job")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no job called" in bad.stderr
    again = _halric(settings, "retry", str(job_id))
    assert again.returncode == 0, again.stderr
    with db.session() as s:
        assert s.get(Job, job_id).state == "pending"
