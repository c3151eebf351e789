"""ORCID iDs in DataCite creators (issue #19): a creator the hub knows as a person — the owner of a
published dataset with ``orcidOfOwner``, a hub account with an ORCID iD whose confirmed e-mail is a
dataset's owner or contact address, or the account that made the record — gets ORCID ``nameIdentifiers``;
names alone never do, nor a wrong check character, nor a name two iDs claim. The document stays valid
against the DataCite 4.5 schema. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from sqlalchemy import select
from tests.support.accounts import bearer

from halric.catalog import datacite

MARIA = "0000-0002-1825-0097"  # a hub account, owner e-mail of a dataset
ALICE = "0000-0001-5109-3700"  # orcidOfOwner of a dataset
CONTACT = "0000-0002-1694-233X"  # a hub account, contact e-mail of a dataset
ERIK = "0000-0002-1111-2222"  # the account that makes the record
BERTIL = "0000-0003-3333-4448"  # a hub account with no tie to the datasets
DANA_1, DANA_2 = "0000-0001-5555-6661", "0000-0002-7777-8887"


def _person(
    db, make_user, *, full_name: str, orcid: str | None, groups=(), confirmed: bool = True
) -> tuple[str, str]:
    from halric.accounts.models import User

    name = make_user(groups=list(groups))
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == name))
        user.full_name, user.orcid = full_name, orcid  # as learnt at a sign-in through ORCID
        if not confirmed:
            user.email_verified_at = None
        return name, user.email


def _dataset(client, h, group: str, **fields) -> str:
    body = {"type": "raw", "ownerGroup": group, "contactEmail": "lab@example.org", "sourceFolder": "/p",
            "creationTime": "2025-02-02T00:00:00Z", "datasetName": "ds", **fields}  # fmt: skip
    r = client.post("/api/v4/datasets", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()["pid"]


def test_known_creators_get_their_orcid(client, db, make_user):
    group = "grp-" + uuid.uuid4().hex[:6]
    erik, _ = _person(db, make_user, full_name="Erik Ek", orcid=ERIK, groups=[group])
    h = bearer(db, erik)
    _, maria_mail = _person(db, make_user, full_name="Maria Svensson", orcid=MARIA)
    _, contact_mail = _person(db, make_user, full_name="Chris Contact", orcid=CONTACT)
    _person(db, make_user, full_name="Bertil Berg", orcid=BERTIL)
    # an unconfirmed address says nothing about who the contact is
    _, unconfirmed = _person(db, make_user, full_name="Ulla Unconfirmed", orcid=MARIA, confirmed=False)
    pids = [
        _dataset(client, h, group, owner="Svensson, Maria", ownerEmail=maria_mail.upper()),
        _dataset(client, h, group, owner="Alice Andersson", orcidOfOwner=f"https://orcid.org/{ALICE}"),
        _dataset(client, h, group, owner="Someone", contactEmail=contact_mail),
        _dataset(
            client, h, group, owner="Carl Check", orcidOfOwner="0000-0002-1825-0098"
        ),  # bad check character
        _dataset(client, h, group, owner="Dana Dual", orcidOfOwner=DANA_1),
        _dataset(client, h, group, owner="Dana Dual", orcidOfOwner=DANA_2),  # two iDs for one name: neither
        _dataset(client, h, group, owner="Ulla Unconfirmed", contactEmail=unconfirmed),
    ]
    creators = ["Svensson, Maria", "Andersson, Alice", "Chris Contact", "Erik Ek", "Bertil Berg", "Carl Check",
                "Dana Dual", "Ulla Unconfirmed"]  # fmt: skip
    r = client.post("/api/v4/publisheddata", headers=h, json={
        "title": "Lysozyme", "abstract": "Rotation series.", "creator": creators, "pidArray": pids})  # fmt: skip
    assert r.status_code == 201, r.text
    doi = r.json()["doi"]

    doc = client.get(f"/api/catalog/published/{quote(doi, safe='')}/datacite", headers=h).json()
    ids = {c["name"]: c.get("nameIdentifiers") for c in doc["creators"]}
    assert list(ids) == creators
    for name, orcid in [("Svensson, Maria", MARIA), ("Andersson, Alice", ALICE), ("Chris Contact", CONTACT),
                        ("Erik Ek", ERIK)]:  # fmt: skip
        assert ids[name] == [{"nameIdentifier": f"https://orcid.org/{orcid}", "nameIdentifierScheme": "ORCID",
                              "schemeUri": "https://orcid.org"}], name  # fmt: skip
    for name in ["Bertil Berg", "Carl Check", "Dana Dual", "Ulla Unconfirmed"]:
        assert ids[name] is None, name
    assert datacite.problems(doc) == []
    # the same document through the SciCat API, and the landing page links the iDs
    v4 = client.get(f"/api/v4/publisheddata/{quote(doi, safe='')}/metadata", headers=h).json()
    assert v4["creators"] == doc["creators"]
    page = client.get(f"/catalog/published/{quote(doi, safe='')}", headers=h)
    assert (
        f'href="https://orcid.org/{MARIA}"' in page.text
        and f'href="https://orcid.org/{BERTIL}"' not in page.text
    )


def test_creators_given_with_the_records_metadata_win(client, db, make_user):
    group = "grp-" + uuid.uuid4().hex[:6]
    erik, _ = _person(db, make_user, full_name="Erik Ek", orcid=ERIK, groups=[group])
    h = bearer(db, erik)
    pid = _dataset(client, h, group, owner="Erik Ek")
    own = [{"name": "Erik Ek", "nameType": "Personal", "nameIdentifiers": [
        {"nameIdentifier": "https://isni.org/isni/000000012146438X", "nameIdentifierScheme": "ISNI"}]}]  # fmt: skip
    r = client.post("/api/v4/publisheddata", headers=h, json={
        "title": "T", "abstract": "A", "creator": ["Erik Ek"], "pidArray": [pid],
        "metadata": {"creators": own}})  # fmt: skip
    doc = client.get(f"/api/catalog/published/{quote(r.json()['doi'], safe='')}/datacite", headers=h).json()
    assert doc["creators"] == own
    # without them, the record's maker is known by name
    r = client.post("/api/v4/publisheddata", headers=h, json={
        "title": "T", "abstract": "A", "creator": ["Ek, Erik"], "pidArray": [pid]})  # fmt: skip
    doc = client.get(f"/api/catalog/published/{quote(r.json()['doi'], safe='')}/datacite", headers=h).json()
    assert doc["creators"][0]["nameIdentifiers"][0]["nameIdentifier"] == f"https://orcid.org/{ERIK}"
    assert doc["creators"][0]["familyName"] == "Ek" and datacite.problems(doc) == []


def test_orcid_identifiers_are_valid_datacite():
    from halric.accounts.orcid import normalise

    assert normalise(f"https://orcid.org/{CONTACT.lower()}") == CONTACT
    assert normalise("0000-0002-1825-0098") is None and normalise("orcid: 0000-0002-1825-0097") is None
    doc = {
        "doi": "10.80001/abc", "url": "https://hub.example/catalog/published/x",
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "raw"},
        "creators": [{"name": "Andersson, Alice", "nameType": "Personal"}, {"name": "Bo", "nameType": "Personal"}],
        "titles": [{"title": "Lysozyme"}], "publisher": {"name": "HALRIC"}, "publicationYear": "2025",
        "schemaVersion": "http://datacite.org/schema/kernel-4",
    }  # fmt: skip
    datacite.add_orcids(doc, {"Andersson, Alice": ALICE})
    assert doc["creators"][0]["nameIdentifiers"] == datacite.orcid_identifiers(ALICE)
    assert "nameIdentifiers" not in doc["creators"][1]
    assert datacite.problems(doc) == []
    # the schema checks what the hub adds: a broken identifier is found
    doc["creators"][0]["nameIdentifiers"][0]["schemeUri"] = "not a uri"
    doc["creators"][0]["nameIdentifiers"][0].pop("nameIdentifierScheme")
    assert any("nameIdentifiers" in p for p in datacite.problems(doc))
