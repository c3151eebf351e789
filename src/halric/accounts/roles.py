"""The roles of the hub. Admin passes every role check."""

from __future__ import annotations

ROLES: dict[str, str] = {
    "applicant": "Applicant — drafts and submits pilot-project applications",
    "ambassador": "Cross-border ambassador — advises applicants in a region",
    "reviewer": "Reviewer — reviews assigned applications",
    "committee": "Committee member — scores applications and decides",
    "facility": "Facility staff — maintains instruments and reviews feasibility",
    "steward": "Data steward — curates datasets and their access",
    "coordinator": "Consortium coordinator — runs calls and follows the KPIs",
    "admin": "Administrator — manages accounts and sees the audit log",
}

ROLE_ALIASES = {
    "committee-member": "committee",
    "committee_member": "committee",
    "facility-staff": "facility",
    "facility_staff": "facility",
    "data-steward": "steward",
    "data_steward": "steward",
}


def normalise_role(name: str) -> str:
    key = name.strip().lower()
    key = ROLE_ALIASES.get(key, key)
    if key not in ROLES:
        raise ValueError(f"unknown role {name!r}; choose one of: {', '.join(ROLES)}")
    return key
