"""Pieces of the confidential-pilot rules that need no database: e-mail domains of organisations, and the
redacted application failing closed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from halric.calls.confidential import LABEL, Redacted, RedactedProject, public_title, unwrap
from halric.calls.conflicts import organisation_domain, registered_domain


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("www.lunduniversity.lu.se", "lu.se"),
        ("vard.skane.se", "skane.se"),
        ("www.ku.dk", "ku.dk"),
        ("shop.example.co.uk", "example.co.uk"),  # a generic second level keeps three labels
        ("research.acme.com.au", "acme.com.au"),
        ("desy.de", "desy.de"),
    ],
)
def test_registered_domain(host, domain):
    assert registered_domain(host) == domain


def test_organisation_domain_from_the_registry_web_address():
    assert organisation_domain("https://www.embl.org/sites/hamburg/") == "embl.org"
    assert organisation_domain(None) is None and organisation_domain("not a url") is None


def _app(**kw):
    base = dict(id=7, call_id=1, call=SimpleNamespace(title="Call"), owner_id=3, state="committee", version=4,
                duration_months=6, cutoff=None, created_at=None, updated_at=None, updated_by=None,
                submitted_at=None, decided_at=None, confidential=True, public_summary="Public words.",
                title="Secret title", lay_summary="Secret lay", research_question="Secret question",
                work_plan="Secret plan", timeline="t", impact="i", data_management="d", motivations={"a": "b"},
                instruments=["maxiv-danmax"], budget=[1], in_kind=[2], excluded_organisations=[{"name": "X"}],
                copied_from_id=None, secret_new_field="Secret too",
                team=[SimpleNamespace(position=0, name="Nora", email="n@x.se", organisation_id="lu",
                                      country="SE", sector="industry", role="PI")])  # fmt: skip
    base.update(kw)
    return SimpleNamespace(**base)


def test_a_redacted_application_shows_only_public_fields_and_fails_closed():
    real = _app()
    r = Redacted(real)
    assert r.redacted is True and r.title == LABEL.format(id=7) == "Confidential pilot #7"
    assert r.lay_summary == "Public words." and r.work_plan == "" and r.budget == [] and r.instruments == []
    assert r.motivations == {} and r.excluded_organisations == []
    m = r.team[0]
    assert (m.country, m.sector, m.name, m.email, m.organisation_id, m.role) == (
        "SE",
        "industry",
        "",
        "",
        "",
        "",
    )
    with pytest.raises(AttributeError, match="not shown"):
        _ = r.secret_new_field  # a field nobody listed as public is refused, not passed through
    r.state = "approved"  # writes go to the real application
    assert real.state == "approved" and unwrap(r) is real and r == real
    r.budget.append("x")  # an empty value handed out is a fresh one each time
    assert r.budget == []
    assert (
        public_title(real) == "Confidential pilot #7"
        and public_title(_app(confidential=False)) == "Secret title"
    )


def test_a_redacted_project_keeps_its_dates_only():
    p = RedactedProject(SimpleNamespace(id=1, application_id=7, started_on="2027-01-01", ends_on="2027-06-30",
                                        milestones=[1], publications=[2], final_report={"a": 1}, cost_claims=[3],
                                        satisfaction={"x": 1}, group="pilot-7"))  # fmt: skip
    assert (
        p.started_on == "2027-01-01" and p.milestones == [] and p.final_report == {} and p.cost_claims == []
    )
    with pytest.raises(AttributeError):
        _ = p.group
