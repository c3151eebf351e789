"""Every column that points at an account is accounted for by the person's-data export and erasure.

A new table with a foreign key to ``users`` fails this test until its author decides what the export of
``halric.gdpr`` shows of it and what an erasure does with it (the domain's ``personal.py``), and records
that here. Rows that only point at the account may stay: the erased account is kept, under its pseudonym.
"""

from __future__ import annotations

EXPORTED_AND_REMOVED = {  # in the export; deleted (or detached) at an erasure
    "account_tokens.user_id", "api_tokens.user_id", "external_identities.user_id", "user_groups.user_id",
    "user_roles.user_id", "web_sessions.user_id", "expert_profiles.user_id", "federation_user_tokens.user_id",
    "match_queries.user_id", "match_feedback.user_id",
}  # fmt: skip
EXPORTED_AND_HANDED_OVER = {"applications.owner_id"}  # to the successor
EXPORTED_AND_KEPT = {  # in the export; the row stays, pointing at the pseudonymous account
    "application_collaborators.user_id", "application_comments.author_id", "application_transitions.actor_id",
    "committee_reviews.member_id", "feasibility_reviews.reviewer_id",
    "confidentiality_acceptances.user_id",  # the record that the terms were accepted (calls/personal.py)
}  # fmt: skip
KEPT = {  # who acted for the hub or a facility: the row stays, pointing at the pseudonymous account
    "calls.created_by", "applications.updated_by", "decisions.decided_by", "visits.confirmed_by",
    "visit_samples.created_by", "visit_samples.reviewed_by", "visit_slots.offered_by", "visit_slots.booked_by",
    # who declared a project's solution or its uptake (the project's record, evidence for RCO116/RCR104)
    "project_solutions.declared_by", "solution_uptakes.declared_by",
}  # fmt: skip


def test_every_reference_to_an_account_is_handled():
    from halric.models import metadata

    found = {
        f"{t.name}.{fk.parent.name}"
        for t in metadata.sorted_tables
        for fk in t.foreign_keys
        if fk.column.table.name == "users"
    }
    known = EXPORTED_AND_REMOVED | EXPORTED_AND_HANDED_OVER | EXPORTED_AND_KEPT | KEPT
    assert found - known == set(), "decide what export and erasure do with these (see the docstring)"
    assert known - found == set(), "these columns are gone: remove them here"
