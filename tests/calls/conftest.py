"""Fixtures for the pilot-call workflow: a registry, an open call and people in every role."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from conftest import bearer


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


def complete_draft(version: int, **overrides) -> dict:
    body = {
        "version": version,
        "title": "Polymorph stability of a tablet formulation",
        "lay_summary": "We want to know why our tablets change when stored humid.",
        "research_question": "Which crystal form appears during storage, and how fast?",
        "instruments": ["maxiv-danmax"],
        "work_plan": "In-situ powder diffraction at DanMAX during humidity cycling.",
        "timeline": "Months 1–2 preparation, 3–4 beamtime, 5–6 analysis.",
        "duration_months": 6,
        "impact": "Shorter stability studies for the company's formulation pipeline.",
        "data_management": "Raw data stay at MAX IV; processed data in the HALRIC catalog under embargo.",
        "team": [
            {"name": "Ada Pharma", "email": "ada@example.com", "organisation_id": "lu", "country": "SE",
             "sector": "academia", "role": "PI"},
            {"name": "Ben Clinic", "email": "ben@example.com", "organisation_id": "rigshospitalet", "country": "DK",
             "sector": "hospital", "role": "co-PI"},
        ],
        "budget": [
            {"organisation_id": "lu", "cost_type": "employment", "description": "Postdoc",
             "person_months": "3.5", "monthly_cost": "7000.10"},
            {"organisation_id": "rigshospitalet", "cost_type": "employment", "description": "Technician",
             "person_months": "1.25", "monthly_cost": "5200.00"},
        ],
        "in_kind": [{"organisation_id": "maxiv", "description": "Beamtime support", "amount": "12000.00"}],
    }  # fmt: skip
    body.update(overrides)
    return body
