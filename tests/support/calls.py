"""Pilot calls: the body of a complete application draft."""

from __future__ import annotations


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
