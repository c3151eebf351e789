"""Registry pages and API: filters, pagination, operational first, edits with access rules and audit."""

from __future__ import annotations

import pytest
from lxml import html
from tests.support.accounts import bearer, csrf_from, signin

from halric.registry.vocab import STATUS_ORDER


@pytest.fixture(autouse=True)
def _registry(loaded):
    return loaded


def test_instruments_filtered_by_country_and_technique_with_descendants(client):
    r = client.get("/api/registry/instruments", params={"technique": "PaNET01124", "limit": 500})
    assert r.status_code == 200
    items = r.json()["items"]
    # small angle scattering includes SAXS and SANS instruments
    techs = {t for i in items for t in i["techniques"]}
    assert {"PaNET01188", "PaNET01189"} <= techs
    dk = client.get("/api/registry/instruments", params={"country": "DK", "limit": 500}).json()
    assert dk["total"] > 0 and all(i["country"] == "DK" for i in dk["items"])


def test_operational_first_on_technique_api_and_page(client):
    data = client.get("/api/registry/techniques/PaNET01189").json()  # SANS: ESS (not yet) and others
    order = [STATUS_ORDER[i["status"]] for i in data["instruments"]]
    assert order == sorted(order)
    page = client.get("/registry/techniques/PaNET01189")
    doc = html.fromstring(page.text)
    names = [a.text_content() for a in doc.cssselect(".instrument h3 a")]
    assert names == [i["name"] for i in data["instruments"]]


def test_every_registry_answer_has_its_declared_shape(client):
    """Each registry operation declares its answer (registry/schemas.py, extra fields refused): one real
    organisation, infrastructure, instrument and technique of the shipped registry, each list and detail."""
    spec = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/registry/organisations/{org_id}", "/api/registry/infrastructures/{infra_id}",
                 "/api/registry/techniques/{technique_id}", "/api/registry/experts"):  # fmt: skip
        schema = spec[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in schema or "$ref" in schema.get("items", {}), path
    orgs = client.get("/api/registry/organisations", params={"limit": 500}).json()["items"]
    maxiv = next(o for o in orgs if o["short_name"] == "MAX IV")
    org = client.get(f"/api/registry/organisations/{maxiv['id']}").json()
    assert org["country"] == "SE" and org["partner"] and org["infrastructures"]
    infra = client.get(f"/api/registry/infrastructures/{org['infrastructures'][0]}").json()
    assert infra["organisation"] == maxiv["id"] and infra["instruments"]
    inst = client.get(f"/api/registry/instruments/{infra['instruments'][0]['id']}").json()
    assert inst == infra["instruments"][0]
    used = client.get("/api/registry/techniques", params={"used": True, "limit": 1000}).json()["items"]
    assert used and all(t["instrument_count"] > 0 for t in used)
    tech = client.get(f"/api/registry/techniques/{inst['techniques'][0]}").json()
    assert inst["id"] in {i["id"] for i in tech["instruments"]}
    assert isinstance(client.get("/api/registry/experts").json(), list)


def test_pagination(client):
    full = client.get("/api/registry/instruments", params={"limit": 500}).json()
    p1 = client.get("/api/registry/instruments", params={"limit": 10, "offset": 0}).json()
    p2 = client.get("/api/registry/instruments", params={"limit": 10, "offset": 10}).json()
    assert p1["total"] == p2["total"] == full["total"] >= 120
    assert [i["id"] for i in p1["items"] + p2["items"]] == [i["id"] for i in full["items"][:20]]
    assert client.get("/api/registry/instruments", params={"limit": 0}).status_code == 422


def test_bad_filters_are_400_with_field(client):
    r = client.get("/api/registry/instruments", params={"country": "XX"})
    assert r.status_code == 400 and r.json()["field"] == "country"
    r = client.get("/api/registry/instruments", params={"technique": "PaNET99999"})
    assert r.status_code == 404
    r = client.get("/api/registry/instruments/no-such-thing")
    assert r.status_code == 404 and "no-such-thing" in r.json()["detail"]


def test_pages_render(client):
    for path in ["/registry", "/registry/instruments/maxiv-biomax", "/registry/infrastructures",
                 "/registry/infrastructures/maxiv", "/registry/organisations", "/registry/organisations/lu",
                 "/registry/techniques", "/registry/techniques/halric:cryo-em-spa", "/registry/map",
                 "/registry/experts", "/registry?country=SE&sample_type=crystal"]:  # fmt: skip
        r = client.get(path)
        assert r.status_code == 200, path
    doc = html.fromstring(client.get("/registry/map").text)
    assert len(doc.cssselect("svg circle.site")) >= 8
    tree = html.fromstring(client.get("/registry/techniques").text)
    assert tree.cssselect("#technique-tree a[href='/registry/techniques/PaNET01188']")
    assert "CC BY 4.0" in client.get("/registry/techniques").text


def test_instrument_filter_page(client):
    doc = html.fromstring(client.get("/registry", params={"country": "NO"}).text)
    cards = doc.cssselect("#instruments .instrument")
    assert cards and all("Norway" in c.text_content() for c in cards)


def test_add_organisation_flags_it_outside_partnership(client, make_user, db):
    name = make_user()
    h = bearer(db, name)
    body = {
        "id": "acme-pharma-" + name[-4:],
        "name": "Acme Pharma " + name,
        "country": "DK",
        "kind": "company",
    }
    assert client.post("/api/registry/organisations", json=body).status_code == 401
    r = client.post("/api/registry/organisations", json=body, headers=h)
    assert r.status_code == 201 and r.json()["partner"] is False and r.json()["funding_eligible"] is False
    assert client.post("/api/registry/organisations", json=body, headers=h).status_code == 409
    bad = client.post(
        "/api/registry/organisations", json={**body, "id": "x y", "country": "Denmark"}, headers=h
    )
    assert bad.status_code == 422


def test_add_organisation_in_browser(client, make_user):
    signin(client, make_user())
    page = client.get("/registry/organisations/new")
    r = client.post("/registry/organisations/new", data={"id": "clinic-x", "name": "Clinic X", "country": "se",
                                                         "kind": "hospital", "csrf_token": csrf_from(page.text)},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/registry/organisations/clinic-x"
    assert "outside the partnership" in client.get("/registry/organisations/clinic-x").text


def test_instrument_edit_rules_and_audit(client, make_user, db):
    staff_elsewhere = make_user(["facility"], organisation="desy")
    staff_here = make_user(["facility"], organisation="maxiv")
    applicant = make_user()
    change = {"good_for": "Protein crystallography for industry and academia, fully remote if needed."}
    for who, code in [(applicant, 403), (staff_elsewhere, 403)]:
        assert (
            client.patch(
                "/api/registry/instruments/maxiv-biomax", json=change, headers=bearer(db, who)
            ).status_code
            == code
        )
    r = client.patch("/api/registry/instruments/maxiv-biomax", json=change, headers=bearer(db, staff_here))
    assert r.status_code == 200 and r.json()["good_for"] == change["good_for"]
    bad = client.patch(
        "/api/registry/instruments/maxiv-biomax", json={"status": "great"}, headers=bearer(db, staff_here)
    )
    assert bad.status_code == 422 and "status" in bad.json()["detail"]
    admin = make_user(["admin"])
    events = client.get(
        "/api/admin/audit", params={"entity_type": "instrument"}, headers=bearer(db, admin)
    ).json()
    ev = next(e for e in events["items"] if e["actor"] == staff_here)
    assert ev["entity_id"] == "maxiv-biomax" and "good_for" in ev["details"]


def test_instrument_edit_in_browser(client, make_user):
    signin(client, make_user(["coordinator"]))
    page = client.get("/registry/instruments/maxiv-cosaxs/edit")
    assert page.status_code == 200
    r = client.post("/registry/instruments/maxiv-cosaxs/edit", data={
        "status": "operational", "good_for": "short", "csrf_token": csrf_from(page.text)})  # fmt: skip
    assert r.status_code == 400 and "good_for" in r.text
    r = client.post("/registry/instruments/maxiv-cosaxs/edit", data={
        "status": "operational", "good_for": "Small-angle X-ray scattering of proteins and formulations in solution.",
        "access_routes": ["peer-reviewed", "proprietary"], "contact_email": "cosaxs@example.org",
        "csrf_token": csrf_from(page.text)}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert "cosaxs@example.org" in client.get("/registry/instruments/maxiv-cosaxs").text


def test_instrument_list_is_paged_and_sorted(client):
    first = html.fromstring(client.get("/registry").text)
    cards = first.cssselect("#instruments .instrument")
    total = client.get("/api/registry/instruments", params={"limit": 1}).json()["total"]
    assert len(cards) == 24 < total
    assert f"of {total}" in first.cssselect("#instrument-count")[0].text_content()
    next_link = first.cssselect(".pager a[rel=next]")[0].get("href")
    second = html.fromstring(client.get(next_link).text)
    ids_1 = [c.get("data-instrument") for c in cards]
    ids_2 = [c.get("data-instrument") for c in second.cssselect("#instruments .instrument")]
    assert ids_2 and not set(ids_1) & set(ids_2)
    by_name = html.fromstring(client.get("/registry", params={"sort": "name", "country": "DK"}).text)
    names = [a.text_content() for a in by_name.cssselect(".instrument h3 a")]
    assert names == sorted(names, key=str.lower) and len(names) > 1
    nav = by_name.cssselect(".pager a")
    assert all("country=DK" in a.get("href") and "sort=name" in a.get("href") for a in nav)
    backwards = html.fromstring(client.get("/registry", params={"sort": "name:desc"}).text)
    last = [a.text_content() for a in backwards.cssselect(".instrument h3 a")]
    assert last == sorted(last, key=str.lower, reverse=True)
    # a page past the end shows the last page, an unknown sort the default order
    assert client.get("/registry", params={"page": 999}).status_code == 200
    assert client.get("/registry", params={"sort": "bogus"}).status_code == 200


def test_facility_staff_reach_and_edit_their_instruments_from_the_dashboard(client, make_user):
    anonymous = html.fromstring(client.get("/registry", params={"organisation": "maxiv"}).text)
    assert not anonymous.xpath("//a[contains(@href, '/edit')]")
    signin(client, make_user(roles=["facility"], organisation="maxiv"))
    dash = html.fromstring(client.get("/dashboard").text)
    (card,) = dash.xpath("//a[@href='/registry?organisation=maxiv']")
    assert card.text_content() == "Edit your instruments"
    mine = html.fromstring(client.get(card.get("href")).text)
    edits = [a.get("href") for a in mine.xpath("//section[@id='instruments']//a[contains(@href, '/edit')]")]
    cards = mine.cssselect("#instruments .instrument")
    assert edits and len(edits) == len(cards)
    assert client.get(edits[0]).status_code == 200
    other = html.fromstring(client.get("/registry", params={"organisation": "ess"}).text)
    assert other.cssselect("#instruments .instrument") and not other.xpath("//a[contains(@href, '/edit')]")
    signin(client, make_user(roles=["applicant"]))
    dash = html.fromstring(client.get("/dashboard").text)
    assert not dash.xpath("//a[starts-with(@href, '/registry?organisation=')]")
