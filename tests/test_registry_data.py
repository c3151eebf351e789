"""The shipped registry data: complete for the region, sourced, consistent with PaNET (no database)."""

from __future__ import annotations

from collections import Counter

import pytest

from halric.registry.loader import read_bundle

PARTNERS = {
    "SE": {"Lund University", "Malmö University", "MAX IV", "ESS", "Skåne University Hospital", "Region Skåne",
           "Medicon Village"},
    "DK": {"University of Copenhagen", "Technical University of Denmark", "Aarhus University",
           "University of Southern Denmark", "Rigshospitalet", "Medicon Valley Alliance"},
    "DE": {"Universität Hamburg", "EMBL", "DESY", "European XFEL", "UKE", "City of Hamburg", "Life Science Nord"},
    "NO": {"University of Oslo"},
}  # fmt: skip
FUNDING_ELIGIBLE = {"au", "desy", "dtu", "embl-hamburg", "ess", "euxfel", "uhh", "lu", "mau", "maxiv",
                    "rigshospitalet", "sus", "ku", "uio", "uke"}  # fmt: skip


@pytest.fixture(scope="module")
def bundle():
    return read_bundle()


def test_all_21_partners_with_country_and_kind(bundle):
    partners = [o for o in bundle.organisations if o.partner]
    assert len(partners) == 21
    per_country = Counter(o.country for o in partners)
    assert per_country == {c: len(v) for c, v in PARTNERS.items()}
    assert all(o.kind for o in partners)


def test_exactly_the_15_funding_eligible(bundle):
    assert {o.id for o in bundle.organisations if o.funding_eligible} == FUNDING_ELIGIBLE


def test_ror_ids_are_well_formed_where_given(bundle):
    with_ror = [o for o in bundle.organisations if o.ror]
    assert len(with_ror) >= 15
    assert len({o.ror for o in with_ror}) == len(with_ror), "two organisations share a ROR id"


def test_at_least_120_instruments_at_15_organisations_in_4_countries(bundle):
    insts = bundle.instruments
    assert len(insts) >= 120
    orgs = {infra.organisation for infra, _ in insts}
    assert len(orgs) >= 15
    assert {infra.country for infra, _ in insts} == {"SE", "DK", "DE", "NO"}


def test_every_instrument_has_a_source_url_and_page(bundle):
    for _, inst in bundle.instruments:
        assert str(inst.source).startswith(("http://", "https://")), inst.id
        assert str(inst.url).startswith(("http://", "https://")), inst.id


def test_every_panet_id_used_exists_in_panet(bundle):
    used = {t for _, inst in bundle.instruments for t in inst.techniques if t.startswith("PaNET")}
    assert used and used <= set(bundle.panet)
    ext_ids = {t.id for t in bundle.extension.techniques}
    for _, inst in bundle.instruments:
        for t in inst.techniques:
            assert t in bundle.panet or t in ext_ids


def test_ess_instruments_are_not_claimed_operational(bundle):
    ess = [inst for infra, inst in bundle.instruments if infra.organisation == "ess"]
    assert len(ess) >= 15
    assert all(i.status != "operational" for i in ess)


def test_large_facilities_and_small_infrastructure_kinds_present(bundle):
    kinds = Counter(infra.kind for infra in bundle.infrastructures)
    for k in ("synchrotron", "neutron-source", "xfel", "electron-microscopy", "nmr", "mass-spectrometry",
              "light-microscopy", "imaging-clinical", "imaging-preclinical", "compute-data"):  # fmt: skip
        assert kinds[k] >= 1, k
    all_techs = {t for _, inst in bundle.instruments for t in inst.techniques}
    for t in ("halric:cryo-em-spa", "halric:solution-nmr", "halric:proteomics", "halric:mri", "halric:pet",
              "halric:protein-production", "PaNET01188", "PaNET01164", "PaNET01189"):  # fmt: skip
        assert t in all_techs, t


def test_lay_knowledge_for_extension_and_common_techniques(bundle):
    for t in bundle.extension.techniques:
        assert t.id in bundle.knowledge, f"{t.id} lacks a lay explanation"
    used = Counter(t for _, inst in bundle.instruments for t in inst.techniques)
    for tid, _ in used.most_common(25):
        k = bundle.knowledge.get(tid)
        assert k is not None and k.summary and k.answers and k.cannot, tid


def test_panet_attribution_ships_with_the_vocabulary():
    from halric.registry.loader import DATA_DIR

    licence = (DATA_DIR / "panet" / "LICENSE").read_text()
    assert "Attribution 4.0" in licence or "CC BY 4.0" in licence or "creativecommons" in licence.lower()
    assert (DATA_DIR / "panet" / "SOURCE.md").exists()
