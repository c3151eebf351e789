"""The programme's indicators on constructed pilots with known answers (no database): each Interreg indicator
and each HALRIC KPI counts what its rule says and nothing else, and its evidence lists exactly what counts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from halric.calls.indicators import (
    TARGET_PILOTS,
    Cell,
    Dataset,
    Org,
    Pilot,
    Solution,
    Uptake,
    as_dict,
    cell_text,
    compute_all,
    evidence_csv,
    indicators_csv,
)

LU = Org("lu", "Lund University", "SE", "academia")
RH = Org("rigshospitalet", "Rigshospitalet", "DK", "hospital")
ACME = Org("acme", "Acme Tablets AB", "SE", "industry")
SU = Org("sahlgrenska", "Sahlgrenska University Hospital", "SE", "hospital")
DTU = Org("dtu", "Technical University of Denmark", "DK", "academia")
DESY = Org("desy", "DESY", "DE", "academia")
UIO = Org("uio", "University of Oslo", "NO", "academia")
NOVO = Org("novo", "Novo Nordisk", "DK", "industry")
CH = Org("ethz", "ETH Zürich", "CH", "academia")


def at(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 12, tzinfo=UTC)


def pilot(app_id: int, state: str, orgs: list[Org], submitted: datetime, **kw) -> Pilot:
    closed = kw.pop("closed", None)
    return Pilot(app_id=app_id, title=f"Pilot {app_id}", call="Call 2027", state=state, submitted_on=submitted.date(),
                 submitted_at=submitted, orgs=orgs, closed_at=closed, closed_on=closed.date() if closed else None,
                 **kw)  # fmt: skip


def uptake(org: Org, on: date) -> Uptake:
    return Uptake(
        org.id, org.name, "taken-up", on, "Adopted in the QA manual, section 4.", "https://example.org/qa"
    )


@pytest.fixture()
def pilots() -> list[Pilot]:
    s1 = Solution(1, "Humidity-cell protocol", "protocol", "Published protocol; training at MAX IV.", date(2027, 6, 1),
                  [uptake(NOVO, date(2027, 9, 1))])  # two months after closure: counts  # fmt: skip
    s2 = Solution(
        2, "Internal script", "tool", "  ", date(2027, 6, 1), [uptake(NOVO, date(2027, 9, 1))]
    )  # no plan
    s3 = Solution(3, "Beamline alignment routine", "method", "Shared with DESY users.", date(2027, 5, 1),
                  [uptake(DESY, date(2027, 5, 2))])  # during the project (not closed)  # fmt: skip
    s4 = Solution(4, "Cryo-transfer kit", "technology", "Drawings are open.", date(2025, 12, 1),
                  [uptake(LU, date(2027, 3, 1))])  # 14 months after closure: too late  # fmt: skip
    return [
        # P1: SE + DK, closed 2027-07-15
        pilot(
            1,
            "closed",
            [LU, RH, ACME],
            at(2026, 11, 1),
            started_on=date(2027, 1, 1),
            report_on=date(2027, 6, 30),
            closed=at(2027, 7, 15),
            infrastructures=[("maxiv", "MAX IV Laboratory")],
            solutions=[s1, s2],
            datasets=[
                Dataset("p/1", "Run 1", date(2027, 2, 1), "10.5072/halric.1"),
                Dataset("p/2", "Run 2", date(2027, 2, 9)),
            ],
        ),
        # P2: funded but one country only
        pilot(
            2,
            "running",
            [LU, SU],
            at(2026, 11, 2),
            started_on=date(2027, 2, 1),
            infrastructures=[("maxiv", "MAX IV Laboratory")],
            datasets=[],
        ),
        # P3: DK + DE, final report in, not closed
        pilot(
            3,
            "final-report",
            [DTU, DESY, CH],
            at(2026, 12, 1),
            started_on=date(2027, 1, 15),
            report_on=date(2027, 7, 1),
            infrastructures=[("desy", "DESY"), ("maxiv", "MAX IV Laboratory")],
            solutions=[s3],
            datasets=[Dataset("p/3", "Scan", datetime(2027, 3, 1, 9, tzinfo=UTC))],
        ),
        # P4: NO + SE, closed long ago
        pilot(
            4,
            "closed",
            [UIO, LU],
            at(2025, 3, 1),
            started_on=date(2025, 6, 1),
            report_on=date(2025, 12, 20),
            closed=at(2026, 1, 10),
            solutions=[s4],
            datasets=None,
        ),
        # R: cross-border but rejected
        pilot(5, "rejected", [NOVO, UIO], at(2027, 1, 5)),
        # later applications: LU + RH within a year of P1's closure (counts for both);
        pilot(6, "eligibility", [LU, RH], at(2027, 10, 1)),
        # ACME + RH more than a year after it (does not count)
        pilot(7, "committee", [ACME, RH], at(2028, 9, 1)),
        # ACME + LU, both Swedish (not across borders)
        pilot(8, "rejected", [ACME, LU], at(2027, 8, 1)),
    ]


def ids(ind, col: int = 0) -> set[str]:
    return {cell_text(r[col]) for r in ind.rows}


def test_rco87_counts_organisations_of_funded_cross_border_pilots_once(pilots):
    ind = compute_all(pilots)["rco87"]
    assert ind.value == 7 and ind.count == 7
    assert ids(ind) == {"Lund University", "Rigshospitalet", "Acme Tablets AB", "Technical University of Denmark",
                        "DESY", "ETH Zürich", "University of Oslo"}  # fmt: skip
    # Sahlgrenska is only in a one-country pilot, Novo only in a rejected one: neither counts
    assert "Sahlgrenska University Hospital" not in ids(ind) and "Novo Nordisk" not in ids(ind)
    lund = next(r for r in ind.rows if cell_text(r[0]) == "Lund University")
    assert [c.href for c in lund[3]] == ["/applications/1", "/applications/4"]  # not the one-country pilot 2
    assert lund[0].href == "/registry/organisations/lu" and lund[4][0].href == "/applications/1/pdf"
    # ETH Zürich (CH) is in pilot 3, whose HALRIC organisations span DK and DE: it cooperates across borders
    assert next(r for r in ind.rows if cell_text(r[0]) == "ETH Zürich")[1] == "CH"


def test_a_pilot_in_one_country_only_does_not_count_for_rco87():
    one = [
        pilot(1, "closed", [LU, SU, ACME], at(2026, 1, 1), started_on=date(2026, 2, 1), closed=at(2026, 9, 1))
    ]
    assert compute_all(one)["rco87"].value == 0 and compute_all(one)["rco84"].value == 0


def test_rco84_counts_joint_pilots_with_the_final_report_in(pilots):
    ind = compute_all(pilots)["rco84"]
    assert ind.value == 3 and {r[0].href for r in ind.rows} == {
        "/applications/1",
        "/applications/3",
        "/applications/4",
    }
    row = next(r for r in ind.rows if r[0].href == "/applications/1")
    assert row[1] == "DK–SE" and row[4] == "2027-06-30" and row[5].href == "/applications/1#final-report"
    # a running cross-border pilot is not yet implemented
    running = [pilot(9, "running", [LU, RH], at(2027, 1, 1), started_on=date(2027, 2, 1))]
    assert compute_all(running)["rco84"].value == 0


def test_rco116_counts_solutions_of_joint_implemented_pilots_with_an_uptake_plan(pilots):
    ind = compute_all(pilots)["rco116"]
    assert ind.value == 3
    assert ids(ind) == {"Humidity-cell protocol", "Beamline alignment routine", "Cryo-transfer kit"}
    assert "Internal script" not in ids(ind)  # no plan for others to take it up


def test_rcr104_counts_uptake_during_the_project_or_within_a_year_of_closure(pilots):
    ind = compute_all(pilots)["rcr104"]
    assert ind.value == 2 and ids(ind) == {"Humidity-cell protocol", "Beamline alignment routine"}
    protocol = next(r for r in ind.rows if cell_text(r[0]) == "Humidity-cell protocol")
    assert cell_text(protocol[2]) == "Novo Nordisk (taken-up, 2027-09-01)"
    assert protocol[3][0].href == "https://example.org/qa"
    # closed 2027-07-15: an uptake counts up to 365 days later (2028-07-14, 2028 being a leap year), not after
    only = [p for p in pilots if p.app_id == 1]
    only[0].solutions[0].uptakes = [uptake(NOVO, date(2028, 7, 14))]
    assert compute_all(only)["rcr104"].value == 1
    only[0].solutions[0].uptakes = [uptake(NOVO, date(2028, 7, 15))]
    assert compute_all(only)["rcr104"].value == 0
    # nor before the project started
    only[0].solutions[0].uptakes = [uptake(NOVO, date(2026, 12, 31))]
    assert compute_all(only)["rcr104"].value == 0


def test_rcr84_counts_organisations_in_a_later_cross_border_application_together(pilots):
    ind = compute_all(pilots)["rcr84"]
    assert ind.value == 2 and ids(ind) == {"Lund University", "Rigshospitalet"}
    lund = next(r for r in ind.rows if cell_text(r[0]) == "Lund University")
    assert [c.href for c in lund[2]] == ["/applications/1"] and [c.href for c in lund[3]] == [
        "/applications/6"
    ]
    assert cell_text(lund[4]) == "Rigshospitalet (DK)"
    # without application 6 nobody counts: 7 is too late, 8 is within one country
    assert compute_all([p for p in pilots if p.app_id != 6])["rcr84"].value == 0
    # an application before the closure is not "after completion"
    early = [p for p in pilots if p.app_id in (1, 6)]
    early[1].submitted_at = at(2027, 7, 14)
    assert compute_all(early)["rcr84"].value == 0


def test_consortium_kpis(pilots):
    inds = compute_all(pilots)
    assert inds["pilots"].value == 4 and inds["pilots"].target == TARGET_PILOTS
    assert inds["pilots"].display == f"4 of {TARGET_PILOTS}"
    pairs = {cell_text(r[0]): r[1] for r in inds["country_pairs"].rows}
    assert pairs == {"DK–SE": 1, "DE–DK": 1, "NO–SE": 1} and inds["country_pairs"].unit == "of 6 pairs"
    sectors = inds["sectors"]
    assert (
        sectors.value == "1 industry, 2 hospital, 5 academia"
    )  # Acme; RH, Sahlgrenska; LU, DTU, DESY, UiO, ETH
    assert sectors.count == 8
    infra = {cell_text(r[0]): r[1] for r in inds["infrastructures"].rows}
    assert infra == {"MAX IV Laboratory": 3, "DESY": 1}
    ds = inds["datasets"]
    # P1: 2 datasets, 1 DOI; P2: none; P3: 1; P4: the catalog was not asked (not in the mean)
    assert ds.value == "1.0 datasets, 0.3 DOIs" and ds.count == 3 and not ds.note
    p1 = next(r for r in ds.rows if r[0].href == "/applications/1")
    assert p1[1:3] == [2, 1] and p1[3][0].href == "https://doi.org/10.5072/halric.1"
    first = inds["first_data"]
    # P1: 2026-11-01 → 2027-02-01 = 92 days; P3: 2026-12-01 → 2027-03-01 = 90 days
    assert {r[0].href: r[4] for r in first.rows} == {"/applications/1": 92, "/applications/3": 90}
    assert first.value == 91


def test_without_catalog_data_the_data_kpis_say_so(pilots):
    for p in pilots:
        p.datasets = None
    inds = compute_all(pilots)
    assert (
        inds["datasets"].value is None
        and inds["datasets"].display == "—"
        and "proposal" in inds["datasets"].note
    )
    assert inds["first_data"].value is None and inds["first_data"].note


COUNTED = {"rco87", "rco84", "rco116", "rcr104", "rcr84", "pilots", "country_pairs", "infrastructures"}


def test_every_count_is_its_evidence_and_exports_carry_both(pilots):
    inds = compute_all(pilots)
    for ind in inds.values():
        d = as_dict(ind)
        assert d["count"] == len(d["rows"]) == len(d["links"]) == ind.count
        if ind.key in COUNTED:
            assert ind.value == ind.count, ind.key
        assert all(len(r) == len(ind.header) for r in ind.rows), ind.key
    text = indicators_csv(inds.values())
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["code", "indicator", "value"]
    figures = {r[0] or r[1]: r for r in rows[1 : 1 + len(inds)]}
    assert figures["RCO87"][2] == "7" and figures["RCR84"][2] == "2" and figures["RCO84"][5] == "3"
    sections = [r[0] for r in rows if r and r[0].startswith("Evidence: ")]
    assert (
        len(sections) == len(inds)
        and "Evidence: RCR84 Organisations cooperating across borders after project completion" in sections
    )
    one = list(csv.reader(io.StringIO(evidence_csv(inds["rcr84"]))))
    assert one[0] == inds["rcr84"].header and sorted(r[0] for r in one[1:]) == [
        "Lund University",
        "Rigshospitalet",
    ]


def test_cells():
    assert (
        cell_text([Cell("a", "/x"), Cell("b")]) == "a; b"
        and cell_text(None) == ""
        and cell_text(Decimal("2.5")) == "2.5"
    )


def test_a_confidential_pilot_is_counted_but_never_named(pilots):
    """Lists and exports show a confidential application as "Confidential pilot #id" only (calls/confidential.py):
    its title, organisations, instruments and solutions appear in no evidence, while every figure stays."""
    before = {k: i.value for k, i in compute_all(pilots).items()}
    next(p for p in pilots if p.app_id == 3).confidential = True  # DTU, DESY and ETH Zürich are only in it
    inds = compute_all(pilots)
    assert {k: i.value for k, i in inds.items()} == before
    text = " ".join(cell_text(v) for i in inds.values() for r in i.rows for v in r)
    for secret in ("Pilot 3", "Technical University of Denmark", "ETH Zürich", "Beamline alignment routine",
                   "Shared with DESY users"):  # fmt: skip
        assert secret not in text, secret
    # DESY the organisation is not named (DESY the infrastructure is counted, as the KPI tables count it)
    assert not [r for k in ("rco87", "sectors", "rcr84") for r in inds[k].rows if cell_text(r[0]) == "DESY"]
    assert any(cell_text(r[0]) == "Confidential pilot #3" for r in inds["rco84"].rows)
    hidden = [r for r in inds["rco87"].rows if cell_text(r[0]) == "An organisation of a confidential pilot"]
    assert len(hidden) == 3 and [r[1] for r in hidden] == ["CH", "DE", "DK"]  # by country, not by name
    assert all(cell_text(r[3]) == "1 confidential pilot" and r[4] == [] for r in hidden)
    # an infrastructure it used is still counted, with the pilot as a number only
    maxiv = next(r for r in inds["infrastructures"].rows if cell_text(r[0]) == "MAX IV Laboratory")
    assert maxiv[1] == 3 and cell_text(maxiv[2]).endswith("1 confidential pilot")
    assert [cell_text(r[2]) for r in inds["infrastructures"].rows if r[0].href.endswith("/desy")] == [
        "1 confidential pilot"
    ]
    solution = next(r for r in inds["rcr104"].rows if cell_text(r[1]) == "Confidential pilot #3")
    assert (
        cell_text(solution[0]) == "A solution of confidential pilot #3"
        and cell_text(solution[3]) == "(confidential)"
    )
