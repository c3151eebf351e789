"""`halric plan`, POST /api/plan and the /plan page, against the shipped registry (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from lxml import html

from halric.core.errors import InvalidInput
from halric.ingest.plan import PlanRequest, plan

from .helpers import run_cli

BIOMAX_FRAME = 4150 * 4371 * 4  # EIGER X 16M, 32 bit, from the registry


def test_plan_cli_json_contract(loaded, settings, tmp_path):
    env = {"HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(tmp_path)}
    r = run_cli(
        ["plan", "--instrument", "maxiv-biomax", "--frames", "3600", "--samples", "10", "--json"], env
    )
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    assert p["raw_bytes"] == BIOMAX_FRAME * 3600 * 10
    assert p["duration_s"] == pytest.approx(36000 / 133.0)
    inp = p["inputs"]
    assert (
        inp["frame_pixels"] == [4150, 4371] and inp["bytes_per_pixel"] == 4 and inp["frame_rate_hz"] == 133.0
    )
    assert inp["sources"] == {
        "frame_pixels": "registry",
        "bit_depth": "registry",
        "frame_rate_hz": "registry",
    }
    assert inp["data_kind"] == "mx"  # from the instrument's techniques (under PaNET crystallography)
    assert p["compression"]["compressed_bytes"] == pytest.approx(p["raw_bytes"] / p["compression"]["ratio"])
    assert p["timeline"][-1]["raw_bytes"] == p["raw_bytes"] and len(p["timeline"]) == 11
    assert any("Gbit/s link at 70% efficiency" in a for a in p["assumptions"])
    r = run_cli(["plan", "--instrument", "maxiv-biomax", "--frames", "100"], env)
    assert r.returncode == 0 and "Raw volume" in r.stdout and "Assumptions" in r.stdout


def test_plan_names_the_missing_figure_and_takes_it_as_an_option(loaded, settings, tmp_path):
    env = {"HALRIC_DATABASE_URL": settings.db_url, "HALRIC_DATA_DIR": str(tmp_path)}
    r = run_cli(["plan", "--instrument", "euxfel-mid", "--frames", "1000", "--json"], env)
    assert r.returncode == 2
    assert r.stderr.startswith("halric: error: bit_depth: instrument euxfel-mid lacks the detector bit depth")
    assert "--bit-depth" in r.stderr and r.stdout == ""
    r = run_cli(
        ["plan", "--instrument", "euxfel-mid", "--frames", "1000", "--bit-depth", "16", "--json"], env
    )
    p = json.loads(r.stdout)
    assert p["raw_bytes"] == 1024 * 1024 * 2 * 1000
    assert (
        p["inputs"]["sources"]["bit_depth"] == "given"
        and p["inputs"]["sources"]["frame_rate_hz"] == "registry"
    )
    r = run_cli(["plan", "--instrument", "no-such-thing", "--frames", "10"], env)
    assert r.returncode == 2 and "No instrument with id 'no-such-thing'" in r.stderr


def test_plan_without_an_instrument_and_for_neutron_events():
    p = plan(None, PlanRequest(frame_pixels=(1000, 1000), bit_depth=16, frame_rate_hz=100, frames=50, samples=2,
                               overhead_s=30, ratio=4.0))  # fmt: skip
    assert p["raw_bytes"] == 1000 * 1000 * 2 * 100 and p["duration_s"] == pytest.approx(0.5 * 2 + 30)
    assert p["compression"]["compressed_bytes"] == p["raw_bytes"] / 4
    e = plan(None, PlanRequest(event_rate_hz=1e7, minutes=10, samples=3))
    assert e["inputs"]["mode"] == "events" and e["raw_bytes"] == pytest.approx(1e7 * 600 * 8 * 3)
    assert e["compression"]["ratio"] == 1.0 and "not measured" in e["compression"]["source"]
    with pytest.raises(InvalidInput, match="frames: give either"):
        plan(None, PlanRequest(frame_pixels=(10, 10), bit_depth=16, frame_rate_hz=1))
    with pytest.raises(InvalidInput, match="minutes"):
        plan(None, PlanRequest(event_rate_hz=1e6, frames=10))
    with pytest.raises(InvalidInput, match="link_efficiency"):
        plan(None, PlanRequest(event_rate_hz=1e6, minutes=1, link_efficiency=1.5))
    t = plan(None, PlanRequest(frame_pixels=(10, 10), bit_depth=8, frame_rate_hz=1, frames=1, link_gbps=100))
    slow = plan(
        None, PlanRequest(frame_pixels=(10, 10), bit_depth=8, frame_rate_hz=1, frames=1, link_gbps=10)
    )
    assert slow["transfer"]["seconds"] == pytest.approx(10 * t["transfer"]["seconds"])


def test_plan_api(loaded, client):
    r = client.post("/api/plan", json={"instrument": "maxiv-biomax", "frames": 1000, "site": "lu-lunarc"})
    assert r.status_code == 200, r.text
    assert r.json()["raw_bytes"] == BIOMAX_FRAME * 1000 and r.json()["transfer"]["site"] == "lu-lunarc"
    r = client.post("/api/plan", json={"instrument": "euxfel-scs", "frames": 10})
    assert r.status_code == 400 and r.json()["field"] == "bit_depth"
    r = client.post("/api/plan", json={"frame_pixels": [100], "frames": 10})
    assert r.status_code == 400 and r.json()["field"] == "frame_pixels"


def test_plan_page_shows_figures_assumptions_and_a_chart(loaded, client):
    r = client.get("/plan?instrument=maxiv-biomax")
    assert r.status_code == 200
    doc = html.fromstring(r.text)
    assert (
        doc.cssselect("#registry-figures")
        and "4150 × 4371" in doc.cssselect("#registry-figures")[0].text_content()
    )
    assert not doc.cssselect("#plan-result")
    r = client.get("/plan?instrument=maxiv-biomax&frames=3600&samples=10&overhead_s=60&link_gbps=100")
    assert r.status_code == 200
    doc = html.fromstring(r.text)
    assert doc.cssselect("#raw-volume")[0].text_content().strip() == "2.61 TB"
    assert len(doc.cssselect("#plan-assumptions li")) >= 4
    polylines = doc.cssselect("#plan-chart svg polyline")
    assert len(polylines) == 2 and len(polylines[0].get("points").split()) == 11
    r = client.get("/plan?instrument=euxfel-scs&frames=10")
    assert r.status_code == 400
    doc = html.fromstring(r.text)
    assert "give the figures marked below" in doc.cssselect("#plan-error")[0].text_content()
    marked = {e.get("id"): e.text_content() for e in doc.cssselect(".field-error")}
    assert "bit depth" in marked["plan-bit-depth-error"] and "frame rate" in marked["plan-frame-rate-error"]
    assert doc.cssselect("#plan-bit-depth")[0].get("aria-invalid") == "true"
    assert "--" not in doc.cssselect("main")[0].text_content()  # no command-line flags for web users
    r = client.get("/plan?instrument=euxfel-scs&frames=10&bit_depth=16&frame_rate_hz=10&samples=x")
    assert r.status_code == 400 and "samples" in r.text


def test_plan_page_asks_for_the_figures_an_instrument_lacks(loaded, client):
    """Most instruments have no detector figures in the registry: the form asks for them by the field,
    keeps what was typed, and plans once they are given."""
    from halric.registry import service as reg

    with loaded.session() as s:
        bare = next(
            i for i in reg.search_instruments(s, reg.InstrumentFilter())
            if not (i.specs or {}).get("detector") and not (i.specs or {}).get("event_rate_hz")
        )  # fmt: skip
        name = bare.name
        bare_id = bare.id
    page = html.fromstring(client.get(f"/plan?instrument={bare_id}").text)
    assert name in page.cssselect("#detector-help")[0].text_content()
    r = client.get(f"/plan?instrument={bare_id}&frames=120&samples=3")
    assert r.status_code == 400
    doc = html.fromstring(r.text)
    assert name in doc.cssselect("#plan-error")[0].text_content()
    for field in ("plan-frame-pixels", "plan-bit-depth", "plan-frame-rate"):
        box = doc.cssselect(f"#{field}")[0]
        assert box.get("aria-invalid") == "true" and box.get("aria-describedby") == f"{field}-error"
        assert "enter it here" in doc.cssselect(f"#{field}-error")[0].text_content()
    assert doc.cssselect("#plan-frames")[0].get("value") == "120"  # the typed figures stay
    assert doc.cssselect("#plan-samples")[0].get("value") == "3"
    assert "--" not in doc.cssselect("main")[0].text_content()
    r = client.get(f"/plan?instrument={bare_id}&frames=120&samples=3&frame_pixels=2048x2048&bit_depth=16"
                   "&frame_rate_hz=50")  # fmt: skip
    assert r.status_code == 200
    assert html.fromstring(r.text).cssselect("#raw-volume")[0].text_content().strip()
