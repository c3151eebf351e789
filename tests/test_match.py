"""Matchmaking: ranking sanity, constraints, bad input, honesty on nonsense, feedback, report, batch shape.

Questions here are written for these tests (not the shared evaluation set); each asserts behaviour that
fails if the ranking, the constraints or the validation break.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tests.support.accounts import bearer, csrf_from, signin


@pytest.fixture(autouse=True)
def _registry(loaded):
    return loaded


@pytest.mark.timeout(1800)  # the registry's passage embeddings are encoded once per test session
def test_matcher_builds(client):
    assert client.post("/api/match", json={"question": "protein structure"}).status_code == 200


def ask(client, question: str, **kw):
    r = client.post("/api/match", json={"question": question, **kw})
    assert r.status_code == 200, r.text
    return r.json()


def labels(answer: dict, n: int = 3) -> list[str]:
    out = []
    for r in answer["results"][:n]:
        out += [r["technique"]["label"].lower(), *(a.lower() for a in r["technique"]["alt_labels"])]
    return out


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "Which crystal form of the active ingredient is in our tablets after a year on the shelf?",
            "powder diffraction",
        ),
        (
            "We need to know how our protein looks when it binds the inhibitor, at atomic detail.",
            "crystallography",
        ),
        (
            "Which proteins are different in the urine of kidney patients compared with controls?",
            "proteomics",
        ),
        ("Can we follow where a radiolabelled drug goes in the body of mice over time?", "pet"),
        ("We want to see the porosity inside a ceramic bone implant in 3D without breaking it", "tomography"),
        ("How big are the nanoparticles in our suspension and do they aggregate?", "small angle"),
    ],
)
def test_ranking_sanity(client, question, expected):
    answer = ask(client, question)
    assert any(expected in lab for lab in labels(answer)), (question, labels(answer))
    first = answer["results"][0]
    assert first["why"] and first["instruments"], first
    assert 0 < first["score"] <= 1.5
    scores = [r["score"] for r in answer["results"]]
    assert scores == sorted(scores, reverse=True)


def test_typos_are_tolerated(client):
    clean = ask(client, "macromolecular crystallography of an enzyme")
    typo = ask(client, "macromoleculr crystalography of an enzym")
    assert typo["results"][0]["technique"]["id"] == clean["results"][0]["technique"]["id"]


def test_named_acronym_is_recognised(client):
    answer = ask(client, "We want SAXS measurements on our samples")
    assert answer["results"][0]["technique"]["id"] == "PaNET01188"
    assert "SAXS" in answer["results"][0]["why"]


def test_country_constraint_filters_instruments(client):
    answer = ask(client, "small angle x-ray scattering of proteins in solution", country="DE", top=3)
    for r in answer["results"]:
        assert all(i["country"] == "DE" for i in r["instruments"])
    assert answer["results"][0]["instruments"], "PETRA III / EMBL offer SAXS in Germany"
    everywhere = ask(client, "small angle x-ray scattering of proteins in solution", top=3)
    assert {i["country"] for i in everywhere["results"][0]["instruments"]} > {"DE"}


def test_place_in_the_question_is_a_preference_not_a_filter(client):
    answer = ask(client, "cryo-EM structure of a membrane protein, ideally at a facility in Denmark")
    assert answer["preferred_country"] == "DK"
    top = answer["results"][0]
    assert top["instruments"][0]["country"] == "DK"
    assert len({i["country"] for r in answer["results"] for i in r["instruments"]}) >= 1


def test_operational_only_and_status_order(client):
    answer = ask(client, "neutron scattering to study how proteins move", top=5)
    for r in answer["results"]:
        statuses = [i["status"] for i in r["instruments"]]
        order = {"operational": 0, "commissioning": 1, "construction": 2, "planned": 3}
        assert [order.get(s, 9) for s in statuses] == sorted(order.get(s, 9) for s in statuses)
    only = ask(client, "neutron scattering to study how proteins move", top=5, operational_only=True)
    for r in only["results"]:
        assert all(i["status"] == "operational" for i in r["instruments"])


def test_nonsense_gets_an_honest_no_match(client):
    answer = ask(client, "Which font should we use for the logo on our invoices?")
    assert answer["no_good_match"] is True
    assert "ambassador" in answer["message"]
    good = ask(client, "Which crystal form of the drug is present in our tablets?")
    assert good["no_good_match"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "question"),
        ({"question": "x" * 2001}, "question"),
        ({"question": "protein structure", "country": "FR"}, "country"),
        ({"question": "protein structure", "top": 0}, "top"),
        ({"question": "protein structure", "access_route": "free-lunch"}, "access_route"),
    ],
)
def test_bad_input_is_400_with_field(client, body, field):
    r = client.post("/api/match", json=body)
    assert r.status_code == 400
    assert r.json()["field"] == field and r.json()["detail"].startswith(field)


def test_consider_as_well_and_cannot(client):
    answer = ask(client, "atomic structure of our protein crystal with a bound drug")
    assert answer["consider_as_well"], "complementary techniques are suggested"
    shown = {r["technique"]["id"] for r in answer["results"]}
    assert not shown & {c["technique"]["id"] for c in answer["consider_as_well"]}
    assert any(r["technique"]["cannot"] for r in answer["results"])


def test_feedback_and_gaps_report(client, make_user, db):
    answer = ask(client, "Which font should we use for the logo on our invoices?")
    good = ask(client, "Which crystal form of the drug is present in our tablets?")
    tid = good["results"][0]["technique"]["id"]
    r = client.post(f"/api/match/{good['query_id']}/feedback", json={"technique_id": tid, "helpful": False,
                                                                    "comment": "we needed Raman"})  # fmt: skip
    assert r.status_code == 201
    bad = client.post(
        f"/api/match/{good['query_id']}/feedback", json={"technique_id": "PaNET01164", "helpful": True}
    )
    assert bad.status_code in (400, 201)
    if "PaNET01164" not in {x["technique"]["id"] for x in good["results"]}:
        assert bad.status_code == 400
    assert client.get("/api/match/report").status_code == 401
    assert client.get("/api/match/report", headers=bearer(db, make_user(["applicant"]))).status_code == 403
    report = client.get("/api/match/report", headers=bearer(db, make_user(["ambassador"]))).json()
    assert any(u["question"] == answer["question"] for u in report["unanswered"])
    assert any(u["technique_id"] == tid and u["comment"] == "we needed Raman" for u in report["unhelpful"])


def test_results_page_and_feedback_form(client, make_user):
    page = client.get("/match", params={"question": "Where are the metals in a brain tissue section?"})
    assert page.status_code == 200 and 'id="results"' in page.text and "Why:" in page.text
    token = csrf_from(page.text)
    import re

    qid = re.search(r'action="/match/(\d+)/feedback"', page.text).group(1)
    tid = re.search(r'name="technique_id" value="([^"]+)"', page.text).group(1)
    r = client.post(f"/match/{qid}/feedback", data={"technique_id": tid, "helpful": "true", "csrf_token": token,
                                                   "back": "/match?question=x"}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and "thanks=" in r.headers["location"]
    empty = client.get("/match", params={"question": ""})
    assert empty.status_code == 400 and "question" in empty.text
    signin(client, make_user(["ambassador"]))
    assert client.get("/match/report").status_code == 200


def test_ambassadors_offered_for_the_region(client, make_user, db):
    amb = make_user(["ambassador"], organisation="ku")
    h = bearer(db, amb)
    # asked once before the profile exists: the ambassadors kept for Denmark must not outlive the change
    before = ask(client, "cryo-EM in Copenhagen for our membrane protein")
    assert not any(a["name"] == "Ambassador Denmark" for a in before["ambassadors"])
    signin(client, amb)
    page = client.get("/account/expertise")
    r = client.post("/account/expertise", data={"display_name": "Ambassador Denmark", "countries_served": ["DK"],
                                                "contact_email": "amb@example.org", "public": "true",
                                                "csrf_token": csrf_from(page.text)}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    client.cookies.clear()
    answer = ask(client, "cryo-EM in Copenhagen for our membrane protein")
    assert any(a["name"] == "Ambassador Denmark" for a in answer["ambassadors"])
    assert h


def test_experts_and_ambassadors_show_their_orcid(client, make_user, db):
    """An expert's ORCID iD (issue #19) comes from the account that owns the profile, or else from an
    account whose confirmed e-mail is the profile's contact address; it is shown wherever the contact is."""
    import uuid

    from sqlalchemy import select

    from halric.accounts.models import User
    from halric.accounts.service import actor_for
    from halric.registry import service as reg

    question = "How big are the nanoparticles in our suspension, measured in Lund?"
    technique = ask(client, question)["results"][0]["technique"]["id"]

    def person(roles, orcid=None, confirmed=True) -> User:
        name = make_user(roles)
        with db.session() as s:
            user = s.scalar(select(User).where(User.username == name))
            user.orcid = orcid  # as learnt at a sign-in through ORCID
            if not confirmed:
                user.email_verified_at = None
            return user

    own = person(["ambassador"], "0000-0002-1825-0097")
    by_contact = person(["ambassador"])
    colleague = person(["applicant"], "0000-0001-5109-3700")
    unconfirmed_contact = person(["applicant"], "0000-0002-1694-233X", confirmed=False)
    third = person(["ambassador"])
    expert = person(["facility"])
    tag = uuid.uuid4().hex[:6]
    with db.session() as s:
        for user, name, contact, extra in [
            (own, f"Amb Own {tag}", own.email, {"countries_served": ["SE"]}),
            (by_contact, f"Amb Colleague {tag}", colleague.email.upper(), {"countries_served": ["SE"]}),
            (third, f"Amb Unconfirmed {tag}", unconfirmed_contact.email, {"countries_served": ["SE"]}),
            (expert, f"Expert {tag}", colleague.email, {"techniques": [technique]}),
        ]:  # fmt: skip
            actor = actor_for(user)
            reg.save_expert_profile(
                s, actor, reg.ExpertInput(display_name=name, contact_email=contact, **extra)
            )
    answer = ask(client, question)
    orcids = {a["name"]: a["orcid"] for a in answer["ambassadors"] if tag in a["name"]}
    assert orcids == {f"Amb Own {tag}": "0000-0002-1825-0097", f"Amb Colleague {tag}": "0000-0001-5109-3700",
                      f"Amb Unconfirmed {tag}": None}  # fmt: skip
    page = client.get("/match", params={"question": question}).text
    assert 'href="https://orcid.org/0000-0002-1825-0097"' in page and "0000-0002-1694-233X" not in page
    experts = {e["display_name"]: e["orcid"] for e in client.get("/api/registry/experts").json()}
    assert experts[f"Expert {tag}"] == "0000-0001-5109-3700"
    for path in ["/registry/experts", f"/registry/techniques/{technique}"]:
        text = client.get(path).text
        assert 'href="https://orcid.org/0000-0001-5109-3700"' in text, path


def uuid_tag() -> str:
    import uuid

    return uuid.uuid4().hex[:6]


def test_batch_cli_output_shape(settings, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        json.dumps({"id": "a", "question": "protein structure from crystals"}) + "\n"
        + json.dumps({"id": "b", "question": "MRI of the human brain", "country": "DK"}) + "\n"
    )  # fmt: skip
    env = {**os.environ, "HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(settings.data_dir),
           "HALRIC_CACHE_DIR": str(settings.cache_path)}  # fmt: skip
    r = subprocess.run([sys.executable, "-m", "halric.cli.main", "match", "--batch", str(questions)],
                       capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["id"] for x in lines] == ["a", "b"]
    for line in lines:
        assert set(line) == {"id", "elapsed_ms", "results"}
        assert isinstance(line["elapsed_ms"], float)
        res = line["results"][0]
        assert set(res) == {"technique", "instruments", "score", "why"}
        assert set(res["technique"]) == {"label", "panet_iri", "alt_labels"}
        assert set(res["instruments"][0]) == {"name", "facility", "country"}
    assert all(i["country"] == "DK" for i in lines[1]["results"][0]["instruments"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "question": ""}\n')
    r = subprocess.run([sys.executable, "-m", "halric.cli.main", "match", "--batch", str(bad)],
                       capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "question" in r.stderr
    r = subprocess.run([sys.executable, "-m", "halric.cli.main", "match", "protein", "--country", "XX"],
                       capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert r.returncode == 2 and "country" in r.stderr
