"""Published data: DataCite 4.x metadata validated against the shipped schema, and DOI registration against
a stand-in DataCite REST server (a real HTTP server on 127.0.0.1) that checks what it receives."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import pytest
from tests.support.accounts import bearer

from halric.catalog import datacite

USER, SECRET = "HALRIC.TEST", "datacite-secret"


class StandIn(BaseHTTPRequestHandler):
    """Answers like DataCite's POST /dois, after checking credentials, media type and the schema."""

    received: list[dict] = []

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.api+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()
        if auth != expected:
            return self._answer(401, {"errors": [{"status": "401", "title": "Bad credentials."}]})
        if self.path != "/dois" or self.headers.get("Content-Type") != "application/vnd.api+json":
            return self._answer(415, {"errors": [{"title": "Use application/vnd.api+json on /dois"}]})
        body = json.loads(raw)
        attrs = body["data"]["attributes"]
        problems = datacite.problems(attrs)
        if body["data"]["type"] != "dois" or problems:
            return self._answer(422, {"errors": [{"title": p} for p in problems] or [{"title": "type"}]})
        StandIn.received.append(body)
        return self._answer(
            201, {"data": {"id": attrs["doi"], "type": "dois", "attributes": {**attrs, "state": "findable"}}}
        )

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        return None


@pytest.fixture()
def stand_in(db, monkeypatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    cfg = db.settings  # the hub's settings (its app shares them), restored by monkeypatch after the test
    monkeypatch.setattr(cfg, "datacite_url", url)
    monkeypatch.setattr(cfg, "datacite_user", USER)
    monkeypatch.setattr(cfg, "datacite_password", SECRET)
    monkeypatch.setattr(cfg, "datacite_prefix", "10.80001")
    StandIn.received = []
    yield url
    server.shutdown()
    server.server_close()


def good_doc() -> dict:
    return {
        "doi": "10.80001/abc", "url": "https://hub.example/catalog/published/x",
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "raw"},
        "creators": [{"name": "Andersson, Alice", "nameType": "Personal"}],
        "titles": [{"title": "Lysozyme"}], "publisher": {"name": "HALRIC"}, "publicationYear": "2025",
        "schemaVersion": "http://datacite.org/schema/kernel-4",
    }  # fmt: skip


def test_schema_validation_finds_what_is_wrong():
    assert datacite.problems(good_doc()) == []
    bad = {**good_doc(), "publicationYear": 2025, "titles": [], "relatedIdentifiers": [
        {"relatedIdentifier": "x", "relatedIdentifierType": "Website", "relationType": "HasPart"}]}  # fmt: skip
    found = "\n".join(datacite.problems(bad))
    assert "publicationYear" in found and "titles" in found and "relatedIdentifiers.0" in found
    missing = {k: v for k, v in good_doc().items() if k != "creators"}
    assert any("creators" in p for p in datacite.problems(missing))


def _publishable(client, db, make_user) -> tuple[dict, dict, str]:
    owner = make_user(groups=["grp-pub"])
    steward = make_user(roles=["steward"])
    h = bearer(db, owner)
    ds = client.post(
        "/api/v4/datasets",
        json={"type": "raw", "ownerGroup": "grp-pub", "owner": owner, "contactEmail": "o@x.org",
              "sourceFolder": "/p", "creationTime": "2025-02-02T00:00:00Z", "datasetName": "To be cited"},
        headers=h,
    ).json()  # fmt: skip
    return h, bearer(db, steward), ds["pid"]


def test_register_a_doi(client, db, make_user, stand_in):
    h_owner, h_steward, pid = _publishable(client, db, make_user)
    body = {"title": "Lysozyme at 100 K", "abstract": "Rotation series.", "dataDescription": "HDF5 frames",
            "creator": ["Andersson, Alice"], "affiliation": "Lund University", "pidArray": [pid],
            "metadata": {"subjects": [{"subject": "crystallography"}]}}  # fmt: skip
    r = client.post("/api/v4/publisheddata", json=body, headers=h_owner)
    assert r.status_code == 201, r.text
    rec = r.json()
    doi = rec["doi"]
    assert doi.startswith("10.80001/") and rec["status"] == "pending_registration"
    q = quote(doi, safe="")
    assert client.get(f"/api/v3/PublishedData/{q}").status_code == 404  # not public yet
    assert client.get(f"/api/v3/PublishedData/{q}", headers=h_owner).status_code == 200
    assert client.post(f"/api/v3/PublishedData/{q}/register", headers=h_owner).status_code == 403
    assert StandIn.received == []

    r = client.post(f"/api/v3/PublishedData/{q}/register", headers=h_steward)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "registered" and r.json()["registeredTime"]
    (sent,) = StandIn.received
    attrs = sent["data"]["attributes"]
    assert attrs["doi"] == doi and attrs["event"] == "publish"
    assert attrs["titles"] == [{"title": "Lysozyme at 100 K"}]
    assert attrs["creators"][0]["familyName"] == "Andersson" and attrs["creators"][0]["affiliation"] == [
        {"name": "Lund University"}
    ]
    assert attrs["url"].endswith("/catalog/published/" + q)
    assert attrs["subjects"] == [{"subject": "crystallography"}]
    assert attrs["relatedIdentifiers"][0]["relationType"] == "HasPart"
    # the datasets are public now, the record is listed, and the landing page names the DOI
    assert client.get(f"/api/v4/datasets/{quote(pid, safe='')}").json()["isPublished"] is True
    listed = client.get(
        "/api/v3/PublishedData", params={"filter": json.dumps({"where": {"doi": doi}})}
    ).json()
    assert [x["doi"] for x in listed] == [doi]
    assert doi in client.get(f"/catalog/datasets/{quote(pid, safe='')}").text
    assert client.get(f"/catalog/published/{q}").status_code == 200
    # registering again changes nothing and sends nothing
    assert client.post(f"/api/v3/PublishedData/{q}/register", headers=h_steward).status_code == 200
    assert len(StandIn.received) == 1


def test_refusals_from_datacite_and_from_the_hub(client, db, make_user, stand_in, monkeypatch):
    h_owner, h_steward, pid = _publishable(client, db, make_user)
    doi = client.post(
        "/api/v4/publisheddata",
        json={"title": "T", "abstract": "A", "creator": ["Someone"], "pidArray": [pid]},
        headers=h_owner,
    ).json()["doi"]
    q = quote(doi, safe="")
    monkeypatch.setattr(db.settings, "datacite_password", "wrong")
    r = client.post(f"/api/v3/PublishedData/{q}/register", headers=h_steward)
    assert r.status_code == 422 and "credentials" in r.json()["detail"]
    monkeypatch.setattr(db.settings, "datacite_url", None)
    r = client.post(f"/api/v3/PublishedData/{q}/register", headers=h_steward)
    assert r.status_code == 422 and "HALRIC_DATACITE_URL" in r.json()["detail"]
    assert (
        client.get(f"/api/v4/datasets/{quote(pid, safe='')}", headers=h_owner).json()["isPublished"] is False
    )
    # only datasets one may change can be published
    other = bearer(db, make_user(groups=["grp-else"]))
    r = client.post(
        "/api/v4/publisheddata",
        json={"title": "T", "abstract": "A", "creator": ["X"], "pidArray": [pid]},
        headers=other,
    )
    assert r.status_code == 400 and r.json()["field"] == "pidArray"


def test_datacite_down_queues_the_registration_and_the_job_registers_it(
    client, db, settings, make_user, stand_in, monkeypatch
):
    import socket

    from halric.core.actor import system_actor
    from halric.jobs.models import Job
    from halric.jobs.tasks import HANDLERS, Context

    h_owner, h_steward, pid = _publishable(client, db, make_user)
    doi = client.post(
        "/api/v4/publisheddata",
        json={"title": "Queued", "abstract": "A", "creator": ["Someone"], "pidArray": [pid]},
        headers=h_owner,
    ).json()["doi"]
    q = quote(doi, safe="")
    with socket.socket() as sock:  # a port where nothing listens: DataCite is down
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setattr(db.settings, "datacite_url", down)
    r = client.post(f"/api/v3/PublishedData/{q}/register", headers=h_steward)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "registration_queued" and "retried in the background" in r.json()["detail"]
    assert client.get(f"/api/v3/PublishedData/{q}").status_code == 404  # still not public
    with db.session() as s:
        (job,) = [
            j for j in s.query(Job).filter(Job.kind == "catalog.register_dois") if j.args == {"doi": doi}
        ]
        assert job.state == "pending"  # no queue in this test app: it waits for a worker
        job_id = job.id
    # a worker runs the job while DataCite is still down: the attempt fails, the record stays queued
    run = HANDLERS["catalog.register_dois"]
    with pytest.raises(Exception, match="could not be reached"):
        run(Context(db, settings, system_actor("test"), job_id), {"doi": doi})
    # DataCite is back: the scheduled sweep (no arguments) registers every queued record
    monkeypatch.setattr(db.settings, "datacite_url", stand_in)
    assert run(Context(db, settings, system_actor("test"), job_id), {}) == {"registered": [doi]}
    assert client.get(f"/api/v3/PublishedData/{q}").json()["status"] == "registered"
    assert len(StandIn.received) == 1
