"""Fixtures for the pilot-call workflow: a registry, an open call and people in every role."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from tests.support.accounts import bearer


@pytest.fixture(autouse=True)
def _registry(loaded):
    return loaded


@pytest.fixture()
def people(make_user, db):
    """Headers for an applicant (at a company), an ambassador, staff of MAX IV and of DESY, two committee
    members (one from Lund University, one from DTU) and a coordinator."""
    names = {
        "applicant": make_user(["applicant"], prefix="appl"),
        "other": make_user(["applicant"], prefix="other"),
        "ambassador": make_user(["ambassador"], prefix="amb", organisation="lu"),
        "maxiv_staff": make_user(["facility"], prefix="fac", organisation="maxiv"),
        "desy_staff": make_user(["facility"], prefix="fac", organisation="desy"),
        "member_lu": make_user(["committee"], prefix="com", organisation="lu"),
        "member_dtu": make_user(["committee"], prefix="com", organisation="dtu"),
        "coordinator": make_user(["coordinator"], prefix="coord"),
    }
    return {k: {"name": v, "h": bearer(db, v)} for k, v in names.items()}


@pytest.fixture()
def open_call(client, people):
    today = date.today()
    body = {
        "slug": f"pilot-{people['coordinator']['name']}", "title": "HALRIC pilot projects, test call",
        "text": "Cross-border pilots.", "opens_on": (today - timedelta(days=1)).isoformat(),
        "cutoffs": [(today + timedelta(days=30)).isoformat(), (today + timedelta(days=90)).isoformat()],
        "budget_ceiling": "60000.00", "duration_months": 6,
    }  # fmt: skip
    r = client.post("/api/calls", json=body, headers=people["coordinator"]["h"])
    assert r.status_code == 201, r.text
    return r.json()
